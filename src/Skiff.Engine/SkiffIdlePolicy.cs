namespace Skiff.Engine;

/// <summary>
/// How the engine's loop waits when an iteration found no work: it spins, then yields its core, then parks
/// for short sleeps (woken early by application requests). Any iteration with work resets it to the start,
/// so under load the loop polls without sleeping.
/// </summary>
/// <remarks>
/// The default spins not at all and yields (sched_yield) between idle polls: an idle poll then costs a syscall, but
/// the application's threads on the same core (Kestrel's, the thread pool's) run instead of waiting for a spin to
/// end. On the 2-core benchmark machine that raised Kestrel over Skiff from 54-76k to 133-135k keep-alive requests/s
/// and from 18-20k to 23-24k connections/s (bench/kestrel-wrk.sh). With cores to spare for the loop alone,
/// <see cref="BusyPoll"/> or some <see cref="SpinIterations"/> trade that CPU for the last microsecond of latency.
/// </remarks>
public sealed record SkiffIdlePolicy
{
    /// <summary>A policy that never sleeps: lowest latency, one core always busy.</summary>
    public static readonly SkiffIdlePolicy BusyPoll = new() { SpinIterations = int.MaxValue, YieldIterations = 0 };

    /// <summary>Idle iterations spent spinning (a short <see cref="Thread.SpinWait"/> each) before yielding. Default 0.</summary>
    public int SpinIterations { get; init; }

    /// <summary>Idle iterations that call <see cref="Thread.Yield"/> before parking. Default 128.</summary>
    public int YieldIterations { get; init; } = 128;

    /// <summary>
    /// Also yield, rather than park or block, until the loop has been idle this long, in microseconds of real time: a
    /// loop that receives every few tens of microseconds then never pays a blocking wake-up (40-90 us here) for a
    /// gap shorter than this. Default 0: only <see cref="YieldIterations"/> counts.
    /// </summary>
    public int YieldMicros { get; init; }

    /// <summary>Longest park once spinning and yielding found nothing, in microseconds, on a device the loop cannot block on (in-memory; it sleeps on its eventfd alone); shortened to the next timer or departure. Default 1000 (1 ms).</summary>
    public int SleepMicros { get; init; } = 1000;

    /// <summary>
    /// Longest block in ppoll(2) on a device that wakes the loop when frames arrive (<see cref="IWaitableDevice"/>: TAP,
    /// AF_PACKET, AF_XDP), in microseconds; shortened to the stack's next timer. An idle Skiff then burns no core.
    /// Default 100000 (100 ms).
    /// </summary>
    public int BlockMicros { get; init; } = 100_000;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        if (SpinIterations < 0 || YieldIterations < 0 || YieldMicros < 0)
        {
            throw new ArgumentException("SpinIterations, YieldIterations and YieldMicros must be zero or more.");
        }
        if (SleepMicros < 1)
        {
            throw new ArgumentException($"SleepMicros {SleepMicros} must be at least 1.");
        }
        if (BlockMicros < 1)
        {
            throw new ArgumentException($"BlockMicros {BlockMicros} must be at least 1.");
        }
    }
}
