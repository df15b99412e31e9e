using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// An <see cref="IDevice"/> over an AF_PACKET socket with TPACKET_V3 rings (packet(7), PACKET_MMAP): a block-based
/// RX ring and a TX ring in one mmap, bound to one interface. Needs CAP_NET_RAW; works on any interface (veth, a NIC,
/// a bridge), which makes it the fallback where AF_XDP is missing.
/// </summary>
/// <remarks>
/// <para><b>One copy each way.</b> The rings are kernel memory that user space maps; AF_PACKET cannot use Skiff's
/// <see cref="PacketPool"/> as its ring memory the way AF_XDP uses it as UMEM. <see cref="ReceiveBurst"/> therefore
/// copies every frame out of the RX ring into a buffer of <see cref="Pool"/>, and <see cref="TransmitBurst"/> copies
/// every frame into a TX slot and frees the buffer at once.</para>
/// <para><b>Receive.</b> The kernel fills a block with frames and hands the whole block over when it is full or
/// <see cref="AfPacketOptions.RetireTimeoutMillis"/> has passed. <see cref="ReceiveBurst"/> walks the block and gives it
/// back to the kernel as soon as its last frame is copied, so a block stays out of the kernel's hands across calls
/// only when the caller's burst (or the pool) ran out mid-block. Per frame it sets <see cref="PacketBuffer.Checksum"/>
/// to <see cref="ChecksumState.L4Partial"/> when the kernel flags TP_STATUS_CSUMNOTREADY (frames the local kernel
/// sends over veth: the TCP/UDP checksum field holds only the pseudo-header sum) and to
/// <see cref="ChecksumState.L4Verified"/> for TP_STATUS_CSUM_VALID; a VLAN tag the kernel stripped is put back.
/// Frames longer than a pool frame's room are dropped and counted (<see cref="AfPacketStatistics.RxDropped"/>): on
/// veth these are GSO super-frames, so turn TSO/GSO off on the sending peer (<c>ethtool -K peer tso off gso off</c>).</para>
/// <para><b>Transmit.</b> Frames are copied into free slots (TP_STATUS_AVAILABLE), marked TP_STATUS_SEND_REQUEST, and
/// the kernel is kicked with a non-blocking sendto(2). An empty burst re-kicks only when frames are still waiting, so an
/// idle poller makes no system calls. With <see cref="AfPacketOptions.QdiscBypass"/> frames skip the qdisc.</para>
/// <para><b>Threads.</b> One thread at a time uses <see cref="ReceiveBurst"/>, <see cref="TransmitBurst"/> and
/// <see cref="Wait"/>; <see cref="ReadStatistics"/> may be called from any thread. For several cores, open one device
/// per queue in one fanout group (<see cref="AfPacketOptions.FanoutMode"/>).</para>
/// <para>Bursts never allocate managed memory.</para>
/// </remarks>
public sealed unsafe partial class AfPacketDevice : IDevice, IWaitableDevice, IDisposable
{
    private const int EthernetHeaderBytes = 14;
    private const int VlanTagBytes = 4;

    private readonly int _fd;
    private readonly byte* _ring;
    private readonly nuint _ringBytes;
    private readonly bool _ownsPool;
    private readonly ushort _queueId;
    private readonly ushort _portId;
    private readonly byte[] _hardwareAddress = new byte[6];
    private readonly object _statisticsLock = new();
    private long _kernelPackets;
    private long _kernelDrops;
    private long _kernelFreezes;
    private bool _disposed;

    /// <summary>
    /// Opens <see cref="AfPacketOptions.InterfaceName"/> in the calling thread's network namespace: creates the socket,
    /// sets TPACKET_V3, the options, the filter and both rings, maps them, binds and joins the fanout group.
    /// </summary>
    /// <param name="options">Interface and ring geometry.</param>
    /// <param name="pool">
    /// Where received frames are copied to and transmit frames should come from. Null: the device makes its own
    /// (4096 frames, large enough for the interface's MTU) and disposes it with itself. A pool passed in stays the
    /// caller's; several devices may share one (a pool is thread-safe).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (the message names it).</exception>
    /// <exception cref="DriverException">The kernel refused a step; the message says which and what to do.</exception>
    public AfPacketDevice(AfPacketOptions options, PacketPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Validate(options);
        _queueId = options.QueueId;
        _portId = options.PortId;
        InterfaceName = options.InterfaceName;

        InterfaceIndex = (int)Libc.IfNameToIndex(options.InterfaceName);
        if (InterfaceIndex == 0)
        {
            throw new DriverException(
                $"Interface '{options.InterfaceName}' does not exist in this network namespace: check the name with `ip link`, or open the device from a thread inside the interface's namespace.",
                Libc.ENODEV);
        }

        // Protocol 0: the socket receives nothing until bind() names the interface and ETH_P_ALL, so frames from
        // other interfaces never slip into the ring in between.
        _fd = Libc.Socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC | Libc.SOCK_NONBLOCK, 0);
        if (_fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw errno is Libc.EPERM or Libc.EACCES
                ? new DriverException("AF_PACKET needs CAP_NET_RAW: run as root, or grant the program the capability (setcap cap_net_raw+ep), or use the TAP driver.", errno)
                : DriverException.FromLastError("socket(AF_PACKET, SOCK_RAW)", "The kernel needs AF_PACKET support (CONFIG_PACKET, module af_packet); otherwise use the TAP driver.");
        }

        byte* ring = null;
        nuint ringBytes = 0;
        try
        {
            SetInt(Packet.SOL_PACKET, Packet.PACKET_VERSION, Packet.TPACKET_V3, "setsockopt(PACKET_VERSION, TPACKET_V3)", "TPACKET_V3 needs Linux 3.2 or later.");
            if (options.QdiscBypass)
            {
                SetInt(Packet.SOL_PACKET, Packet.PACKET_QDISC_BYPASS, 1, "setsockopt(PACKET_QDISC_BYPASS)", "Set AfPacketOptions.QdiscBypass = false on kernels before 3.14.");
            }
            // PACKET_LOSS: a malformed TX frame is skipped (its slot made available again) instead of stalling the ring.
            SetInt(Packet.SOL_PACKET, Packet.PACKET_LOSS, 1, "setsockopt(PACKET_LOSS)", "This kernel's AF_PACKET lacks TX ring loss handling: upgrade the kernel.");
            if (options.IgnoreOutgoing)
            {
                SetInt(Packet.SOL_PACKET, Packet.PACKET_IGNORE_OUTGOING, 1, "setsockopt(PACKET_IGNORE_OUTGOING)", "Set AfPacketOptions.IgnoreOutgoing = false on kernels before 4.20.");
            }
            if (options.Filter is { Count: > 0 } filter)
            {
                AttachFilter(filter);
            }

            RxBlockBytes = options.RxBlockBytes;
            RxBlockCount = options.RxBlockCount;
            Packet.TPacketReq3 rx = new()
            {
                BlockSize = (uint)options.RxBlockBytes,
                BlockCount = (uint)options.RxBlockCount,
                FrameSize = (uint)options.RxFrameBytes,
                FrameCount = (uint)(options.RxBlockBytes / options.RxFrameBytes * options.RxBlockCount),
                RetireBlockTimeoutMillis = (uint)options.RetireTimeoutMillis,
            };
            SetRing(Packet.PACKET_RX_RING, rx, "setsockopt(PACKET_RX_RING)", "Lower AfPacketOptions.RxBlockBytes or RxBlockCount (the kernel could not allocate or did not accept the ring).");

            // TX: fixed slots. A block holds whole slots, so slot i sits at i * TxFrameBytes in the mapping.
            int txBlockBytes = Math.Max(Environment.SystemPageSize, options.TxFrameBytes);
            int slotsPerBlock = txBlockBytes / options.TxFrameBytes;
            int txBlocks = (options.TxFrameCount + slotsPerBlock - 1) / slotsPerBlock;
            TxFrameBytes = options.TxFrameBytes;
            TxFrameCount = txBlocks * slotsPerBlock;
            Packet.TPacketReq3 tx = new()
            {
                BlockSize = (uint)txBlockBytes,
                BlockCount = (uint)txBlocks,
                FrameSize = (uint)options.TxFrameBytes,
                FrameCount = (uint)TxFrameCount,
            };
            SetRing(Packet.PACKET_TX_RING, tx, "setsockopt(PACKET_TX_RING)", "Lower AfPacketOptions.TxFrameCount or TxFrameBytes (the kernel could not allocate or did not accept the ring).");

            // One mapping: the RX ring first, the TX ring right behind it (packet_mmap in af_packet.c).
            nuint rxBytes = (nuint)options.RxBlockBytes * (nuint)options.RxBlockCount;
            ringBytes = rxBytes + (nuint)txBlockBytes * (nuint)txBlocks;
            ring = (byte*)Libc.Mmap(null, ringBytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, _fd, 0);
            if (ring == (byte*)-1)
            {
                ring = null;
                throw DriverException.FromLastError("mmap of the AF_PACKET rings", "Lower the ring sizes in AfPacketOptions, or raise the memory lock limit (ulimit -l).");
            }
            _rxBase = ring;
            _txBase = ring + rxBytes;

            Packet.SockAddrLl address = new()
            {
                Family = Libc.AF_PACKET,
                Protocol = HostToNetwork(Packet.ETH_P_ALL),
                IfIndex = InterfaceIndex,
            };
            if (Libc.Bind(_fd, &address, sizeof(Packet.SockAddrLl)) != 0)
            {
                throw DriverException.FromLastError($"bind to interface '{options.InterfaceName}'", "Check that the interface still exists (`ip link`).");
            }

            if (options.FanoutMode is AfPacketFanoutMode mode)
            {
                // A group has its own packet hook: PACKET_IGNORE_OUTGOING on a member does not reach it, the group flag does.
                // Without it every frame one member sends is handed back to a member as if received.
                int fanoutFlags = options.IgnoreOutgoing ? Packet.PACKET_FANOUT_FLAG_IGNORE_OUTGOING : 0;
                int argument = options.FanoutGroupId | (((int)mode | fanoutFlags) << 16);
                SetInt(Packet.SOL_PACKET, Packet.PACKET_FANOUT, argument, $"Joining fanout group {options.FanoutGroupId} ({mode}) on '{options.InterfaceName}'",
                    "Every member of a group must use the same interface and mode; choose another AfPacketOptions.FanoutGroupId if something else already uses this one.");
            }
            if (options.Promiscuous)
            {
                Packet.PacketMreq request = new() { IfIndex = InterfaceIndex, Type = Packet.PACKET_MR_PROMISC };
                if (Libc.SetSockOpt(_fd, Packet.SOL_PACKET, Packet.PACKET_ADD_MEMBERSHIP, &request, sizeof(Packet.PacketMreq)) != 0)
                {
                    throw DriverException.FromLastError($"Promiscuous mode on '{options.InterfaceName}'", "Set AfPacketOptions.Promiscuous = false, or check the interface supports it.");
                }
            }

            MtuBytes = ReadInterfaceInt(Packet.SIOCGIFMTU, "SIOCGIFMTU");
            ReadHardwareAddress();
            int flags = ReadInterfaceInt(Packet.SIOCGIFFLAGS, "SIOCGIFFLAGS");
            if ((flags & Packet.IFF_UP) == 0)
            {
                throw new DriverException($"Interface '{options.InterfaceName}' is down: bring it up with `ip link set dev {options.InterfaceName} up` before opening the device.");
            }

            int longestFrame = MtuBytes + EthernetHeaderBytes + VlanTagBytes;
            if (longestFrame > TxFrameBytes - Packet.TPACKET3_DATA_OFFSET)
            {
                throw new DriverException(
                    $"Interface '{options.InterfaceName}' has MTU {MtuBytes}, but TX slots of {TxFrameBytes} bytes hold frames up to {TxFrameBytes - Packet.TPACKET3_DATA_OFFSET} bytes: set AfPacketOptions.TxFrameBytes to {(int)BitOperations.RoundUpToPowerOf2((uint)(longestFrame + Packet.TPACKET3_DATA_OFFSET))} or lower the MTU.");
            }

            if (pool is null)
            {
                int frameBytes = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2048, longestFrame + 256));
                pool = new PacketPool(new PacketPoolOptions { FrameCount = 4096, FrameBytes = frameBytes, HeadroomBytes = 256 });
                _ownsPool = true;
            }
            else if (pool.FrameBytes - pool.HeadroomBytes < longestFrame)
            {
                throw new DriverException(
                    $"The pool's frames hold {pool.FrameBytes - pool.HeadroomBytes} bytes after headroom, but '{options.InterfaceName}' (MTU {MtuBytes}) carries frames up to {longestFrame} bytes: use a pool with larger FrameBytes.");
            }
        }
        catch
        {
            if (ring != null)
            {
                Libc.Munmap(ring, ringBytes);
            }
            Libc.Close(_fd);
            throw;
        }

        _ring = ring;
        _ringBytes = ringBytes;
        Pool = pool;
        _rxRoomBytes = pool.FrameBytes - pool.HeadroomBytes;
        _txMaxFrameBytes = Math.Min(TxFrameBytes - Packet.TPACKET3_DATA_OFFSET, MtuBytes + EthernetHeaderBytes + VlanTagBytes);
        Capabilities = new DeviceCapabilities(MtuBytes: MtuBytes, MaxBurst: options.MaxBurst);
    }

    /// <summary>The options the device was opened with.</summary>
    public AfPacketOptions Options { get; }

    /// <inheritdoc/>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>
    /// Where received frames are copied to; transmit frames may come from here or any other pool (they are copied
    /// into the TX ring either way).
    /// </summary>
    public PacketPool Pool { get; }

    /// <summary>The bound interface's name.</summary>
    public string InterfaceName { get; }

    /// <summary>The bound interface's index (if_nametoindex).</summary>
    public int InterfaceIndex { get; }

    /// <summary>The interface's MTU when the device opened (SIOCGIFMTU).</summary>
    public int MtuBytes { get; }

    /// <summary>The interface's MAC address (SIOCGIFHWADDR), 6 bytes. A stack may use it or any other: veth passes frames for every address, a NIC only with <see cref="AfPacketOptions.Promiscuous"/>.</summary>
    public ReadOnlySpan<byte> HardwareAddress => _hardwareAddress;

    /// <summary>Size of one RX block.</summary>
    public int RxBlockBytes { get; }

    /// <summary>Number of RX blocks.</summary>
    public int RxBlockCount { get; }

    /// <summary>Size of one TX slot.</summary>
    public int TxFrameBytes { get; }

    /// <summary>Number of TX slots (the option rounded up to whole pages).</summary>
    public int TxFrameCount { get; }

    /// <summary>The socket, for an engine that waits on many devices with epoll (readable when a block is ready). Owned by the device.</summary>
    public int FileDescriptor => _fd;

    /// <summary>The socket: poll(2) reports it readable when the kernel retires a block (full, or after <see cref="AfPacketOptions.RetireTimeoutMillis"/>).</summary>
    int IWaitableDevice.ReceiveWaitDescriptor => _disposed ? -1 : _fd;

    /// <summary>A partly read block, or a retired one not yet opened.</summary>
    bool IWaitableDevice.HasBufferedReceive => !_disposed && (_rxRemaining > 0 || IsBlockReady(_rxBlockIndex));

    /// <summary>
    /// The kernel's counters (PACKET_STATISTICS, summed since the device opened) and the device's own. Makes one
    /// getsockopt(2) call; any thread. Counters written by the data path may lag by one burst.
    /// </summary>
    public AfPacketStatistics ReadStatistics()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_statisticsLock)
        {
            Packet.TPacketStatsV3 stats;
            int length = sizeof(Packet.TPacketStatsV3);
            if (Libc.GetSockOpt(_fd, Packet.SOL_PACKET, Packet.PACKET_STATISTICS, &stats, &length) != 0)
            {
                throw DriverException.FromLastError("getsockopt(PACKET_STATISTICS)", "The socket is no longer usable: reopen the device.");
            }
            // Each read returns the counts since the previous read and resets them (packet_getsockopt).
            _kernelPackets += stats.Packets;
            _kernelDrops += stats.Drops;
            _kernelFreezes += stats.FreezeQueueCount;
            return new AfPacketStatistics(
                _kernelPackets,
                _kernelDrops,
                _kernelFreezes,
                Volatile.Read(ref _rxFrames),
                Volatile.Read(ref _rxBytes),
                Volatile.Read(ref _rxDropped),
                Volatile.Read(ref _rxNoBuffer),
                Volatile.Read(ref _txFrames),
                Volatile.Read(ref _txBytes),
                Volatile.Read(ref _txDropped),
                Volatile.Read(ref _txRingFull),
                Volatile.Read(ref _txKicks),
                Volatile.Read(ref _txKickErrors));
        }
    }

    /// <summary>
    /// Blocks until a frame may be ready to receive or <paramref name="timeoutMillis"/> passes (-1: no limit); true
    /// when ready. Returns at once when the device still holds a partly read block. For an idle engine loop.
    /// </summary>
    public bool Wait(int timeoutMillis)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_rxRemaining > 0 || IsBlockReady(_rxBlockIndex))
        {
            return true;
        }
        Libc.PollFd fd = new() { Fd = _fd, Events = Libc.POLLIN };
        int n = Libc.Poll(&fd, 1, timeoutMillis);
        return n > 0 || IsBlockReady(_rxBlockIndex);
    }

    /// <summary>
    /// Unmaps the rings and closes the socket (leaving the fanout group), and disposes the pool if the device made it.
    /// Frames already received stay valid only if the pool was the caller's. Not thread-safe with the data path.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Libc.Munmap(_ring, _ringBytes);
        Libc.Close(_fd);
        if (_ownsPool)
        {
            Pool.Dispose();
        }
    }

    /// <summary>The interface and ring geometry, e.g. "af_packet:eth0 (TPACKET_V3, 16x262144 B rx, 1024x2048 B tx)", for banners and logs.</summary>
    public override string ToString() => $"af_packet:{InterfaceName} (TPACKET_V3, {RxBlockCount}x{RxBlockBytes} B rx, {TxFrameCount}x{TxFrameBytes} B tx)";

    private static void Validate(AfPacketOptions o)
    {
        if (string.IsNullOrEmpty(o.InterfaceName) || Encoding.UTF8.GetByteCount(o.InterfaceName) > 15)
        {
            throw new ArgumentOutOfRangeException(nameof(o.InterfaceName), "AfPacketOptions.InterfaceName must name an interface (1 to 15 bytes).");
        }
        int page = Environment.SystemPageSize;
        if (!int.IsPow2(o.RxBlockBytes) || o.RxBlockBytes < page || o.RxBlockBytes > 4 << 20)
        {
            throw new ArgumentOutOfRangeException(nameof(o.RxBlockBytes), $"AfPacketOptions.RxBlockBytes ({o.RxBlockBytes}) must be a power of two from the page size ({page}) to 4 MiB.");
        }
        if (o.RxBlockCount < 2 || (long)o.RxBlockCount * o.RxBlockBytes > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(o.RxBlockCount), $"AfPacketOptions.RxBlockCount ({o.RxBlockCount}) must be at least 2 and keep the RX ring under 1 GiB.");
        }
        if (o.RxFrameBytes < 128 || o.RxFrameBytes % Packet.TPACKET_ALIGNMENT != 0 || o.RxFrameBytes > o.RxBlockBytes || o.RxBlockBytes % o.RxFrameBytes != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(o.RxFrameBytes), $"AfPacketOptions.RxFrameBytes ({o.RxFrameBytes}) must be a multiple of 16, at least 128, and divide RxBlockBytes ({o.RxBlockBytes}).");
        }
        if (o.RetireTimeoutMillis < 1 || o.RetireTimeoutMillis > 60_000)
        {
            throw new ArgumentOutOfRangeException(nameof(o.RetireTimeoutMillis), $"AfPacketOptions.RetireTimeoutMillis ({o.RetireTimeoutMillis}) must be from 1 to 60000.");
        }
        if (!int.IsPow2(o.TxFrameBytes) || o.TxFrameBytes < 256 || o.TxFrameBytes > 65536)
        {
            throw new ArgumentOutOfRangeException(nameof(o.TxFrameBytes), $"AfPacketOptions.TxFrameBytes ({o.TxFrameBytes}) must be a power of two from 256 to 65536.");
        }
        if (o.TxFrameCount < 1 || (long)o.TxFrameCount * o.TxFrameBytes > 1L << 30)
        {
            throw new ArgumentOutOfRangeException(nameof(o.TxFrameCount), $"AfPacketOptions.TxFrameCount ({o.TxFrameCount}) must be at least 1 and keep the TX ring under 1 GiB.");
        }
        if (o.MaxBurst < 1 || o.MaxBurst > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(o.MaxBurst), $"AfPacketOptions.MaxBurst ({o.MaxBurst}) must be from 1 to 1024.");
        }
        if (o.Filter is { Count: > 4096 })
        {
            throw new ArgumentOutOfRangeException(nameof(o.Filter), $"AfPacketOptions.Filter has {o.Filter.Count} instructions; the kernel takes at most 4096 (BPF_MAXINSNS).");
        }
        if (o.FanoutMode is AfPacketFanoutMode mode && !Enum.IsDefined(mode))
        {
            throw new ArgumentOutOfRangeException(nameof(o.FanoutMode), $"AfPacketOptions.FanoutMode ({(ushort)mode}) is not a known fanout mode.");
        }
    }

    private void SetInt(int level, int name, int value, string what, string advice)
    {
        if (Libc.SetSockOpt(_fd, level, name, &value, sizeof(int)) != 0)
        {
            throw DriverException.FromLastError(what, advice);
        }
    }

    private void SetRing(int name, Packet.TPacketReq3 request, string what, string advice)
    {
        if (Libc.SetSockOpt(_fd, Packet.SOL_PACKET, name, &request, sizeof(Packet.TPacketReq3)) != 0)
        {
            throw DriverException.FromLastError(what, advice);
        }
    }

    private void AttachFilter(IReadOnlyList<AfPacketFilterInstruction> filter)
    {
        // Once, at open: the kernel copies the program, so a stack buffer would do if it were small enough.
        Packet.SockFilter[] code = new Packet.SockFilter[filter.Count];
        for (int i = 0; i < code.Length; i++)
        {
            AfPacketFilterInstruction instruction = filter[i];
            code[i] = new Packet.SockFilter { Code = instruction.Code, JumpTrue = instruction.JumpTrue, JumpFalse = instruction.JumpFalse, K = instruction.K };
        }
        fixed (Packet.SockFilter* first = code)
        {
            Packet.SockFprog program = new() { Length = (ushort)code.Length, Filter = first };
            if (Libc.SetSockOpt(_fd, Packet.SOL_SOCKET, Packet.SO_ATTACH_FILTER, &program, sizeof(Packet.SockFprog)) != 0)
            {
                throw DriverException.FromLastError("Attaching the classic BPF filter (SO_ATTACH_FILTER)",
                    "The kernel rejected AfPacketOptions.Filter: check for a bad opcode, a jump out of range or a missing final return (tcpdump -d shows a valid program).");
            }
        }
    }

    private int ReadInterfaceInt(nuint request, string name)
    {
        Packet.IfReqInt ifr = default;
        WriteName(ifr.Name);
        if (Libc.Ioctl(_fd, request, &ifr) != 0)
        {
            throw DriverException.FromLastError($"ioctl({name}) on '{InterfaceName}'", "Check that the interface still exists (`ip link`).");
        }
        return ifr.Value;
    }

    private void ReadHardwareAddress()
    {
        Packet.IfReqHwAddr ifr = default;
        WriteName(ifr.Name);
        if (Libc.Ioctl(_fd, Packet.SIOCGIFHWADDR, &ifr) != 0)
        {
            throw DriverException.FromLastError($"ioctl(SIOCGIFHWADDR) on '{InterfaceName}'", "Check that the interface still exists (`ip link`).");
        }
        if (ifr.Family != Packet.ARPHRD_ETHER)
        {
            throw new DriverException($"Interface '{InterfaceName}' is not Ethernet (ARPHRD {ifr.Family}); Skiff's AF_PACKET driver carries Ethernet frames only: choose an Ethernet interface.");
        }
        new ReadOnlySpan<byte>(ifr.Data, 6).CopyTo(_hardwareAddress);
    }

    private void WriteName(byte* name)
    {
        // Validate() capped the name at 15 bytes, so the terminating zero of the zeroed struct stays.
        Encoding.UTF8.GetBytes(InterfaceName, new Span<byte>(name, 16));
    }

    private static ushort HostToNetwork(ushort value) => BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(value) : value;
}
