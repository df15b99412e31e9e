using System.Diagnostics;

namespace Skiff.Cli;

/// <summary>The real monotonic clock (Stopwatch), in microseconds since the clock was created.</summary>
public sealed class MonotonicClock : IClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public Instant Now => At(Stopwatch.GetTimestamp());

    /// <summary>The instant of a <see cref="Stopwatch.GetTimestamp"/> reading, for a loop that reads the clock once per round.</summary>
    public Instant At(long timestamp) => new((timestamp - _start) * 1_000_000 / Stopwatch.Frequency);
}
