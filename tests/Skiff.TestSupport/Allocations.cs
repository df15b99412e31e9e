namespace Skiff.TestSupport;

/// <summary>
/// Measures steady-state allocation of an operation. The runtime may allocate on the calling thread while
/// tiered compilation replaces code in the middle of a measurement, so: warm up well past tiering, then
/// measure several rounds and report the least. A real per-call allocation shows in every round.
/// </summary>
public static class Allocations
{
    /// <summary>Bytes allocated on this thread by <paramref name="perRound"/> calls of <paramref name="once"/>, least of <paramref name="rounds"/> rounds, after <paramref name="warmup"/> calls.</summary>
    public static long LeastPerRound(Action once, int warmup = 2000, int rounds = 5, int perRound = 1000)
    {
        for (int i = 0; i < warmup; i++)
        {
            once();
        }
        long least = long.MaxValue;
        for (int round = 0; round < rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < perRound; i++)
            {
                once();
            }
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return least;
    }
}
