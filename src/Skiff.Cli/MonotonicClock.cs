using System.Diagnostics;

namespace Skiff.Cli;

/// <summary>The real monotonic clock (Stopwatch), in microseconds since the clock was created.</summary>
public sealed class MonotonicClock : IClock
{
    private readonly long _start = Stopwatch.GetTimestamp();

    public Instant Now => new((Stopwatch.GetTimestamp() - _start) * 1_000_000 / Stopwatch.Frequency);
}
