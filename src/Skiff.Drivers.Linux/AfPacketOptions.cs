namespace Skiff.Drivers.Linux;

/// <summary>
/// How an <see cref="AfPacketDevice"/> opens its interface and cuts its rings. Every size is checked when the device
/// opens; a bad one throws <see cref="ArgumentOutOfRangeException"/> naming the option.
/// </summary>
public sealed record AfPacketOptions
{
    /// <summary>The interface to bind, in the network namespace of the thread that opens the device. Required.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>
    /// Size of one RX block: a power of two, at least a page, at most 4 MiB. The kernel fills a block with frames
    /// of any length and hands it over whole. Default 256 KiB.
    /// </summary>
    public int RxBlockBytes { get; init; } = 256 * 1024;

    /// <summary>Number of RX blocks (at least 2). Default 16 (4 MiB of ring with the default block size).</summary>
    public int RxBlockCount { get; init; } = 16;

    /// <summary>
    /// The nominal RX frame size the kernel uses to count frames (tpacket_req3.tp_frame_size): a multiple of 16,
    /// at most <see cref="RxBlockBytes"/>, dividing it. TPACKET_V3 packs frames tighter than this. Default 2048.
    /// </summary>
    public int RxFrameBytes { get; init; } = 2048;

    /// <summary>
    /// Milliseconds after which the kernel hands over a block that is not full (tp_retire_blk_tov), 1 or more:
    /// the worst added receive latency under light load. Default 1.
    /// </summary>
    public int RetireTimeoutMillis { get; init; } = 1;

    /// <summary>
    /// Size of one TX slot: a power of two from 256 to 65536. A frame may be this minus 48 bytes (the tpacket3_hdr)
    /// long. Default 2048 (frames up to 2000 bytes; MTU 1500 fits).
    /// </summary>
    public int TxFrameBytes { get; init; } = 2048;

    /// <summary>Number of TX slots (rounded up to fill whole pages). Default 1024.</summary>
    public int TxFrameCount { get; init; } = 1024;

    /// <summary>Most frames one burst moves (<see cref="DeviceCapabilities.MaxBurst"/>). Default 64.</summary>
    public int MaxBurst { get; init; } = 64;

    /// <summary>
    /// Set PACKET_QDISC_BYPASS: transmitted frames go straight to the driver, skipping the interface's qdisc (and
    /// with it tc shaping and packet taps such as tcpdump on this host). Default true.
    /// </summary>
    public bool QdiscBypass { get; init; } = true;

    /// <summary>
    /// Set PACKET_IGNORE_OUTGOING: frames the host itself sends on the interface (IPv6 neighbour discovery from the
    /// kernel, other packet sockets) are not delivered to this device. Default true.
    /// </summary>
    public bool IgnoreOutgoing { get; init; } = true;

    /// <summary>Put the interface in promiscuous mode (PACKET_MR_PROMISC) while the device is open, so a NIC passes frames for any MAC address. Default false (veth passes everything anyway).</summary>
    public bool Promiscuous { get; init; }

    /// <summary>
    /// Join fanout group <see cref="FanoutGroupId"/> with this mode, so several devices (one per engine queue) share
    /// the interface and the kernel spreads frames over them. Null (the default): no fanout, this device sees every frame.
    /// All members of a group must use the same interface and mode.
    /// </summary>
    public AfPacketFanoutMode? FanoutMode { get; init; }

    /// <summary>The fanout group's id, unique per network namespace. Default 0.</summary>
    public ushort FanoutGroupId { get; init; }

    /// <summary>
    /// A classic BPF program the kernel runs on every frame before it enters the RX ring (SO_ATTACH_FILTER), e.g. the
    /// output of <c>tcpdump -dd 'arp or host 10.0.0.1'</c>. Null or empty (the default): every frame. At most 4096 instructions.
    /// </summary>
    public IReadOnlyList<AfPacketFilterInstruction>? Filter { get; init; }

    /// <summary>Stamped into <see cref="PacketBuffer.Queue"/> of every received frame (the engine's queue number for this device). Default 0.</summary>
    public ushort QueueId { get; init; }

    /// <summary>Stamped into <see cref="PacketBuffer.Port"/> of every received frame. Default 0.</summary>
    public ushort PortId { get; init; }
}
