using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>What the traffic generators' <c>Run</c> methods share about the thread they run on.</summary>
internal static class GeneratorThread
{
    /// <summary>Pins the calling thread to <paramref name="cpu"/> (negative: leaves it unpinned); throws <see cref="DriverException"/> saying what to do when the kernel refuses.</summary>
    public static void Pin(int cpu)
    {
        if (cpu < 0)
        {
            return;
        }
        int errno = Sched.PinCurrentThread(cpu);
        if (errno != 0)
        {
            throw new DriverException($"Pinning the generator thread to CPU {cpu} (sched_setaffinity) failed: {Libc.Describe(errno)}. Pick a CPU this process may run on (see taskset -p), or -1 not to pin.", errno);
        }
    }
}
