namespace Skiff.Devices;

/// <summary>
/// What an <see cref="ImpairedDevice"/> did to the frames of one direction, one counter per cause.
/// Counters only grow. Read them from the thread that uses the device (they are plain fields).
/// </summary>
/// <remarks>
/// Accounting: every frame entering the direction, plus every duplicate made, ends up exactly once in
/// <see cref="Passed"/>, <see cref="Lost"/> or <see cref="DroppedQueueFull"/>, or is still held
/// (<see cref="ImpairedDevice.HeldFrames"/>) or was freed by <see cref="ImpairedDevice.Dispose"/>.
/// <see cref="Duplicated"/>, <see cref="Corrupted"/>, <see cref="Reordered"/> and <see cref="Delayed"/> count
/// frames that were altered but still delivered (or are still held).
/// </remarks>
public sealed class ImpairmentCounters
{
    /// <summary>Frames handed on (to the inner device on transmit, to the caller on receive), duplicates included.</summary>
    public long Passed { get; internal set; }

    /// <summary>Frames dropped by the loss stage.</summary>
    public long Lost { get; internal set; }

    /// <summary>Duplicates made (each is an extra frame).</summary>
    public long Duplicated { get; internal set; }

    /// <summary>Duplicates not made because the frame's pool had no free frame.</summary>
    public long DuplicateSkippedNoBuffer { get; internal set; }

    /// <summary>Frames that had one bit flipped.</summary>
    public long Corrupted { get; internal set; }

    /// <summary>Frames held back for reordering and released after at least one later frame went ahead.</summary>
    public long Reordered { get; internal set; }

    /// <summary>Frames that entered the delay queue with a due time later than their arrival.</summary>
    public long Delayed { get; internal set; }

    /// <summary>Frames freed because <see cref="ImpairmentOptions.QueueLimitFrames"/> frames were already held.</summary>
    public long DroppedQueueFull { get; internal set; }

    /// <summary>All counters on one line, e.g. "passed 998, lost 2, duplicated 0 (skipped 0), ...", for logs and test failures. Allocates.</summary>
    public override string ToString() =>
        $"passed {Passed}, lost {Lost}, duplicated {Duplicated} (skipped {DuplicateSkippedNoBuffer}), corrupted {Corrupted}, " +
        $"reordered {Reordered}, delayed {Delayed}, dropped (queue full) {DroppedQueueFull}";
}
