using System.Diagnostics;
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

    /// <summary>
    /// The generators' send loop: pins the thread to <paramref name="cpu"/>, calls <paramref name="send"/> (one batch)
    /// until <paramref name="duration"/> has passed (zero or negative: until <paramref name="cancellation"/>), reads the
    /// clock between batches, and once a second calls <paramref name="perSecond"/> with the second's number (1, 2, ...)
    /// and the frames <paramref name="framesSent"/> grew by in it. Returns how much it grew during the call.
    /// </summary>
    public static long SendFor(TimeSpan duration, int cpu, Action<int, long>? perSecond, CancellationToken cancellation, Func<long> framesSent, Action send)
    {
        Pin(cpu);
        long start = framesSent();
        long frequency = Stopwatch.Frequency;
        long begin = Stopwatch.GetTimestamp();
        long end = duration <= TimeSpan.Zero ? long.MaxValue : begin + (long)(duration.TotalSeconds * frequency);
        long nextTick = begin + frequency;
        long atTick = start;
        int second = 0;
        while (!cancellation.IsCancellationRequested)
        {
            long now = Stopwatch.GetTimestamp();
            if (now >= nextTick)
            {
                second++;
                long sent = framesSent();
                perSecond?.Invoke(second, sent - atTick);
                atTick = sent;
                nextTick += frequency;
            }
            if (now >= end)
            {
                break;
            }
            send();
        }
        return framesSent() - start;
    }
}
