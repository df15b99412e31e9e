namespace Skiff.Engine.Internal;

/// <summary>
/// What a device fed by other cores (a <see cref="Rss.SoftwareRss"/> queue) tells its engine beyond
/// <see cref="IDevice"/>: whether frames wait for it (so it must not park), and whether it moved frames for
/// other cores in the last poll (work, even though none reached this core's stack). Engine thread only.
/// </summary>
internal interface IEngineDeviceSignals
{
    /// <summary>True when frames wait for this queue's thread.</summary>
    bool HasPendingWork();

    /// <summary>True if frames moved for other queues since the last call; resets.</summary>
    bool TakeActivity();

    /// <summary>
    /// Frames this queue's thread dropped while steering them to another core (that core's ring full, or no frame for
    /// a copy). Written by this queue's thread only, so the loop reads it without a lock.
    /// </summary>
    long SteeringDrops { get; }
}
