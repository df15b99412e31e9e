using System.Diagnostics;

namespace Skiff.Benchmarks.Stack;

/// <summary>Warm a loop up for half a second, then run it for the measured time; report elapsed seconds and GC collections.</summary>
internal static class MeasuredLoop
{
    /// <param name="step">One iteration of the work.</param>
    /// <param name="seconds">How long to measure.</param>
    /// <param name="atStart">Called once after the warm-up, right before measuring (snapshot counters there).</param>
    public static (double Seconds, int Collections) Run(Action step, double seconds, Action atStart)
    {
        long warm = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 2;
        while (Stopwatch.GetTimestamp() < warm)
        {
            step();
        }
        atStart();
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        long t0 = Stopwatch.GetTimestamp();
        long end = t0 + (long)(seconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            step();
        }
        double elapsed = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
        return (elapsed, GC.CollectionCount(0) - gen0 + GC.CollectionCount(1) - gen1 + GC.CollectionCount(2) - gen2);
    }
}
