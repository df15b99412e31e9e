namespace Skiff;

/// <summary>
/// A point on a monotonic clock, in microseconds since an arbitrary epoch chosen by whoever owns the clock.
/// Skiff's sans-I/O layers never read a clock: the caller passes <c>now</c> in, which is what makes
/// the stack testable with a manual clock.
/// </summary>
public readonly record struct Instant(long TotalMicros) : IComparable<Instant>
{
    /// <summary>The epoch of the clock (0 µs).</summary>
    public static readonly Instant Zero = new(0);

    /// <summary>Later than every real instant; used as "never" by <c>PollAt</c>.</summary>
    public static readonly Instant Never = new(long.MaxValue);

    public static Instant FromMillis(long millis) => new(millis * 1000);

    public long TotalMillis => TotalMicros / 1000;

    public int CompareTo(Instant other) => TotalMicros.CompareTo(other.TotalMicros);

    public static Instant operator +(Instant a, Duration d) =>
        a.TotalMicros == long.MaxValue || d.TotalMicros == long.MaxValue ? Never : new(a.TotalMicros + d.TotalMicros);

    public static Instant operator -(Instant a, Duration d) => new(a.TotalMicros - d.TotalMicros);

    public static Duration operator -(Instant a, Instant b) => new(a.TotalMicros - b.TotalMicros);

    public static bool operator <(Instant a, Instant b) => a.TotalMicros < b.TotalMicros;

    public static bool operator >(Instant a, Instant b) => a.TotalMicros > b.TotalMicros;

    public static bool operator <=(Instant a, Instant b) => a.TotalMicros <= b.TotalMicros;

    public static bool operator >=(Instant a, Instant b) => a.TotalMicros >= b.TotalMicros;

    public static Instant Min(Instant a, Instant b) => a.TotalMicros <= b.TotalMicros ? a : b;

    public static Instant Max(Instant a, Instant b) => a.TotalMicros >= b.TotalMicros ? a : b;

    public override string ToString() => this == Never ? "never" : $"{TotalMicros / 1_000_000}.{TotalMicros % 1_000_000:D6}s";
}
