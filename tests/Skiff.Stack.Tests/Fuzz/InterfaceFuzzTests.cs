using System.Buffers.Binary;
using System.Diagnostics;
using Skiff.Devices;
using Skiff.Stack.Arp;
using Skiff.Stack.Ipv4;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;
using Xunit.Abstractions;

namespace Skiff.Stack.Tests.Fuzz;

/// <summary>
/// A hostile peer (TESTING.md, "Bounds a hostile peer must not break"): over a million valid and mutated frames addressed
/// to an <see cref="Interface"/> (ARP for its address, ICMP echo and errors, UDP to bound and closed ports, TCP SYNs to a
/// listener and segments of live connections, IPv4 fragments), with the clock moving so timers fire. Nothing may throw
/// out of Poll, every table stays within its bound, and once the sockets are closed and the timers have run out every
/// buffer is back in its pool. Seeded: SKIFF_FUZZ_SEED replays a run; failures print the seed and the frames.
/// </summary>
public class InterfaceFuzzTests(ITestOutputHelper output)
{
    private const long Frames = 2_000_000;

    [Fact]
    public void AMillionHostileFrames_NeverThrowOutOfPoll_StayWithinBounds_AndLeakNothing()
    {
        ulong seed = FuzzSeed.Read();
        long frames = FuzzSeed.Iterations(Frames);
        Stopwatch clock = Stopwatch.StartNew();
        using HostilePeer run = new(seed);
        run.Run(frames);
        output.WriteLine($"seed 0x{seed:x}: {run.Injected} frames in {clock.Elapsed.TotalSeconds:F1} s, {run.Polls} polls, simulated {(run.Now - HostilePeer.Start).TotalSeconds:F0} s");
        output.WriteLine(run.Summary());
        run.CloseEverythingAndRunOut();
        output.WriteLine(run.Summary());

        string context = $"SKIFF_FUZZ_SEED=0x{seed:x}. {run.Summary()}";
        Assert.True(run.Exceptions == 0, $"SKIFF_FUZZ_SEED=0x{seed:x}: {run.ExceptionReport()}");
        Assert.True(run.Injected >= frames, context);
        Assert.Equal(0, run.Stack.Tcp.ConnectionCount);
        Assert.Equal(0, run.Stack.Reassembler.InProgress);
        Assert.Equal(0, run.Stack.Reassembler.BufferedBytes);
        Assert.True(run.Pool.InUse == 0, $"{run.Pool.InUse} interface buffers never came back. {context}");
        Assert.True(run.PeerPool.InUse == 0, $"{run.PeerPool.InUse} received frames were never freed. {context}");
        Assert.True(run.Stack.LargeBuffersInUse == 0, $"{run.Stack.LargeBuffersInUse} large (reassembly) buffers never came back. {context}");

        // The mutations reached deep: drops by many distinct causes, and the valid frames did real work.
        (DropReason Reason, long Count)[] drops = [.. run.Stack.Counters.NonZeroDrops()];
        Assert.True(drops.Length >= 15, $"only {drops.Length} distinct drop causes: {string.Join(", ", drops)}. {context}");
        foreach (DropReason expected in new[] { DropReason.EthernetMalformed, DropReason.Ipv4Malformed, DropReason.Ipv4BadChecksum, DropReason.ArpMalformed,
            DropReason.TcpBadChecksum, DropReason.TcpMalformed, DropReason.UdpBadChecksum, DropReason.UdpNoSocket, DropReason.IcmpBadChecksum, DropReason.FragmentRefused })
        {
            Assert.True(run.Stack.Counters.Drops(expected) > 0, $"no frame was dropped as {expected}. {context}");
        }
        Assert.True(run.Stack.Counters.IcmpEchoRepliesSent > 1000, context);
        Assert.True(run.Stack.Counters.ArpRepliesSent > 1000, context);
        Assert.True(run.Stack.Counters.UdpDatagramsReceived > 1000, context);
        Assert.True(run.Stack.Counters.DatagramsReassembled > 100, context);
        Assert.True(run.Stack.Tcp.Counters.PassiveOpens > 100, context);
        Assert.True(run.Established > 100, $"only {run.Established} connections reached ESTABLISHED. {context}");
        Assert.True(run.TcpBytesReceived > 10_000, $"the application read only {run.TcpBytesReceived} TCP bytes. {context}");
    }
}

/// <summary>The peer: builds frames (valid, then usually mutated), injects them, answers what the interface sends, plays the application.</summary>
internal sealed class HostilePeer : IDisposable
{
    public static readonly Instant Start = Instant.FromMillis(1000);

    private static readonly MacAddress s_ourMac = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly Ipv4Address s_our = new(10, 0, 0, 1);
    private static readonly Ipv4Address s_subnetBroadcast = new(10, 0, 0, 255);
    private const ushort ListenPort = 80;
    private const ushort UdpPort = 7;
    private const ushort PeerServerPort = 8080;
    private const int Batch = 24;
    private const int PeerHosts = 24;
    private const int PeerSlots = 24;

    private readonly ulong _seed;
    private FuzzRng _rng;
    private readonly ManualClock _clock = new(Start);
    private readonly InMemoryDevice _device;
    private readonly InMemoryDevice _peer;
    private readonly InterfaceOptions _options;
    private readonly TcpListener _listener;
    private readonly UdpSocket _udp;
    private readonly List<SocketHandle> _sockets = [];
    private readonly PeerConnection[] _slots = new PeerConnection[PeerSlots];
    private readonly List<byte[]> _answers = []; // valid frames the peer owes (ARP replies, handshake ACKs, SYN-ACKs)
    private readonly PacketBuffer[] _burst = new PacketBuffer[32];
    private readonly byte[] _frame = new byte[2048];
    private readonly byte[] _mutated = new byte[2048];
    private readonly byte[] _appBuffer = new byte[65536];
    private readonly List<string> _lastBatch = [];
    private readonly HashSet<string> _exceptionKinds = [];
    private readonly List<string> _exceptionReports = [];
    private readonly List<(byte[] Fragment, int Order)> _fragments = [];
    private ushort _ipId = 1;

    public HostilePeer(ulong seed)
    {
        _seed = seed;
        _rng = new FuzzRng(seed);
        Pool = new PacketPool(4096);
        PeerPool = new PacketPool(8192);
        (_device, _peer) = InMemoryLink.CreatePair(Pool, PeerPool, 8192, new DeviceCapabilities(MtuBytes: 1500));
        _options = new InterfaceOptions
        {
            Mac = s_ourMac,
            Addresses = [new Ipv4Cidr(s_our, 24)],
            SecretKey = seed,
            Arp = new ArpCacheOptions { MaxEntries = 16, MaxPendingPerDestination = 4, ReachableTime = Duration.FromSeconds(5), StaleTime = Duration.FromSeconds(5), RequestInterval = Duration.FromMillis(500), MaxRequests = 3 },
            Reassembly = new Ipv4ReassemblerOptions { MaxDatagrams = 4, MaxBufferedBytes = 16 * 1024, MaxFragmentsPerDatagram = 16, Timeout = Duration.FromSeconds(2) },
            Tcp = new TcpLayerOptions { MaxConnections = 64, MaxTimeWait = 16, DefaultBacklog = 8, DefaultMaxHalfOpen = 8, ResetsPerSecond = 200 },
            MaxUdpSockets = 4,
            IcmpErrorsPerSecond = 200,
            LargeBufferCount = 4,
        };
        Stack = new Interface(_options, Pool);
        TcpConfig config = new()
        {
            SendBufferBytes = 16 * 1024, ReceiveBufferBytes = 16 * 1024, MaxReceiveSegments = 32, MaxOutOfOrderSegments = 8,
            InitialRto = Duration.FromMillis(300), MaxRto = Duration.FromSeconds(2), MaxRetransmissions = 4, MaxSynRetransmissions = 3,
            TimeWait = Duration.FromSeconds(2), KeepAlive = true, KeepAliveIdle = Duration.FromSeconds(20), KeepAliveInterval = Duration.FromSeconds(2), KeepAliveProbes = 2,
        };
        Config = config;
        _listener = Stack.Tcp.Listen(ListenPort, config: config);
        _udp = Stack.Udp.Bind(UdpPort, receiveQueueDatagrams: 16);
    }

    public PacketPool Pool { get; }

    public PacketPool PeerPool { get; }

    public Interface Stack { get; }

    public TcpConfig Config { get; }

    public Instant Now => _clock.Now;

    public long Injected { get; private set; }

    public long Polls { get; private set; }

    public long Established { get; private set; }

    public long TcpBytesReceived { get; private set; }

    public void Run(long frames)
    {
        while (Injected < frames)
        {
            _lastBatch.Clear();
            int n = 0;
            foreach (byte[] answer in _answers)
            {
                Inject(answer, answer.Length, ref n);
            }
            _answers.Clear();
            for (int i = 0; i < Batch; i++)
            {
                int length = BuildValid(_frame);
                if (length == 0)
                {
                    continue;
                }
                // Fragments are mutated less: a datagram completes only when all its pieces arrive intact.
                if (_rng.Chance(_building == FrameKind.Other ? 70 : 15))
                {
                    Seed seed = FrameFields.Describe("", _frame.AsSpan(0, length).ToArray());
                    length = Mutator.Mutate(ref _rng, seed, [seed], _mutated);
                    if (_rng.Chance(60))
                    {
                        FrameFields.FixChecksums(_mutated.AsSpan(0, length));
                    }
                    Inject(_mutated, length, ref n);
                }
                else
                {
                    Inject(_frame, length, ref n);
                }
            }
            int sent = _peer.TransmitBurst(_burst.AsSpan(0, n), _clock.Now);
            for (int i = sent; i < n; i++)
            {
                _burst[i].Free();
            }
            Poll();
            Listen();
            PlayApplication();
            CheckBounds();
            _clock.Advance(_rng.Chance(2) ? Duration.FromMillis(500 + _rng.Below(3000)) : Duration.FromMicros(100 + _rng.Below(20_000)));
        }
    }

    private void Inject(byte[] bytes, int length, ref int n)
    {
        if (s_avoidKnownBugs && TriggersKnownTcpBug(bytes.AsSpan(0, length)))
        {
            return;
        }
        if (length > Pool.FrameBytes - Pool.HeadroomBytes)
        {
            length = Pool.FrameBytes - Pool.HeadroomBytes;
        }
        if (n == _burst.Length)
        {
            int sent = _peer.TransmitBurst(_burst.AsSpan(0, n), _clock.Now);
            for (int i = sent; i < n; i++)
            {
                _burst[i].Free();
            }
            n = 0;
            Poll();
        }
        if (!PeerPool.TryAllocate(out PacketBuffer? buffer))
        {
            throw new InvalidOperationException($"The peer's pool is exhausted: the interface holds {PeerPool.InUse} received frames (SKIFF_FUZZ_SEED=0x{_seed:x}). {Summary()}\n{ExceptionReport()}");
        }
        buffer.TrySetLength(length);
        bytes.AsSpan(0, length).CopyTo(buffer.Data);
        _burst[n++] = buffer;
        Injected++;
        if (_lastBatch.Count < 64)
        {
            _lastBatch.Add(Convert.ToHexString(bytes, 0, length));
        }
    }

    private void Poll()
    {
        try
        {
            Stack.Poll(_clock.Now, _device);
            Polls++;
        }
        catch (Exception e)
        {
            // Keep going to find more, but remember the first frames that caused each kind of exception.
            Exceptions++;
            string site = e.StackTrace?.Split('\n').FirstOrDefault(l => l.Contains("Skiff.", StringComparison.Ordinal))?.Trim() ?? "";
            string kind = $"{e.GetType().Name} {site}";
            if (_exceptionKinds.Add(kind) && _exceptionReports.Count < 6)
            {
                _exceptionReports.Add($"{e.GetType().Name}: {e.Message}\n  after {Injected} frames at {_clock.Now}; {string.Join("\n  ", e.ToString().Split('\n').Skip(1).Take(6).Select(l => l.Trim()))}\n" +
                    $"  frames of that batch (the run is deterministic: the same seed replays it):\n    {string.Join("\n    ", _lastBatch)}");
            }
        }
    }

    public long Exceptions { get; private set; }

    public string ExceptionReport() => $"{Exceptions} exceptions escaped Poll, {_exceptionKinds.Count} distinct:\n{string.Join("\n", _exceptionReports)}";

    private void CheckBounds()
    {
        string where = $"after {Injected} frames (SKIFF_FUZZ_SEED=0x{_seed:x})";
        Assert.True(Stack.Tcp.ConnectionCount - Stack.Tcp.TimeWaitCount <= _options.Tcp.MaxConnections, $"{Stack.Tcp.ConnectionCount - Stack.Tcp.TimeWaitCount} TCP connections out of TIME-WAIT {where}");
        Assert.True(Stack.Tcp.TimeWaitCount <= _options.Tcp.MaxTimeWait, $"{Stack.Tcp.TimeWaitCount} TCP connections in TIME-WAIT {where}");
        Assert.True(Stack.Reassembler.InProgress <= _options.Reassembly.MaxDatagrams, $"{Stack.Reassembler.InProgress} datagrams in reassembly {where}");
        Assert.True(Stack.Reassembler.BufferedBytes <= _options.Reassembly.MaxBufferedBytes, $"{Stack.Reassembler.BufferedBytes} bytes in reassembly {where}");
        Assert.True(Stack.Arp.Count <= _options.Arp.MaxEntries, $"{Stack.Arp.Count} ARP entries {where}");
        Assert.True(_udp.ReceiveQueued <= 16, $"{_udp.ReceiveQueued} datagrams queued on a 16-deep socket {where}");
        Assert.True(_listener.HalfOpen <= _listener.MaxHalfOpen && _listener.Pending <= _listener.Backlog, $"listener {_listener} over its bounds {where}");
    }

    // SKIFF_FUZZ_AVOID_KNOWN=1 (exploration only) leaves out frames that trigger bugs already reported, to look past them.
    private static readonly bool s_avoidKnownBugs = Environment.GetEnvironmentVariable("SKIFF_FUZZ_AVOID_KNOWN") == "1";

    private static bool TriggersKnownTcpBug(Span<byte> frame)
    {
        if (EthernetFrame.TryCreate(frame, out EthernetFrame eth) != WireError.Ok || EthernetRepr.TryParse(eth, out EthernetRepr e) != WireError.Ok
            || e.EtherType != EtherType.Ipv4 || Ipv4Packet.TryCreate(frame[e.HeaderLength..], out Ipv4Packet ip) != WireError.Ok
            || Ipv4Repr.TryParse(ip, false, out Ipv4Repr r) != WireError.Ok || r.Protocol != IpProtocol.Tcp || r.IsFragment
            || TcpSegment.TryCreate(ip.Payload, out TcpSegment seg) != WireError.Ok || TcpRepr.TryParse(seg, 0, false, out TcpRepr t) != WireError.Ok)
        {
            return false;
        }
        // 1. A SYN with window scale above 14 while the listener answers with SYN cookies: SynCookies.EncodeTimestamp throws.
        return (t.Flags & TcpFlags.Syn) != 0 && t.WindowScale > 14;
    }

    // ---- what the interface sent: ARP requests to answer, TCP segments that move the peer's connections on ----

    private void Listen()
    {
        int n;
        while ((n = _peer.ReceiveBurst(_burst, _clock.Now)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                Observe(_burst[i].Data);
                _burst[i].Free();
                _burst[i] = null!;
            }
        }
    }

    private void Observe(Span<byte> frame)
    {
        if (EthernetFrame.TryCreate(frame, out EthernetFrame eth) != WireError.Ok || EthernetRepr.TryParse(eth, out EthernetRepr e) != WireError.Ok)
        {
            return;
        }
        Span<byte> l3 = frame[e.HeaderLength..];
        if (e.EtherType == EtherType.Arp)
        {
            if (ArpPacket.TryCreate(l3, out ArpPacket arp) == WireError.Ok && ArpRepr.TryParse(arp, out ArpRepr a) == WireError.Ok
                && a.Operation == ArpOperation.Request && IsPeerHost(a.TargetProtocolAddress) && _rng.Chance(90))
            {
                _answers.Add(Ethernet(EtherType.Arp, Arp(new ArpRepr(ArpOperation.Reply, PeerMac(a.TargetProtocolAddress), a.TargetProtocolAddress, s_ourMac, s_our)), PeerMac(a.TargetProtocolAddress)));
            }
            return;
        }
        if (e.EtherType != EtherType.Ipv4 || Ipv4Packet.TryCreate(l3, out Ipv4Packet ip) != WireError.Ok
            || Ipv4Repr.TryParse(ip, verifyChecksum: true, out Ipv4Repr ipRepr) != WireError.Ok || ipRepr.Protocol != IpProtocol.Tcp || ipRepr.IsFragment)
        {
            return;
        }
        if (TcpSegment.TryCreate(ip.Payload, out TcpSegment segment) != WireError.Ok
            || TcpRepr.TryParse(segment, Checksum.PseudoHeader(ipRepr.Source, ipRepr.Destination, IpProtocol.Tcp, ip.Payload.Length), true, out TcpRepr seg) != WireError.Ok)
        {
            throw new InvalidOperationException($"The interface sent a TCP segment that does not parse: {Convert.ToHexString(frame)} (SKIFF_FUZZ_SEED=0x{_seed:x})");
        }
        ref PeerConnection c = ref FindSlot(ipRepr.Destination, seg.DestinationPort, seg.SourcePort, out bool found);
        if (!found)
        {
            // A SYN from the interface's own Connect to the peer's server port: answer SYN-ACK and adopt the connection.
            if (seg.Flags == TcpFlags.Syn && seg.DestinationPort == PeerServerPort && FreeSlot() is int free)
            {
                _slots[free] = new PeerConnection
                {
                    State = PeerState.Established, Host = ipRepr.Destination, PeerPort = PeerServerPort, OurPort = seg.SourcePort,
                    Next = (uint)_rng.Next() + 1, Acked = seg.SequenceNumber + 1,
                };
                PeerConnection adopted = _slots[free];
                _answers.Add(Tcp4(adopted.Host, new TcpRepr
                {
                    SourcePort = PeerServerPort, DestinationPort = seg.SourcePort, SequenceNumber = adopted.Next - 1, AcknowledgmentNumber = adopted.Acked,
                    Flags = TcpFlags.Syn | TcpFlags.Ack, WindowLength = 65535, MaxSegmentSize = 1460, SackPermitted = true, WindowScale = 2,
                }, []));
            }
            return;
        }
        if ((seg.Flags & TcpFlags.Rst) != 0)
        {
            c = default;
            return;
        }
        if ((seg.Flags & TcpFlags.Syn) != 0 && (seg.Flags & TcpFlags.Ack) != 0 && c.State == PeerState.SynSent)
        {
            c.Acked = seg.SequenceNumber + 1;
            c.Next = seg.AcknowledgmentNumber;
            c.State = PeerState.Established;
            Established++;
            _answers.Add(Tcp4(c.Host, new TcpRepr { SourcePort = c.PeerPort, DestinationPort = c.OurPort, SequenceNumber = c.Next, AcknowledgmentNumber = c.Acked, Flags = TcpFlags.Ack, WindowLength = 65535 }, []));
            return;
        }
        if (c.State == PeerState.Established)
        {
            // Follow the interface: what it acknowledged is where the peer's stream goes on; its data is acknowledged.
            if ((seg.Flags & TcpFlags.Ack) != 0)
            {
                c.Next = seg.AcknowledgmentNumber;
            }
            uint end = seg.SequenceNumber + (uint)seg.PayloadLength + ((seg.Flags & TcpFlags.Fin) != 0 ? 1u : 0u);
            if ((int)(end - c.Acked) > 0)
            {
                c.Acked = end;
            }
        }
    }

    // ---- the application: accepts, reads, writes, closes ----

    private void PlayApplication()
    {
        while (Stack.Tcp.TryAccept(_listener, out SocketHandle h))
        {
            _sockets.Add(h);
        }
        for (int i = _sockets.Count - 1; i >= 0; i--)
        {
            if (!Stack.Tcp.TryGet(_sockets[i], out TcpSocket? s))
            {
                _sockets.RemoveAt(i);
                continue;
            }
            TcpBytesReceived += s.Receive(_appBuffer.AsSpan(0, 1 + _rng.Below(_appBuffer.Length - 1)));
            if (s.CanSend && _rng.Chance(10))
            {
                s.Send(_appBuffer.AsSpan(0, _rng.Below(3000)));
            }
            if (_rng.Chance(3) || s.State == TcpState.Closed || s.IsReceiveFinished && _rng.Chance(30))
            {
                if (_rng.Chance(20))
                {
                    s.Abort();
                }
                Stack.Tcp.Release(_sockets[i]);
                _sockets.RemoveAt(i);
            }
        }
        if (_rng.Chance(1) && _sockets.Count < 8)
        {
            Ipv4Address host = PeerHost(_rng.Below(4));
            try
            {
                _sockets.Add(Stack.Tcp.Connect(_clock.Now, s_our, host, PeerServerPort, Config));
            }
            catch (InvalidOperationException)
            {
                // Every socket in use: the bound holds, which is what this run checks.
            }
        }
        while (_udp.TryReceive(out PacketBuffer? datagram, out UdpEndpoint from))
        {
            if (_rng.Chance(20) && from.Port != 0 && _udp.CanSend)
            {
                _udp.TrySend(datagram.Data[..Math.Min(datagram.Length, 1400)], from);
            }
            datagram.Free();
            if (_rng.Chance(30))
            {
                break; // leave some queued, so the queue bound is exercised
            }
        }
    }

    /// <summary>Closes every socket, lets all timers run out with a silent peer, then drains the link and the queues.</summary>
    public void CloseEverythingAndRunOut()
    {
        foreach (SocketHandle h in _sockets)
        {
            Stack.Tcp.Release(h);
        }
        _sockets.Clear();
        Stack.Tcp.CloseListener(_listener);
        _udp.Close();
        _answers.Clear();
        for (int i = 0; i < 100_000; i++)
        {
            Poll();
            _peer.DiscardPending();
            if (Stack.Tcp.ConnectionCount == 0 && Stack.Reassembler.InProgress == 0 && Stack.PollAt(_clock.Now) == Instant.Never)
            {
                break;
            }
            Instant next = Stack.PollAt(_clock.Now);
            _clock.AdvanceTo(next == Instant.Never || next > _clock.Now + Duration.FromSeconds(5) ? _clock.Now + Duration.FromSeconds(5) : next <= _clock.Now ? _clock.Now + Duration.FromMillis(1) : next);
        }
        _clock.Advance(Duration.FromSeconds(600));
        Poll();
        _device.DiscardPending();
        _peer.DiscardPending();
        Stack.DropAllQueued();
    }

    public string Summary() =>
        $"tcp {Stack.Tcp.ConnectionCount} connections ({Stack.Tcp.Counters.PassiveOpens} passive, {Stack.Tcp.Counters.ActiveOpens} active opens, {Stack.Tcp.Counters.NoFreeSocket} refused), " +
        $"listener {_listener}, reassembly {Stack.Reassembler.InProgress} in progress / {Stack.Reassembler.Reassembled} done, arp {Stack.Arp.Count}, " +
        $"pools {Pool.InUse}/{PeerPool.InUse}/{Stack.LargeBuffersInUse} in use; drops: {string.Join(", ", Stack.Counters.NonZeroDrops().Select(d => $"{d.Reason} {d.Count}"))}";

    public void Dispose()
    {
        _device.DiscardPending();
        _peer.DiscardPending();
    }

    // ---- valid frames ----

    private enum FrameKind : byte
    {
        Other,
        Fragment,
        Handshake,
    }

    private FrameKind _building;

    private int BuildValid(byte[] into)
    {
        _building = FrameKind.Other;
        byte[] frame = _rng.Below(100) switch
        {
            < 6 => ArpRequestForUs(),
            < 8 => ArpFromAnywhere(),
            < 16 => EchoRequest(),
            < 19 => IcmpErrorAboutOurTcp(),
            < 27 => UdpDatagram(),
            < 37 => NextFragment(),
            < 45 => TcpSyn(),
            < 80 => TcpForConnection(),
            < 84 => TcpToClosedPort(),
            < 87 => UnknownProtocol(),
            < 90 => WithIpOptions(),
            < 93 => VlanTagged(),
            < 95 => Ipv6Frame(),
            _ => TcpCookieAck(),
        };
        frame.CopyTo(into, 0);
        return frame.Length;
    }

    private Ipv4Address PeerHost(int index) => new(10, 0, 0, (byte)(2 + index));

    private static bool IsPeerHost(Ipv4Address address) => (address.Value & 0xFFFF_FF00) == 0x0A00_0000 && (address.Value & 0xFF) is >= 2 and < 2 + PeerHosts;

    private static MacAddress PeerMac(Ipv4Address host) => new(0x0200_0000_0100UL | (host.Value & 0xFF));

    private Ipv4Address AnyPeer() => PeerHost(_rng.Below(PeerHosts));

    private byte[] ArpRequestForUs()
    {
        Ipv4Address host = AnyPeer();
        return Ethernet(EtherType.Arp, Arp(new ArpRepr(ArpOperation.Request, PeerMac(host), host, MacAddress.Zero, s_our)), PeerMac(host), MacAddress.Broadcast);
    }

    private byte[] ArpFromAnywhere()
    {
        // Gratuitous ARP, replies nobody asked for, conflicts with our own address, requests for other hosts.
        Ipv4Address sender = _rng.Below(4) switch { 0 => s_our, 1 => new Ipv4Address((uint)_rng.Next()), _ => AnyPeer() };
        Ipv4Address target = _rng.Chance(50) ? s_our : AnyPeer();
        ArpOperation op = _rng.Chance(50) ? ArpOperation.Reply : ArpOperation.Request;
        return Ethernet(EtherType.Arp, Arp(new ArpRepr(op, PeerMac(sender), sender, s_ourMac, target)), PeerMac(sender), _rng.Chance(50) ? MacAddress.Broadcast : s_ourMac);
    }

    private byte[] EchoRequest()
    {
        int data = _rng.Chance(90) ? _rng.Below(200) : _rng.Below(1472);
        Icmpv4Repr echo = Icmpv4Repr.EchoRequest((ushort)_rng.Next(), (ushort)_rng.Next(), data);
        byte[] icmp = new byte[echo.BufferLength];
        Fill(icmp.AsSpan(8));
        echo.Emit(new Icmpv4Packet(icmp));
        return Ipv4(AnyPeer(), _rng.Chance(95) ? s_our : s_subnetBroadcast, IpProtocol.Icmp, icmp);
    }

    private byte[] IcmpErrorAboutOurTcp()
    {
        // Quotes a segment the interface could have sent on one of the peer's connections (RFC 5927 checks apply).
        PeerConnection c = _slots[_rng.Below(PeerSlots)];
        Ipv4Address host = c.State == PeerState.None ? AnyPeer() : c.Host;
        byte[] quotedL4 = new byte[8];
        BinaryPrimitives.WriteUInt16BigEndian(quotedL4, c.State == PeerState.None ? ListenPort : c.OurPort);
        BinaryPrimitives.WriteUInt16BigEndian(quotedL4.AsSpan(2), c.State == PeerState.None ? (ushort)40000 : c.PeerPort);
        BinaryPrimitives.WriteUInt32BigEndian(quotedL4.AsSpan(4), c.Acked + (uint)_rng.Below(3) - 1);
        byte[] quoted = Ipv4Header(s_our, host, IpProtocol.Tcp, quotedL4, 40);
        var code = (Icmpv4DestinationUnreachableCode)_rng.Below(5);
        Icmpv4Repr error = _rng.Chance(80)
            ? Icmpv4Repr.DestinationUnreachable(code, quoted.Length, 1200)
            : Icmpv4Repr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceeded, quoted.Length);
        byte[] icmp = new byte[error.BufferLength];
        quoted.CopyTo(icmp, 8);
        error.Emit(new Icmpv4Packet(icmp));
        return Ipv4(host, s_our, IpProtocol.Icmp, icmp);
    }

    private byte[] UdpDatagram()
    {
        ushort port = _rng.Below(4) switch { 0 => 9999, 1 => (ushort)_rng.Next(), _ => UdpPort };
        Ipv4Address destination = _rng.Below(20) switch { 0 => s_subnetBroadcast, 1 => Ipv4Address.Broadcast, _ => s_our };
        return Ipv4(AnyPeer(), destination, IpProtocol.Udp, Udp(AnyPeer(), destination, (ushort)(1024 + _rng.Below(100)), port, _rng.Below(300)));
    }

    private byte[] NextFragment()
    {
        // A UDP or ICMP datagram cut in 8-byte-aligned pieces, delivered shuffled, sometimes with duplicates or gaps.
        _building = FrameKind.Fragment;
        if (_fragments.Count == 0)
        {
            Ipv4Address source = AnyPeer();
            int size = _rng.Chance(70) ? 100 + _rng.Below(1500) : 1500 + _rng.Below(4000);
            byte[] l4;
            IpProtocol protocol;
            if (_rng.Chance(70))
            {
                l4 = Udp(source, s_our, 5000, _rng.Chance(80) ? UdpPort : (ushort)9999, size);
                protocol = IpProtocol.Udp;
            }
            else
            {
                Icmpv4Repr echo = Icmpv4Repr.EchoRequest(1, 1, size);
                l4 = new byte[echo.BufferLength];
                Fill(l4.AsSpan(8));
                echo.Emit(new Icmpv4Packet(l4));
                protocol = IpProtocol.Icmp;
            }
            int chunk = 8 * (_rng.Chance(20) ? 1 + _rng.Below(20) : 20 + _rng.Below(165));
            ushort id = _ipId++;
            for (int offset = 0; offset < l4.Length; offset += chunk)
            {
                int length = Math.Min(chunk, l4.Length - offset);
                bool more = offset + length < l4.Length;
                Ipv4Repr ip = new(source, s_our, protocol, length, 64) { Identification = id, FragmentOffset = offset, MoreFragments = more };
                byte[] packet = new byte[20 + length];
                ip.Emit(new Ipv4Packet(packet));
                l4.AsSpan(offset, length).CopyTo(packet.AsSpan(20));
                byte[] frame = Ethernet(EtherType.Ipv4, packet, PeerMac(source));
                if (!_rng.Chance(3))
                {
                    _fragments.Add((frame, _rng.Below(1000)));
                }
                if (_rng.Chance(5))
                {
                    _fragments.Add((frame, _rng.Below(1000)));
                }
            }
            _fragments.Sort((a, b) => a.Order.CompareTo(b.Order));
            if (_fragments.Count == 0)
            {
                return UdpDatagram();
            }
        }
        byte[] next = _fragments[^1].Fragment;
        _fragments.RemoveAt(_fragments.Count - 1);
        return next;
    }

    private byte[] TcpSyn()
    {
        if (FreeSlot() is int free && _rng.Chance(80))
        {
            Ipv4Address host = AnyPeer();
            _building = FrameKind.Handshake;
            _slots[free] = new PeerConnection { State = PeerState.SynSent, Host = host, PeerPort = (ushort)(20000 + _rng.Below(40000)), OurPort = ListenPort, Next = (uint)_rng.Next(), Since = _clock.Now };
            PeerConnection c = _slots[free];
            c.Next++;
            _slots[free].Next = c.Next;
            return Tcp4(host, SynRepr(c.PeerPort, c.Next - 1), []);
        }
        // A SYN flood from addresses the peer forgets at once: half-open bound, then SYN cookies.
        return Tcp4(AnyPeer(), SynRepr((ushort)(1024 + _rng.Below(60000)), (uint)_rng.Next()), []);
    }

    private TcpRepr SynRepr(ushort port, uint seq) => new()
    {
        SourcePort = port, DestinationPort = ListenPort, SequenceNumber = seq, Flags = TcpFlags.Syn, WindowLength = 65535,
        MaxSegmentSize = _rng.Chance(90) ? (ushort)(_rng.Chance(80) ? 1460 : _rng.Below(2000)) : null,
        WindowScale = _rng.Chance(70) ? (byte)_rng.Below(16) : null,
        SackPermitted = _rng.Chance(70),
        Timestamp = _rng.Chance(70) ? new TcpTimestamp((uint)_rng.Next(), 0) : null,
    };

    private byte[] TcpForConnection()
    {
        int start = _rng.Below(PeerSlots);
        for (int k = 0; k < PeerSlots; k++)
        {
            ref PeerConnection c = ref _slots[(start + k) % PeerSlots];
            if (c.State != PeerState.Established)
            {
                continue;
            }
            int kind = _rng.Below(100);
            int payload = kind < 75 ? _rng.Below(1400) : 0;
            uint seq = c.Next;
            if (kind is >= 60 and < 70)
            {
                seq += (uint)(1 + _rng.Below(4000)); // out of order: a hole before it
            }
            TcpFlags flags = TcpFlags.Ack | (payload > 0 ? TcpFlags.Psh : 0);
            if (kind >= 94)
            {
                flags |= TcpFlags.Fin;
            }
            else if (kind >= 91)
            {
                flags = TcpFlags.Rst | (_rng.Chance(50) ? TcpFlags.Ack : 0);
                seq += (uint)_rng.Below(3);
            }
            TcpSackBlocks sacks = default;
            if (_rng.Chance(20))
            {
                sacks.TryAdd(c.Acked - 3000 + (uint)_rng.Below(6000), c.Acked + (uint)_rng.Below(6000));
            }
            TcpRepr seg = new()
            {
                SourcePort = c.PeerPort, DestinationPort = c.OurPort, SequenceNumber = seq, AcknowledgmentNumber = c.Acked - (uint)(_rng.Chance(10) ? _rng.Below(2000) : 0),
                Flags = flags, WindowLength = (ushort)(_rng.Chance(5) ? 0 : 65535), SackBlocks = sacks, PayloadLength = payload,
                Timestamp = _rng.Chance(50) ? new TcpTimestamp((uint)_clock.Now.TotalMillis, 0) : null,
            };
            byte[] data = new byte[payload];
            Fill(data);
            if ((flags & (TcpFlags.Fin | TcpFlags.Rst)) != 0)
            {
                c = default; // the peer forgets it; the interface has to clean up (TIME-WAIT, LAST-ACK retries)
            }
            return Tcp4(_slots[(start + k) % PeerSlots].Host == default ? AnyPeer() : _slots[(start + k) % PeerSlots].Host, seg, data);
        }
        return TcpSyn();
    }

    private byte[] TcpToClosedPort() =>
        Tcp4(AnyPeer(), new TcpRepr { SourcePort = 5555, DestinationPort = (ushort)(_rng.Chance(50) ? 81 : _rng.Next()), SequenceNumber = (uint)_rng.Next(),
            AcknowledgmentNumber = (uint)_rng.Next(), Flags = (TcpFlags)(_rng.Byte() & 0x1f) is var f && (f & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) is TcpFlags.Syn or TcpFlags.Fin or TcpFlags.Rst or 0 ? f : TcpFlags.Ack, WindowLength = 1000 }, []);

    private byte[] TcpCookieAck() =>
        // A bare ACK to the listener from nowhere: a (wrong) SYN-cookie answer.
        Tcp4(AnyPeer(), new TcpRepr { SourcePort = (ushort)(1024 + _rng.Below(60000)), DestinationPort = ListenPort, SequenceNumber = (uint)_rng.Next(), AcknowledgmentNumber = (uint)_rng.Next(), Flags = TcpFlags.Ack, WindowLength = 1000 }, []);

    private byte[] UnknownProtocol() => Ipv4(AnyPeer(), s_our, (IpProtocol)(_rng.Chance(50) ? 47 : _rng.Byte()), [1, 2, 3, 4, 5, 6, 7, 8]);

    private byte[] WithIpOptions()
    {
        // NOP, record route with room for two addresses, EOL padding: options the stack must skip.
        byte[] options = [1, 7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0];
        byte[] l4 = Udp(AnyPeer(), s_our, 1000, UdpPort, 20);
        Ipv4Address source = AnyPeer();
        Ipv4Repr ip = new(source, s_our, IpProtocol.Udp, l4.Length, 64) { OptionsLength = options.Length, Identification = _ipId++ };
        byte[] packet = new byte[ip.HeaderLength + l4.Length];
        options.CopyTo(packet, 20);
        ip.Emit(new Ipv4Packet(packet));
        l4.CopyTo(packet, ip.HeaderLength);
        byte[] frame = Ethernet(EtherType.Ipv4, packet, PeerMac(source));
        FrameFields.FixChecksums(frame);
        return frame;
    }

    private byte[] VlanTagged()
    {
        byte[] inner = EchoRequest();
        byte[] frame = new byte[inner.Length + 4];
        inner.AsSpan(0, 12).CopyTo(frame);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x8100);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), (ushort)(_rng.Chance(50) ? 0 : 1 + _rng.Below(4094)));
        inner.AsSpan(12).CopyTo(frame.AsSpan(16));
        return frame;
    }

    private byte[] Ipv6Frame()
    {
        byte[] packet = new byte[48];
        new Ipv6Repr(Ipv6Address.Parse("fe80::1"), Ipv6Address.AllNodes, IpProtocol.Icmpv6, 8, 255).Emit(new Ipv6Packet(packet));
        Icmpv6Repr.EchoRequest(1, 1, 0).Emit(new Icmpv6Packet(packet.AsSpan(40)), Ipv6Address.Parse("fe80::1"), Ipv6Address.AllNodes);
        return Ethernet(EtherType.Ipv6, packet, PeerMac(AnyPeer()));
    }

    private int? FreeSlot()
    {
        for (int i = 0; i < PeerSlots; i++)
        {
            // A handshake that got nowhere in a second (its SYN was mangled, or refused) is given up.
            if (_slots[i].State == PeerState.None || _slots[i].State == PeerState.SynSent && _clock.Now - _slots[i].Since > Duration.FromSeconds(1))
            {
                return i;
            }
        }
        return null;
    }

    private ref PeerConnection FindSlot(Ipv4Address host, ushort peerPort, ushort ourPort, out bool found)
    {
        for (int i = 0; i < PeerSlots; i++)
        {
            ref PeerConnection c = ref _slots[i];
            if (c.State != PeerState.None && c.Host == host && c.PeerPort == peerPort && c.OurPort == ourPort)
            {
                found = true;
                return ref c;
            }
        }
        found = false;
        return ref _slots[0];
    }

    // ---- encoders ----

    private void Fill(Span<byte> data)
    {
        byte b = _rng.Byte();
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(b + i);
        }
    }

    private byte[] Tcp4(Ipv4Address source, TcpRepr repr, ReadOnlySpan<byte> payload)
    {
        byte[] l4 = new byte[repr.HeaderLength + payload.Length];
        payload.CopyTo(l4.AsSpan(repr.HeaderLength));
        (repr with { PayloadLength = payload.Length }).Emit(new TcpSegment(l4), Checksum.PseudoHeader(source, s_our, IpProtocol.Tcp, l4.Length), fillChecksum: true);
        return Ipv4(source, s_our, IpProtocol.Tcp, l4);
    }

    private static byte[] Udp(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort port, int payload)
    {
        UdpRepr repr = new() { SourcePort = sourcePort, DestinationPort = port, PayloadLength = payload };
        byte[] l4 = new byte[8 + payload];
        for (int i = 8; i < l4.Length; i++)
        {
            l4[i] = (byte)i;
        }
        repr.Emit(new UdpPacket(l4), Checksum.PseudoHeader(source, destination, IpProtocol.Udp, l4.Length), fillChecksum: true);
        return l4;
    }

    private byte[] Ipv4(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, byte[] l4) =>
        Ethernet(EtherType.Ipv4, Ipv4Header(source, destination, protocol, l4, 64), PeerMac(source), destination == s_our ? s_ourMac : MacAddress.Broadcast);

    private byte[] Ipv4Header(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, byte[] l4, byte ttl)
    {
        Ipv4Repr ip = new(source, destination, protocol, l4.Length, ttl) { Identification = _ipId++, DontFragment = true };
        byte[] packet = new byte[20 + l4.Length];
        ip.Emit(new Ipv4Packet(packet));
        l4.CopyTo(packet, 20);
        return packet;
    }

    private static byte[] Arp(ArpRepr repr)
    {
        byte[] b = new byte[repr.BufferLength];
        repr.Emit(new ArpPacket(b));
        return b;
    }

    private static byte[] Ethernet(EtherType type, byte[] payload, MacAddress source, MacAddress? destination = null)
    {
        // Short frames are padded to the 60-byte minimum, as a NIC would.
        byte[] frame = new byte[Math.Max(60, 14 + payload.Length)];
        new EthernetRepr(destination ?? s_ourMac, source, type).Emit(new EthernetFrame(frame));
        payload.CopyTo(frame, 14);
        return frame;
    }

    private enum PeerState : byte
    {
        None,
        SynSent,
        Established,
    }

    private struct PeerConnection
    {
        public PeerState State;
        public Ipv4Address Host;
        public ushort PeerPort;
        public ushort OurPort;
        public uint Next;  // the peer's next sequence number
        public uint Acked; // the interface's next sequence number, as the peer acknowledges it
        public Instant Since;
    }
}
