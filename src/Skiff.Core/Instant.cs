namespace Skiff;

/// <summary>
/// A point on a monotonic clock, in microseconds since an arbitrary epoch chosen by whoever owns the clock.
/// Skiff's sans-I/O layers never read a clock: the caller passes <c>now</c> in, which is what makes
/// the stack testable with a manual clock.
/// </summary>
/// <param name="TotalMicros">Microseconds since the clock's epoch; <see cref="long.MaxValue"/> is <see cref="Never"/>.</param>
public readonly record struct Instant(long TotalMicros) : IComparable<Instant>
{
    /// <summary>The epoch of the clock (0 µs).</summary>
    public static readonly Instant Zero = new(0);

    /// <summary>Later than every real instant; used as "never" by <c>PollAt</c>.</summary>
    public static readonly Instant Never = new(long.MaxValue);

    /// <summary>The instant <paramref name="millis"/> milliseconds after the epoch.</summary>
    public static Instant FromMillis(long millis) => new(millis * 1000);

    /// <summary>Milliseconds since the epoch, truncated toward zero.</summary>
    public long TotalMillis => TotalMicros / 1000;

    /// <summary>Orders instants in time, earliest first; <see cref="Never"/> is last.</summary>
    public int CompareTo(Instant other) => TotalMicros.CompareTo(other.TotalMicros);

    /// <summary>The instant <paramref name="d"/> after <paramref name="a"/>; <see cref="Never"/> if either is <see cref="Never"/> or <see cref="Duration.Infinite"/>, so a timer at "never" stays there.</summary>
    public static Instant operator +(Instant a, Duration d) =>
        a.TotalMicros == long.MaxValue || d.TotalMicros == long.MaxValue ? Never : new(a.TotalMicros + d.TotalMicros);

    /// <summary>The instant <paramref name="d"/> before <paramref name="a"/>. Does not saturate: do not subtract from <see cref="Never"/>.</summary>
    public static Instant operator -(Instant a, Duration d) => new(a.TotalMicros - d.TotalMicros);

    /// <summary>The time from <paramref name="b"/> to <paramref name="a"/>; negative when <paramref name="a"/> is earlier.</summary>
    public static Duration operator -(Instant a, Instant b) => new(a.TotalMicros - b.TotalMicros);

    /// <summary>True when <paramref name="a"/> is earlier than <paramref name="b"/>.</summary>
    public static bool operator <(Instant a, Instant b) => a.TotalMicros < b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is later than <paramref name="b"/>.</summary>
    public static bool operator >(Instant a, Instant b) => a.TotalMicros > b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is not later than <paramref name="b"/>.</summary>
    public static bool operator <=(Instant a, Instant b) => a.TotalMicros <= b.TotalMicros;

    /// <summary>True when <paramref name="a"/> is not earlier than <paramref name="b"/>.</summary>
    public static bool operator >=(Instant a, Instant b) => a.TotalMicros >= b.TotalMicros;

    /// <summary>The earlier of the two (<paramref name="a"/> when equal): how a poller merges deadlines.</summary>
    public static Instant Min(Instant a, Instant b) => a.TotalMicros <= b.TotalMicros ? a : b;

    /// <summary>The later of the two (<paramref name="a"/> when equal).</summary>
    public static Instant Max(Instant a, Instant b) => a.TotalMicros >= b.TotalMicros ? a : b;

    /// <summary>Seconds since the epoch with microsecond digits ("12.000250s"), or "never". Allocates.</summary>
    public override string ToString() => this == Never ? "never" : $"{TotalMicros / 1_000_000}.{TotalMicros % 1_000_000:D6}s";
}
