using System.Runtime.InteropServices;

namespace Skiff.Engine.Interop;

/// <summary>CPU affinity of the calling thread (sched_setaffinity(2), sched_getaffinity(2)); Linux only.</summary>
internal static unsafe partial class Sched
{
    /// <summary>Bits in the mask we pass: 1024 CPUs, glibc's CPU_SETSIZE.</summary>
    public const int MaskWords = 16;

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static partial int SchedSetAffinity(int pid, nuint cpuSetSize, ulong* mask);

    [LibraryImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static partial int SchedGetAffinity(int pid, nuint cpuSetSize, ulong* mask);

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
