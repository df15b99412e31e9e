using System.Runtime.InteropServices;

namespace Skiff.Engine.Interop;

/// <summary>CPU affinity (sched_setaffinity(2), sched_getaffinity(2)) and timer slack (prctl(2)) of the calling thread; Linux only.</summary>
internal static unsafe partial class Sched
{
    /// <summary>Bits in the mask we pass: 1024 CPUs, glibc's CPU_SETSIZE.</summary>
    public const int MaskWords = 16;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    private const int PR_SET_TIMERSLACK = 29;
    private const int PR_GET_TIMERSLACK = 30;

    /// <summary>
    /// The loop thread's timer slack: how much later than asked the kernel may end its sleeps to batch wake-ups (Linux's
    /// default is 50 us, more than a 100 Mbit/s shaper's gap between full frames). 1 us.
    /// </summary>
    public const long LoopTimerSlackNanos = 1000;

    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static partial int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    /// <summary>Sets the calling thread's timer slack (prctl PR_SET_TIMERSLACK) and returns the previous one in nanoseconds, or -1 if the call failed.</summary>
    public static long SetTimerSlack(long nanos)
    {
        int previous = Prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
        if (previous < 0 || Prctl(PR_SET_TIMERSLACK, (nuint)nanos, 0, 0, 0) != 0)
        {
            return -1;
        }
        return previous;
    }

    /// <summary>Pins the calling thread (pid 0) to <paramref name="cpu"/>. Returns 0 or the errno.</summary>
    public static int PinCurrentThread(int cpu)
    {
        if (cpu < 0 || cpu >= MaskWords * 64)
        {
            return 22; // EINVAL
        }
        ulong* mask = stackalloc ulong[MaskWords];
        new Span<ulong>(mask, MaskWords).Clear();
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SchedSetAffinity(0, (nuint)(MaskWords * sizeof(ulong)), mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The CPUs the calling thread may run on, or null if the call failed.</summary>
    public static int[]? GetCurrentThreadAffinity()
    {
        ulong* mask = stackalloc ulong[MaskWords];
        if (SchedGetAffinity(0, (nuint)(MaskWords * sizeof(ulong)), mask) != 0)
        {
            return null;
        }
        List<int> cpus = [];
        for (int i = 0; i < MaskWords * 64; i++)
        {
            if ((mask[i / 64] & (1UL << (i % 64))) != 0)
            {
                cpus.Add(i);
            }
        }
        return [.. cpus];
    }
}
