namespace Skiff.Engine.Rss;

/// <summary>
/// A queue view of a multi-core device that can hand a frame to another queue's loop (a hook's redirect to a queue,
/// XDP's cpumap): the frame arrives there as if received from the device. Loop thread of the view's queue only.
/// </summary>
internal interface IQueueRedirect
{
    /// <summary>
    /// Hands <paramref name="frame"/> to <paramref name="queue"/>'s loop and returns true (ownership passes; a full ring
    /// drops and counts it as a steering drop); false when this view cannot reach that queue (the caller keeps the frame).
    /// </summary>
    bool TryRedirect(PacketBuffer frame, int queue);
}
