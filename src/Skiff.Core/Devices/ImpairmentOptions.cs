namespace Skiff.Devices;

/// <summary>
/// What an <see cref="ImpairedDevice"/> does to frames: smoltcp's fault injector plus Linux netem.
/// Every impairment defaults to off, so <c>new ImpairmentOptions()</c> gives a transparent wrapper.
/// </summary>
/// <remarks>
/// <para>Stages run in this order on each frame entering an impaired direction: loss, duplication,
/// corruption, reordering, delay and jitter (a time-ordered queue), then the rate limit when the frame
/// leaves the queue. A duplicate is a separate frame from the duplication stage onwards: it may be
/// corrupted, reordered or delayed independently of its original, but is never lost or duplicated again.</para>
/// <para>Probabilities are per frame, in [0, 1]. Values outside that range (or NaN), negative durations
/// and other impossible settings make the <see cref="ImpairedDevice"/> constructor throw
/// <see cref="ArgumentOutOfRangeException"/>.</para>
/// </remarks>
public sealed record ImpairmentOptions
{
    /// <summary>Directions the impairments apply to. Default <see cref="ImpairmentDirections.Transmit"/> (netem is egress-only);
    /// wrap each end of a link on transmit to impair both ways once. With <see cref="ImpairmentDirections.Both"/>
    /// each direction gets these same settings independently.</summary>
    public ImpairmentDirections Directions { get; init; } = ImpairmentDirections.Transmit;

    /// <summary>Seed of the random decisions. Default 0. The same seed, options and sequence of calls give
    /// the same decisions; each direction and each stage draws from its own stream, so turning on one
    /// impairment does not change which frames another one picks.</summary>
    public ulong Seed { get; init; }

    /// <summary>Chance that a frame is dropped (freed by the wrapper, counted as <see cref="ImpairmentCounters.Lost"/>). Default 0.</summary>
    public double LossProbability { get; init; }

    /// <summary>Chance that a frame is sent twice. The copy comes from the frame's own pool; when the pool is
    /// empty the copy is skipped and counted as <see cref="ImpairmentCounters.DuplicateSkippedNoBuffer"/>. Default 0.</summary>
    public double DuplicateProbability { get; init; }

    /// <summary>Chance that exactly one uniformly chosen bit of the frame's data is flipped. A corrupted frame's
    /// <see cref="PacketBuffer.Checksum"/> is reset to <see cref="ChecksumState.None"/> so the stack verifies it. Default 0.</summary>
    public double CorruptProbability { get; init; }

    /// <summary>
    /// Bytes at the start of each frame that corruption never touches. Default 0 (any bit). Set it to 14
    /// to spare the Ethernet header, as on a real wire where a flipped L2 bit fails the NIC's FCS check
    /// before the stack sees the frame; then every corrupted frame reaches the stack's own checksums.
    /// </summary>
    public int CorruptSkipBytes { get; init; }

    /// <summary>
    /// If non-zero, only frames with this EtherType (bytes 12-13, big-endian; 0x0800 for IPv4) are corrupted.
    /// ARP carries no checksum, so on a real wire only the FCS protects it; a simulation that wants every
    /// corruption caught by the stack's checksums corrupts IP frames only. Default 0 (any frame).
    /// </summary>
    public ushort CorruptOnlyEtherType { get; init; }

    /// <summary>Chance that a frame is held back and released only after <see cref="ReorderGapFrames"/> later frames
    /// have gone ahead of it (or after <see cref="ReorderMaxHold"/>). Default 0.</summary>
    public double ReorderProbability { get; init; }

    /// <summary>How many following frames overtake a frame held back for reordering (netem's "gap"). At least 1. Default 1.</summary>
    public int ReorderGapFrames { get; init; } = 1;

    /// <summary>Longest a frame waits for its followers before it is released anyway, so the last frame of a
    /// burst is not held forever. Non-negative; <see cref="Duration.Infinite"/> disables the limit. Default 10 ms.</summary>
    public Duration ReorderMaxHold { get; init; } = Duration.FromMillis(10);

    /// <summary>Fixed one-way delay added to every frame. Non-negative. Default zero.</summary>
    public Duration Delay { get; init; }

    /// <summary>Each frame's delay varies uniformly within ±<see cref="Jitter"/> (whole microseconds) around
    /// <see cref="Delay"/>, never below zero. Non-negative. Default zero. Because frames leave in order of their
    /// due times, jitter larger than the gap between frames reorders them (as netem does) unless
    /// <see cref="JitterKeepsOrder"/> is set. Jitter reordering is not counted in <see cref="ImpairmentCounters.Reordered"/>.</summary>
    public Duration Jitter { get; init; }

    /// <summary>When true a frame is never due before the frame queued ahead of it, so jitter varies latency
    /// without reordering (frames bunch up instead). Default false.</summary>
    public bool JitterKeepsOrder { get; init; }

    /// <summary>Rate limit in bytes of frame data (<see cref="PacketBuffer.Length"/>: Ethernet header included,
    /// no preamble or FCS) per second, enforced by a token bucket on the caller's clock. Frames over the rate wait
    /// in the queue; when the queue is full new frames are dropped (<see cref="ImpairmentCounters.DroppedQueueFull"/>).
    /// 0 means unlimited. At most 10^12. Default 0.</summary>
    public long RateBytesPerSecond { get; init; }

    /// <summary>Token bucket depth: bytes that may leave back to back after an idle spell. A frame larger than the
    /// bucket leaves when the bucket is full and drives it negative, so the long-run rate holds. 0 means the inner
    /// device's <see cref="DeviceCapabilities.MaxFrameBytes"/>. Non-negative. Default 0.</summary>
    public int RateBurstBytes { get; init; }

    /// <summary>Most frames held per direction at once (delay queue and reorder hold together); frames beyond it are
    /// freed and counted as <see cref="ImpairmentCounters.DroppedQueueFull"/>. At least 1. Default 1000 (netem's limit).
    /// The queue is allocated up front at this size.</summary>
    public int QueueLimitFrames { get; init; } = 1000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first impossible setting.</summary>
    internal void Validate()
    {
        CheckProbability(LossProbability, nameof(LossProbability));
        CheckProbability(DuplicateProbability, nameof(DuplicateProbability));
        CheckProbability(CorruptProbability, nameof(CorruptProbability));
        if (CorruptSkipBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(CorruptSkipBytes), CorruptSkipBytes, "CorruptSkipBytes cannot be negative.");
        }
        CheckProbability(ReorderProbability, nameof(ReorderProbability));
        if ((Directions & ~ImpairmentDirections.Both) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(Directions), Directions, "Unknown direction flags.");
        }
        if (ReorderGapFrames < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ReorderGapFrames), ReorderGapFrames, "At least one frame must overtake a reordered frame.");
        }
        if (ReorderMaxHold < Duration.Zero || Delay < Duration.Zero || Jitter < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(Delay), "Delay, Jitter and ReorderMaxHold must not be negative.");
        }
        if (Delay == Duration.Infinite || Jitter == Duration.Infinite || Delay.TotalMicros > MaxDelayMicros - Jitter.TotalMicros)
        {
            throw new ArgumentOutOfRangeException(nameof(Delay), "Delay plus Jitter must be finite (under about 100 years).");
        }
        if (RateBytesPerSecond < 0 || RateBytesPerSecond > MaxRateBytesPerSecond)
        {
            throw new ArgumentOutOfRangeException(nameof(RateBytesPerSecond), RateBytesPerSecond, "Rate must be 0 (unlimited) to 10^12 bytes per second.");
        }
        if (RateBurstBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(RateBurstBytes), RateBurstBytes, "Burst must not be negative.");
        }
        if (QueueLimitFrames < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(QueueLimitFrames), QueueLimitFrames, "The queue must hold at least one frame.");
        }
    }

    internal const long MaxRateBytesPerSecond = 1_000_000_000_000;

    // About 100 years in microseconds: far from overflow when added to any instant a test uses.
    internal const long MaxDelayMicros = 100L * 365 * 24 * 3600 * 1_000_000;

    private static void CheckProbability(double value, string name)
    {
        if (!(value >= 0.0 && value <= 1.0))
        {
            throw new ArgumentOutOfRangeException(name, value, "A probability must be between 0 and 1.");
        }
    }
}
