namespace Skiff;

/// <summary>A span of time in microseconds. Negative values are allowed (the difference of two instants).</summary>
public readonly record struct Duration(long TotalMicros) : IComparable<Duration>
{
    public static readonly Duration Zero = new(0);

    /// <summary>Longer than any real duration; adding it to an instant gives <see cref="Instant.Never"/>.</summary>
    public static readonly Duration Infinite = new(long.MaxValue);

    public static Duration FromMicros(long micros) => new(micros);

    public static Duration FromMillis(long millis) => new(millis * 1000);

    public static Duration FromSeconds(long seconds) => new(seconds * 1_000_000);

    public long TotalMillis => TotalMicros / 1000;

    public double TotalSeconds => TotalMicros / 1e6;

    public int CompareTo(Duration other) => TotalMicros.CompareTo(other.TotalMicros);

    public static Duration operator +(Duration a, Duration b) => new(a.TotalMicros + b.TotalMicros);

    public static Duration operator -(Duration a, Duration b) => new(a.TotalMicros - b.TotalMicros);

    public static Duration operator *(Duration a, long factor) => new(a.TotalMicros * factor);

    public static Duration operator /(Duration a, long divisor) => new(a.TotalMicros / divisor);

    public static bool operator <(Duration a, Duration b) => a.TotalMicros < b.TotalMicros;

    public static bool operator >(Duration a, Duration b) => a.TotalMicros > b.TotalMicros;

    public static bool operator <=(Duration a, Duration b) => a.TotalMicros <= b.TotalMicros;

    public static bool operator >=(Duration a, Duration b) => a.TotalMicros >= b.TotalMicros;

    public static Duration Min(Duration a, Duration b) => a.TotalMicros <= b.TotalMicros ? a : b;

    public static Duration Max(Duration a, Duration b) => a.TotalMicros >= b.TotalMicros ? a : b;

    public override string ToString() => TotalMicros >= 1000 ? $"{TotalMicros / 1000.0:0.###}ms" : $"{TotalMicros}us";
}
