namespace Skiff.Engine;

/// <summary>Settings of one <see cref="SkiffEngine"/> loop thread.</summary>
public sealed record SkiffEngineOptions
{
    /// <summary>How the loop waits when idle. Default <see cref="SkiffIdlePolicy"/>'s defaults (spin, yield, 1 ms parks).</summary>
    public SkiffIdlePolicy Idle { get; init; } = new();

    /// <summary>The CPU to pin the loop thread to (sched_setaffinity, Linux only). Default null: not pinned.</summary>
    public int? PinToCpu { get; init; }

    /// <summary>The device queue, and core index, this loop serves; tags its metrics. Default 0. <see cref="SkiffStack"/> sets it per core.</summary>
    public int Queue { get; init; }

    /// <summary>Name of the loop thread. Default "skiff-engine".</summary>
    public string ThreadName { get; init; } = "skiff-engine";

    /// <summary>Most queued application requests the loop runs before it polls the device again (fairness). Default 1024.</summary>
    public int MaxRequestsPerIteration { get; init; } = 1024;

    /// <summary>Most bytes the loop moves from one connection's receive queue into its input pipe per iteration. Default 256 KiB.</summary>
    public int MaxReceiveBytesPerIteration { get; init; } = 256 * 1024;

    /// <summary>
    /// The loop's clock. Default null: the engine's own monotonic clock (Stopwatch). A <see cref="ManualClock"/> makes the
    /// loop deterministic for tests that drive it with <see cref="SkiffEngine.RunOnce"/>; the idle waits still pass in real time.
    /// </summary>
    public IClock? Clock { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Idle);
        Idle.Validate();
        if (PinToCpu is int cpu && (cpu < 0 || cpu >= Interop.Sched.MaskWords * 64))
        {
            throw new ArgumentException($"PinToCpu {cpu} is out of range; give a CPU number from 0 to {Environment.ProcessorCount - 1}.");
        }
        if (Queue < 0)
        {
            throw new ArgumentException($"Queue {Queue} is negative; give the device queue this loop serves, from 0.");
        }
        if (MaxRequestsPerIteration < 1 || MaxReceiveBytesPerIteration < 1)
        {
            throw new ArgumentException("MaxRequestsPerIteration and MaxReceiveBytesPerIteration must be positive.");
        }
    }
}
