namespace Skiff.Hooks;

/// <summary>
/// How many frames one hook gave each verdict. Written by the engine's loop thread; read from any thread (each count is
/// a single aligned 64-bit value, read with <see cref="Volatile"/>).
/// </summary>
public sealed class HookCounters
{
    private readonly long[] _verdicts = new long[VerdictCount];

    /// <summary>How many verdicts there are (<see cref="HookVerdict"/>'s values are 0 to this minus one).</summary>
    public const int VerdictCount = (int)HookVerdict.Abort + 1;

    /// <summary>Frames given <paramref name="verdict"/> so far.</summary>
    public long this[HookVerdict verdict] => Volatile.Read(ref _verdicts[(int)verdict]);

    /// <summary>Frames the hook has seen.</summary>
    public long Total
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < VerdictCount; i++)
            {
                sum += Volatile.Read(ref _verdicts[i]);
            }
            return sum;
        }
    }

    internal void Add(HookVerdict verdict, long count) => _verdicts[(int)verdict] += count;
}
