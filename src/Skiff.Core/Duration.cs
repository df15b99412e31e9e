namespace Skiff;

/// <summary>A span of time in microseconds. Negative values are allowed (the difference of two instants).</summary>
/// <param name="TotalMicros">The length in microseconds; negative for a span backwards in time.</param>
public readonly record struct Duration(long TotalMicros) : IComparable<Duration>
{
    /// <summary>No time at all.</summary>
    public static readonly Duration Zero = new(0);

    /// <summary>Longer than any real duration; adding it to an instant gives <see cref="Instant.Never"/>.</summary>
    public static readonly Duration Infinite = new(long.MaxValue);

    /// <summary>A duration of <paramref name="micros"/> microseconds.</summary>
    public static Duration FromMicros(long micros) => new(micros);

    /// <summary>A duration of <paramref name="millis"/> milliseconds. Overflows silently beyond about 292,000 years.</summary>
    public static Duration FromMillis(long millis) => new(millis * 1000);

    /// <summary>A duration of <paramref name="seconds"/> seconds. Overflows silently beyond about 292,000 years.</summary>
    public static Duration FromSeconds(long seconds) => new(seconds * 1_000_000);

    /// <summary>The length in whole milliseconds, truncated toward zero (1999 µs is 1 ms).</summary>
    public long TotalMillis => TotalMicros / 1000;

    /// <summary>The length in seconds, with fractions (1500 µs is 0.0015).</summary>
    public double TotalSeconds => TotalMicros / 1e6;

    /// <summary>Orders durations by length, shortest (most negative) first.</summary>
    public int CompareTo(Duration other) => TotalMicros.CompareTo(other.TotalMicros);

    /// <summary>The sum of two durations. <see cref="Infinite"/> is not saturated here: add it to an <see cref="Instant"/> instead.</summary>
    public static Duration operator +(Duration a, Duration b) => new(a.TotalMicros + b.TotalMicros);

    /// <summary>The difference of two durations; negative when <paramref name="b"/> is longer.</summary>
    public static Duration operator -(Duration a, Duration b) => new(a.TotalMicros - b.TotalMicros);

    /// <summary><paramref name="a"/> scaled by a whole <paramref name="factor"/> (a backoff doubling, say).</summary>
    public static Duration operator *(Duration a, long factor) => new(a.TotalMicros * factor);

    /// <summary><paramref name="a"/> divided by <paramref name="divisor"/>, truncated to whole microseconds.</summary>
    /// <exception cref="DivideByZeroException"><paramref name="divisor"/> is 0.</exception>
    public static Duration operator /(Duration a, long divisor) => new(a.TotalMicros / divisor);

    /// <summary>True when <paramref name="a"/> is shorter than <paramref name="b"/>.</summary>
    public static bool operator <(Duration a, Duration b) => a.TotalMicros < b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is longer than <paramref name="b"/>.</summary>
    public static bool operator >(Duration a, Duration b) => a.TotalMicros > b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is no longer than <paramref name="b"/>.</summary>
    public static bool operator <=(Duration a, Duration b) => a.TotalMicros <= b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is no shorter than <paramref name="b"/>.</summary>
    public static bool operator >=(Duration a, Duration b) => a.TotalMicros >= b.TotalMicros;

    /// <summary>The shorter of the two (<paramref name="a"/> when equal).</summary>
    public static Duration Min(Duration a, Duration b) => a.TotalMicros <= b.TotalMicros ? a : b;

    /// <summary>The longer of the two (<paramref name="a"/> when equal).</summary>
    public static Duration Max(Duration a, Duration b) => a.TotalMicros >= b.TotalMicros ? a : b;

    /// <summary>"250us" below a millisecond, otherwise milliseconds with up to three decimals ("1.5ms", "2000ms"). Allocates.</summary>
    public override string ToString() => TotalMicros >= 1000 ? $"{TotalMicros / 1000.0:0.###}ms" : $"{TotalMicros}us";
}
