namespace Skiff;

/// <summary>
/// What a port's egress stage (a qdisc between the <see cref="TxBuffer"/> and the device) holds per sending socket, for TCP
/// small queues (Linux's TSQ): a sender stamps its frames' <see cref="PacketBuffer.RssHash"/> with its own non-zero hash
/// (Linux's sk_txhash) and, before it builds more data segments, asks how many of its bytes still wait below it, so that a
/// bulk sender keeps its unsent data in its socket instead of a standing queue in the qdisc. Loop thread only.
/// </summary>
public interface IEgressBacklog
{
    /// <summary>
    /// Bytes of frames stamped <paramref name="txHash"/> queued in the stage's qdisc, not yet let go to the device. Frames of other senders whose hash shares a bucket count too: at most an over-estimate.
    /// </summary>
    int QueuedBytes(uint txHash);

    /// <summary>
    /// How many bytes one sender may keep queued here before it waits: about a millisecond of what left the stage lately,
    /// at least two full frames (Linux's tcp_small_queue_check: max(2 packets, 1 ms at the pacing rate)).
    /// </summary>
    int LimitBytes { get; }
}
