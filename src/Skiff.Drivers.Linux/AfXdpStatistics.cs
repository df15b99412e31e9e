namespace Skiff.Drivers.Linux;

/// <summary>
/// Counters of an <see cref="AfXdpDevice"/>: the kernel's XDP_STATISTICS for the socket plus the device's own.
/// A snapshot; read with <see cref="AfXdpDevice.GetStatistics"/>.
/// </summary>
/// <param name="RxDropped">Kernel: frames dropped for other reasons (rx_dropped).</param>
/// <param name="RxInvalidDescriptors">Kernel: fill entries it refused (rx_invalid_descs).</param>
/// <param name="TxInvalidDescriptors">Kernel: TX descriptors it refused (tx_invalid_descs).</param>
/// <param name="RxRingFull">Kernel: frames dropped because the RX ring was full (rx_ring_full): poll faster or grow it.</param>
/// <param name="RxFillRingEmpty">Kernel: times the fill ring was empty when a frame arrived (rx_fill_ring_empty_descs).</param>
/// <param name="TxRingEmpty">Kernel: times it found the TX ring empty on a wakeup (tx_ring_empty_descs).</param>
/// <param name="RxFrames">Frames handed to the caller.</param>
/// <param name="TxFrames">Frames put on the TX ring.</param>
/// <param name="TxCopied">Transmitted frames from a foreign pool, copied into a UMEM frame first.</param>
/// <param name="TxDropped">Frames accepted but dropped: empty or longer than the device's largest frame.</param>
/// <param name="TxCompleted">Frames the kernel reported sent (completion ring) and the device freed.</param>
/// <param name="Wakeups">sendto/recvfrom calls made because a ring asked for a wakeup.</param>
/// <param name="WakeupErrors">Wakeups that failed with an error other than EAGAIN, EBUSY, ENOBUFS or ENETDOWN.</param>
public readonly record struct AfXdpStatistics(
    ulong RxDropped,
    ulong RxInvalidDescriptors,
    ulong TxInvalidDescriptors,
    ulong RxRingFull,
    ulong RxFillRingEmpty,
    ulong TxRingEmpty,
    long RxFrames,
    long TxFrames,
    long TxCopied,
    long TxDropped,
    long TxCompleted,
    long Wakeups,
    long WakeupErrors);
