using System.Security.Cryptography;
using Skiff.Stack.Arp;
using Skiff.Stack.Internal;
using Skiff.Stack.Ipv4;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack;

/// <summary>
/// One network interface of the sans-I/O stack: Ethernet, ARP, IPv4 (routes, reassembly, fragmentation),
/// ICMP, UDP and TCP. The caller drives it: <see cref="Poll"/> does a bounded amount of work with the
/// device (receive bursts, timers, transmit), <see cref="PollAt"/> says when to come back. Nothing in it
/// reads a clock, starts a thread, makes a syscall or allocates per packet.
/// </summary>
/// <remarks>
/// The receive path follows the kernel's order (seed 004): L2 demux, then for IPv4 match the destination,
/// verify the header checksum, decide local delivery (Skiff does not forward), reassemble fragments,
/// strip the header and hand the payload to ICMP, UDP or TCP. Every drop is counted by cause in
/// <see cref="Counters"/>. Not thread-safe: one loop owns an interface.
/// </remarks>
public sealed partial class Interface : IPacketConsumer
{
    private const int EthernetHeaderBytes = 14;
    private const int Ipv4HeaderBytes = 20;

    private readonly InterfaceOptions _options;
    private readonly PacketPool _pool;
    private readonly PacketPool _largePool;
    private readonly Ipv4Cidr[] _addresses;
    private readonly PacketBuffer[] _rxBurst;
    private readonly DeviceTxFlusher _pollFlusher = new();
    private readonly TxBuffer _pollOutput; // the output of Poll(now, device); the engine gives its own through Receive/Transmit
    private TxBuffer _output;
    private readonly PacketBuffer[] _scratch; // ARP-resolved packets, unreachable packets
    private readonly ArpRequest[] _arpRequests = new ArpRequest[32];
    private readonly TcpRateLimiter _icmpErrorLimiter;
    private readonly EchoReply[] _echoReplies = new EchoReply[64];
    private int _echoHead;
    private int _echoCount;
    private Instant _now;
    private ushort _ipIdentification;
    private bool _announced;
    private PacketBuffer? _ingressFrame; // the frame Receive is running up the stack, and its window as received
    private int _ingressOffset;
    private int _ingressLength;

    /// <summary>Sees every frame the stack drops (live capture's drop point), or null. Loop thread only.</summary>
    public IDropTap? DropTap { get; set; }

    /// <summary>Builds an interface that allocates transmit frames from <paramref name="pool"/> (use the device's pool).</summary>
    public Interface(InterfaceOptions options, PacketPool pool)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pool);
        options.Validate();
        _options = options;
        _pool = pool;
        _largePool = new PacketPool(new PacketPoolOptions { FrameCount = Math.Max(1, options.LargeBufferCount), FrameBytes = 65536, HeadroomBytes = 256 });
        _addresses = options.Addresses.ToArray();
        _rxBurst = new PacketBuffer[options.RxBurst];
        _pollOutput = new TxBuffer(options.TxQueueFrames, new DeviceCapabilities(MtuBytes: options.MtuBytes), _pollFlusher);
        _output = _pollOutput;
        _scratch = new PacketBuffer[Math.Max(64, options.Arp.MaxPendingPerDestination * 4)];
        Routes = new RouteTable();
        foreach (Ipv4Cidr a in _addresses)
        {
            Routes.Add(new Route(new Ipv4Cidr(a.Network, a.PrefixLength), Ipv4Address.Any));
        }
        if (options.Gateway is Ipv4Address gw)
        {
            Routes.Add(new Route(new Ipv4Cidr(Ipv4Address.Any, 0), gw));
        }
        Arp = new ArpCache(options.Arp);
        Reassembler = new Ipv4Reassembler(options.Reassembly);
        UInt128 key = options.SecretKey ?? NewSecretKey();
        Tcp = new TcpLayer(options.Tcp, options.MtuBytes - 40, key);
        Udp = new UdpLayer(pool, _largePool, options.MaxUdpSockets, pool.HeadroomBytes);
        _icmpErrorLimiter = new TcpRateLimiter(options.IcmpErrorsPerSecond, Duration.FromSeconds(1));
        _ipIdentification = (ushort)(key >> 64);
        _v6 = CreateIpv6(options, key);
        if (_v6 is not null)
        {
            Tcp.LocalMssIpv6 = _v6.LinkMtu - Ipv6TcpOverhead;
        }
    }

    /// <summary>The IPv6 header and a TCP header without options: the IPv6 link MTU minus this is the MSS offered (RFC 8200, RFC 9293 3.7.1).</summary>
    private const int Ipv6TcpOverhead = 60;

    /// <summary>
    /// A fresh 128-bit secret from the operating system's cryptographic generator, for <see cref="InterfaceOptions.SecretKey"/>:
    /// ISNs (RFC 6528) and SYN cookies must not be predictable. Give every core of one host the same key.
    /// </summary>
    public static UInt128 NewSecretKey()
    {
        Span<byte> b = stackalloc byte[16];
        RandomNumberGenerator.Fill(b);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(b);
    }

    /// <summary>The interface's Ethernet address (<see cref="InterfaceOptions.Mac"/>): the source of every frame it sends, and a destination it accepts.</summary>
    public MacAddress Mac => _options.Mac;

    /// <summary>The options the interface was built with (burst sizes, queue bounds, addresses).</summary>
    public InterfaceOptions Options => _options;

    /// <summary>The interface's addresses.</summary>
    public IReadOnlyList<Ipv4Cidr> Addresses => _addresses;

    /// <summary>The first address (the source of packets whose route does not pick another).</summary>
    public Ipv4Address PrimaryAddress => _addresses[0].Address;

    /// <summary>Largest IP packet sent, in bytes (<see cref="InterfaceOptions.MtuBytes"/>); larger datagrams are fragmented. The TCP MSS offered is this minus 40.</summary>
    public int MtuBytes => _options.MtuBytes;

    /// <summary>The IPv4 routes: an on-link route per address's prefix and the default route via <see cref="InterfaceOptions.Gateway"/>, to which the owner may add. Loop thread only.</summary>
    public RouteTable Routes { get; }

    /// <summary>The ARP cache (RFC 826), bounded by <see cref="InterfaceOptions.Arp"/>; packets waiting for a resolution are queued in it.</summary>
    public ArpCache Arp { get; }

    /// <summary>The IPv4 fragment reassembler (RFC 791, RFC 815), bounded by <see cref="InterfaceOptions.Reassembly"/>.</summary>
    public Ipv4Reassembler Reassembler { get; }

    /// <summary>The TCP connections and listeners of this interface, bounded by <see cref="InterfaceOptions.Tcp"/>.</summary>
    public TcpLayer Tcp { get; }

    /// <summary>The UDP sockets of this interface, at most <see cref="InterfaceOptions.MaxUdpSockets"/>.</summary>
    public UdpLayer Udp { get; }

    /// <summary>Frame totals and drops by cause. Written by the loop only; other threads may read slightly stale values.</summary>
    public InterfaceCounters Counters { get; } = new();

    /// <summary>The pool transmit frames come from.</summary>
    public PacketPool Pool => _pool;

    /// <summary>Frames held by the interface's own large-datagram pool (reassembly, big UDP datagrams).</summary>
    public int LargeBuffersInUse => _largePool.InUse;

    /// <summary>
    /// One round of work over <paramref name="device"/>, for callers that drive the stack alone (tests, the demo): retry
    /// refused transmits, receive up to <see cref="InterfaceOptions.MaxRxBurstsPerPoll"/> bursts into
    /// <see cref="Receive"/>, run <see cref="Transmit"/>, and hand the output to the device. Returns true if anything
    /// was received or sent. The engine does not call this: it owns the burst loop and calls <see cref="Receive"/> and
    /// <see cref="Transmit"/> with the egress of its port, so that hooks and the egress stage sit between.
    /// </summary>
    public bool Poll(Instant now, IDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _pollFlusher.Begin(device, now);
        _pollOutput.Capabilities = device.Capabilities;
        long txBefore = Counters.TxFrames;
        bool activity = false;
        try
        {
            _pollFlusher.Flush(_pollOutput);
            for (int burst = 0; burst < _options.MaxRxBurstsPerPoll; burst++)
            {
                int n = device.ReceiveBurst(_rxBurst, now);
                if (n == 0)
                {
                    break;
                }
                activity = true;
                Receive(now, _rxBurst.AsSpan(0, n), _pollOutput);
                if (n < _rxBurst.Length)
                {
                    break;
                }
            }
            Transmit(now, _pollOutput);
            _pollFlusher.Flush(_pollOutput);
        }
        finally
        {
            _pollFlusher.End();
        }
        return activity || Counters.TxFrames != txBefore;
    }

    /// <summary>
    /// Ingress (smoltcp's poll_ingress): takes every frame of <paramref name="burst"/> (ownership passes; the span's
    /// slots are cleared) and runs each up the stack in the kernel's order. What the stack answers at once (ARP
    /// replies, ICMP echo replies, TCP acknowledgements, resets) goes to <paramref name="output"/>, the egress of the
    /// port the frames came from; when it is full even after its flusher ran, the answer is dropped and counted as
    /// <see cref="DropReason.TxQueueFull"/>. Frames for sockets stay queued in the sockets.
    /// </summary>
    public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _now = now;
        _output = output;
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer frame = burst[i];
            burst[i] = null!;
            Counters.RxFrames++;
            Counters.RxBytes += frame.Length;
            _ingressFrame = frame; // the drop tap shows a dropped frame's window as received
            _ingressOffset = frame.DataOffset;
            _ingressLength = frame.Length;
            Ingress(frame);
        }
        _ingressFrame = null;
    }

    /// <summary>
    /// Egress (smoltcp's poll_egress): announces the addresses once, fires due ARP, reassembly and TCP timers, and
    /// writes what UDP and TCP sockets owe into <paramref name="output"/>, as far as it has room (a full output is
    /// back-pressure: TCP keeps the data and sends it next time). Sans-I/O: never touches a device.
    /// </summary>
    public void Transmit(Instant now, TxBuffer output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _now = now;
        _output = output;
        ResetSmallQueues();
        if (!_announced)
        {
            _announced = true;
            if (_options.GratuitousArp)
            {
                foreach (Ipv4Cidr a in _addresses)
                {
                    SendArpRequest(a.Address, a.Address, MacAddress.Broadcast);
                }
            }
        }
        PollArp();
        PollIpv6();
        PollReassembly();
        Tcp.OnTimers(now);
        DispatchUdp();
        TcpEgress egress = new(this);
        Tcp.Dispatch(now, ref egress, _options.TxBudgetPerPoll);
    }

    /// <summary>
    /// When <see cref="Transmit"/> (or <see cref="Poll"/>) must next be called: <paramref name="now"/> if work is
    /// pending (output <see cref="Poll"/> still holds, sockets with data to send), else the earliest timer (TCP, ARP,
    /// reassembly), else <see cref="Instant.Never"/>. Frames held by an engine's egress are the engine's to report.
    /// </summary>
    public Instant PollAt(Instant now)
    {
        if (_pollOutput.Count > 0 || !_announced)
        {
            return now;
        }
        for (int i = 0; i < Udp.SocketCount; i++)
        {
            if (Udp.SocketAt(i).SendQueued > 0)
            {
                return now;
            }
        }
        // Sockets TCP small queues held back wait for the egress stage's next departure, which the engine wakes for.
        Instant at = Tcp.PollAt(now, pendingWaitsForEgress: HeldBackWaitForEgress);
        at = Instant.Min(at, Arp.PollAt());
        at = Instant.Min(at, Reassembler.PollAt());
        at = Instant.Min(at, Ipv6PollAt());
        return at < now ? now : at;
    }

    /// <summary>
    /// Sends an ICMP echo request (RFC 792) with <paramref name="dataLength"/> bytes of a fixed pattern;
    /// replies arrive through <see cref="TryReceiveEchoReply"/>. False when no buffer was free.
    /// </summary>
    public bool SendEchoRequest(Instant now, Ipv4Address destination, ushort identifier, ushort sequence, int dataLength)
    {
        if (dataLength < 0 || dataLength > 65507 - Icmpv4Packet.HeaderLength)
        {
            throw new ArgumentOutOfRangeException(nameof(dataLength), "An echo request carries 0 to 65499 data bytes.");
        }
        int length = Icmpv4Packet.HeaderLength + dataLength;
        if (!TryAllocateL4(length, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return false;
        }
        Span<byte> message = buffer.Data;
        for (int i = Icmpv4Packet.HeaderLength; i < message.Length; i++)
        {
            message[i] = (byte)(i - Icmpv4Packet.HeaderLength);
        }
        Icmpv4Repr.EchoRequest(identifier, sequence, dataLength).Emit(new Icmpv4Packet(message));
        _now = now;
        SendIpv4(buffer, SourceFor(destination), destination, IpProtocol.Icmp);
        return true;
    }

    /// <summary>An echo reply that arrived for us: who answered, the identifier and sequence, the data length, when.</summary>
    /// <param name="Source">The address that answered.</param>
    /// <param name="Identifier">The echo identifier (RFC 792), as in our request.</param>
    /// <param name="Sequence">The echo sequence number, as in our request.</param>
    /// <param name="DataLength">Bytes of echo data after the 8-byte ICMP header.</param>
    /// <param name="ReceivedAt">When the stack received it (the time passed to the poll).</param>
    public readonly record struct EchoReply(Ipv4Address Source, ushort Identifier, ushort Sequence, int DataLength, Instant ReceivedAt);

    /// <summary>Takes the oldest echo reply received (the queue keeps the last 64).</summary>
    public bool TryReceiveEchoReply(out EchoReply reply)
    {
        if (_echoCount == 0)
        {
            reply = default;
            return false;
        }
        reply = _echoReplies[_echoHead];
        _echoHead = (_echoHead + 1) % _echoReplies.Length;
        _echoCount--;
        return true;
    }

    /// <summary>True if <paramref name="address"/> is one of ours.</summary>
    public bool IsOurAddress(Ipv4Address address)
    {
        foreach (Ipv4Cidr a in _addresses)
        {
            if (a.Address == address)
            {
                return true;
            }
        }
        return false;
    }

    private bool IsBroadcastForUs(Ipv4Address address)
    {
        if (address.IsBroadcast)
        {
            return true;
        }
        foreach (Ipv4Cidr a in _addresses)
        {
            if (a.PrefixLength < 31 && a.BroadcastAddress == address)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The source address for packets to <paramref name="destination"/>: ours in the same subnet, else the primary.</summary>
    public Ipv4Address SourceFor(Ipv4Address destination)
    {
        foreach (Ipv4Cidr a in _addresses)
        {
            if (a.Contains(destination))
            {
                return a.Address;
            }
        }
        return PrimaryAddress;
    }

    /// <summary>Returns every buffer the interface holds (queues, ARP, reassembly) to its pool. For shutdown and tests.</summary>
    public void DropAllQueued()
    {
        _pollOutput.FreeAll();
        _v6?.Neighbors.Clear();
    }
}
