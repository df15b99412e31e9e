namespace Skiff.Drivers.Linux;

/// <summary>
/// Counters of one <see cref="AfPacketDevice"/> since it was opened: the kernel's (PACKET_STATISTICS,
/// <c>struct tpacket_stats_v3</c>, summed over reads because each read resets them) and the device's own.
/// </summary>
/// <param name="KernelPackets">Frames the kernel handed to the socket (tp_packets), drops included.</param>
/// <param name="KernelDrops">Frames the kernel dropped because the RX ring had no room (tp_drops): read faster or give more blocks.</param>
/// <param name="KernelFreezeQueueCount">Times the RX ring filled and the kernel froze it (tp_freeze_q_cnt).</param>
/// <param name="RxFrames">Frames <see cref="AfPacketDevice.ReceiveBurst"/> handed to the caller.</param>
/// <param name="RxBytes">Bytes of those frames.</param>
/// <param name="RxDropped">Frames taken off the ring but not delivered: larger than a pool frame's room (on veth this is a GSO super-frame: turn TSO/GSO off on the peer) or truncated by the ring.</param>
/// <param name="RxNoBuffer">Times <see cref="AfPacketDevice.ReceiveBurst"/> stopped early because the pool was empty (the frame stays in the ring).</param>
/// <param name="TxFrames">Frames <see cref="AfPacketDevice.TransmitBurst"/> put into the TX ring.</param>
/// <param name="TxBytes">Bytes of those frames.</param>
/// <param name="TxDropped">Frames accepted but dropped because they are longer than a TX slot or the interface MTU allows, or shorter than an Ethernet header.</param>
/// <param name="TxRingFull">Times <see cref="AfPacketDevice.TransmitBurst"/> refused frames because no TX slot was free.</param>
/// <param name="TxKicks">sendto(2) calls that asked the kernel to send the ring.</param>
/// <param name="TxKickErrors">Kicks that failed (other than EAGAIN/ENOBUFS, which only mean "later"); the last errno is in <see cref="AfPacketDevice.LastTransmitErrno"/>.</param>
public readonly record struct AfPacketStatistics(
    long KernelPackets,
    long KernelDrops,
    long KernelFreezeQueueCount,
    long RxFrames,
    long RxBytes,
    long RxDropped,
    long RxNoBuffer,
    long TxFrames,
    long TxBytes,
    long TxDropped,
    long TxRingFull,
    long TxKicks,
    long TxKickErrors);
