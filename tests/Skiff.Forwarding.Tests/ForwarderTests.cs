using System.Buffers.Binary;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Forwarding.Tests;

/// <summary>The forwarder on its own, sans-I/O: frames in through <see cref="Forwarder.Receive"/>, out of the ports' buffers.</summary>
public sealed class ForwarderTests : IDisposable
{
    private static readonly MacAddress RouterMacA = MacAddress.Parse("02:00:00:00:0a:01");
    private static readonly MacAddress RouterMacB = MacAddress.Parse("02:00:00:00:0b:01");
    private static readonly MacAddress HostMacA = MacAddress.Parse("02:00:00:00:0a:02");
    private static readonly MacAddress HostMacB = MacAddress.Parse("02:00:00:00:0b:02");
    private static readonly Ipv4Address RouterA = Ipv4Address.Parse("10.1.0.1");
    private static readonly Ipv4Address RouterB = Ipv4Address.Parse("10.2.0.1");
    private static readonly Ipv4Address HostA = Ipv4Address.Parse("10.1.0.2");
    private static readonly Ipv4Address HostB = Ipv4Address.Parse("10.2.0.2");

    private readonly PacketPool _poolA = new(256);
    private readonly PacketPool _poolB = new(256);
    private readonly TxBuffer _outA = new(64, default);
    private readonly TxBuffer _outB = new(64, default);
    private readonly InterfaceCounters _counters = new();
    private readonly Instant _now = Instant.FromMillis(1_000);

    public void Dispose()
    {
        _outA.FreeAll();
        _outB.FreeAll();
        _poolA.Dispose();
        _poolB.Dispose();
    }

    private static ForwardingPort[] Ports(int mtuB = 1500) =>
    [
        new() { Mac = RouterMacA, PeerMac = HostMacA, Address = new Ipv4Cidr(RouterA, 24) },
        new() { Mac = RouterMacB, PeerMac = HostMacB, Address = new Ipv4Cidr(RouterB, 24), MtuBytes = mtuB },
    ];

    private Forwarder Create(ForwardingMode mode, RoutingTable? routes = null, bool onePool = false, int mtuB = 1500)
    {
        Forwarder f = new(mode, Ports(mtuB), [_poolA, onePool ? _poolA : _poolB], _counters, routes);
        f.Attach([_outA, _outB]);
        return f;
    }

    private PacketBuffer Udp(PacketPool pool, MacAddress dstMac, Ipv4Address src, Ipv4Address dst, byte ttl = 64, int payload = 32, bool df = false)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? frame));
        int ipLength = 20 + 8 + payload;
        frame.TrySetData(pool.HeadroomBytes, 14 + ipLength);
        Span<byte> d = frame.Data;
        new EthernetRepr(dstMac, HostMacA, EtherType.Ipv4).Emit(new EthernetFrame(d));
        Ipv4Packet ip = new(d[14..]);
        new Ipv4Repr(src, dst, IpProtocol.Udp, 8 + payload, ttl) { DontFragment = df, Identification = 77 }.Emit(ip);
        d[34..].Fill(0x5A);
        return frame;
    }

    private PacketBuffer Arp(PacketPool pool, ArpOperation op, MacAddress senderMac, Ipv4Address sender, Ipv4Address target, MacAddress dstMac)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? frame));
        frame.TrySetData(pool.HeadroomBytes, 14 + 28);
        new EthernetRepr(dstMac, senderMac, EtherType.Arp).Emit(new EthernetFrame(frame.Data));
        new ArpRepr(op, senderMac, sender, op == ArpOperation.Reply ? RouterMacB : MacAddress.Zero, target).Emit(new ArpPacket(frame.Data[14..]));
        return frame;
    }

    private void In(Forwarder f, TxBuffer port, params PacketBuffer[] frames) => f.Receive(_now, frames.AsSpan(), port);

    private static PacketBuffer Take(TxBuffer output)
    {
        Assert.Equal(1, output.Count);
        PacketBuffer frame = output.Frames[0];
        output.RemoveFirst(1);
        return frame;
    }

    private static RoutingTable Routes()
    {
        RoutingTable table = new(Ports(), maxGroups: 16);
        Assert.Null(table.AddVia(Ipv4Cidr.Parse("172.16.0.0/12"), HostB));
        return table;
    }

    [Fact]
    public void Io_mode_sends_each_frame_out_of_the_other_port_unchanged_and_counts_a_copy_between_pools()
    {
        Forwarder f = Create(ForwardingMode.Io);
        PacketBuffer frame = Udp(_poolA, RouterMacA, HostA, HostB);
        byte[] before = frame.Data.ToArray();
        In(f, _outA, frame);
        PacketBuffer sent = Take(_outB);
        Assert.Same(_poolB, sent.Pool);
        Assert.Equal(before, sent.Data.ToArray());
        Assert.Equal(0, _poolA.InUse);
        Assert.Equal(1, _counters.ForwardedFrames);
        Assert.Equal(1, _counters.ForwardCopies);
        sent.Free();
    }

    [Fact]
    public void Mac_mode_rewrites_both_addresses_for_the_next_hop_and_shares_one_pool_without_copying()
    {
        Forwarder f = Create(ForwardingMode.Mac, onePool: true);
        PacketBuffer frame = Udp(_poolA, RouterMacB, HostB, HostA);
        In(f, _outB, frame);
        PacketBuffer sent = Take(_outA);
        Assert.Same(frame, sent); // no copy: one pool
        Assert.Equal(WireError.Ok, EthernetRepr.TryParse(new EthernetFrame(sent.Data), out EthernetRepr eth));
        Assert.Equal(HostMacA, eth.Destination);
        Assert.Equal(RouterMacA, eth.Source);
        Assert.Equal(0, _counters.ForwardCopies);
        sent.Free();
    }

    [Fact]
    public void L3_resolves_the_next_hop_by_arp_then_forwards_with_the_ttl_one_lower_and_a_valid_checksum()
    {
        using RoutingTable routes = Routes();
        Forwarder f = Create(ForwardingMode.L3, routes);
        In(f, _outA, Udp(_poolA, RouterMacA, HostA, Ipv4Address.Parse("172.20.1.1"), ttl: 9));
        // Unknown neighbour: an ARP request for the gateway out of B, the packet waiting behind it.
        PacketBuffer request = Take(_outB);
        Assert.Equal(WireError.Ok, ArpRepr.TryParse(new ArpPacket(request.Data[14..]), out ArpRepr arp));
        Assert.Equal(ArpOperation.Request, arp.Operation);
        Assert.Equal(HostB, arp.TargetProtocolAddress);
        Assert.Equal(RouterB, arp.SenderProtocolAddress);
        request.Free();
        // The reply releases it.
        In(f, _outB, Arp(_poolB, ArpOperation.Reply, HostMacB, HostB, RouterB, RouterMacB));
        PacketBuffer sent = Take(_outB);
        AssertForwarded(sent, HostMacB, RouterMacB, ttl: 8);
        sent.Free();
        // Now known: straight through, no ARP.
        In(f, _outA, Udp(_poolA, RouterMacA, HostA, HostB, ttl: 200));
        sent = Take(_outB);
        AssertForwarded(sent, HostMacB, RouterMacB, ttl: 199);
        sent.Free();
        Assert.Equal(2, _counters.ForwardedFrames);
    }

    private static void AssertForwarded(PacketBuffer frame, MacAddress dst, MacAddress src, byte ttl)
    {
        Assert.Equal(WireError.Ok, EthernetRepr.TryParse(new EthernetFrame(frame.Data), out EthernetRepr eth));
        Assert.Equal(dst, eth.Destination);
        Assert.Equal(src, eth.Source);
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(frame.Data[14..], out Ipv4Packet ip));
        Assert.True(ip.VerifyChecksum());
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(ip, verifyChecksum: true, out Ipv4Repr repr));
        Assert.Equal(ttl, repr.HopLimit);
    }

    [Fact]
    public void The_incremental_checksum_equals_a_full_recomputation_for_every_ttl_and_random_headers()
    {
        using RoutingTable routes = Routes();
        Forwarder f = Create(ForwardingMode.L3, routes, onePool: true);
        In(f, _outB, Arp(_poolA, ArpOperation.Request, HostMacB, HostB, RouterB, MacAddress.Broadcast)); // learn B (we are its target)
        _outB.FreeAll();
        Random random = new(3);
        for (int i = 0; i < 5000; i++)
        {
            byte ttl = (byte)(i < 254 ? i + 2 : random.Next(2, 256));
            PacketBuffer frame = Udp(_poolA, RouterMacA, HostA, HostB, ttl: ttl);
            Span<byte> ip = frame.Data[14..34];
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)random.Next(1 << 16)); // identification
            ip[1] = (byte)random.Next(256); // DSCP/ECN
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip));
            In(f, _outA, frame);
            PacketBuffer sent = Take(_outB);
            Span<byte> header = sent.Data[14..34];
            ushort incremental = BinaryPrimitives.ReadUInt16BigEndian(header[10..]);
            Assert.Equal((byte)(ttl - 1), header[8]);
            BinaryPrimitives.WriteUInt16BigEndian(header[10..], 0);
            ushort full = Checksum.Compute(header);
            // Equal, or the two ones'-complement zeros (0x0000 and 0xFFFF), which RFC 1624 section 3 says both verify.
            Assert.True(full == incremental || (full | incremental) == 0xFFFF && (full == 0 || incremental == 0),
                $"ttl {ttl}: incremental {incremental:x4}, full {full:x4}");
            BinaryPrimitives.WriteUInt16BigEndian(header[10..], incremental);
            Assert.True(Checksum.IsValid(header), $"ttl {ttl}: the header does not verify after the incremental update");
            sent.Free();
        }
    }

    [Fact]
    public void Ttl_one_gets_time_exceeded_from_the_receiving_ports_address_and_is_dropped()
    {
        using RoutingTable routes = Routes();
        Forwarder f = Create(ForwardingMode.L3, routes, onePool: true);
        In(f, _outA, Arp(_poolA, ArpOperation.Request, HostMacA, HostA, RouterA, MacAddress.Broadcast));
        _outA.FreeAll();
        In(f, _outA, Udp(_poolA, RouterMacA, HostA, HostB, ttl: 1));
        AssertIcmpError(Take(_outA), Icmpv4Type.TimeExceeded, 0, RouterA, HostA);
        Assert.Equal(0, _outB.Count);
        Assert.Equal(1, _counters.Drops(DropReason.TtlExpired));
    }

    [Fact]
    public void A_route_miss_gets_net_unreachable_and_df_too_big_gets_fragmentation_needed_with_the_mtu()
    {
        using RoutingTable routes = new(Ports(mtuB: 1000), maxGroups: 4);
        Forwarder f = Create(ForwardingMode.L3, routes, onePool: true, mtuB: 1000);
        In(f, _outA, Arp(_poolA, ArpOperation.Request, HostMacA, HostA, RouterA, MacAddress.Broadcast));
        _outA.FreeAll();
        In(f, _outA, Udp(_poolA, RouterMacA, HostA, Ipv4Address.Parse("198.51.100.1")));
        AssertIcmpError(Take(_outA), Icmpv4Type.DestinationUnreachable, 0, RouterA, HostA);
        In(f, _outA, Udp(_poolA, RouterMacA, HostA, HostB, payload: 1200, df: true));
        Icmpv4Repr error = AssertIcmpError(Take(_outA), Icmpv4Type.DestinationUnreachable, 4, RouterA, HostA);
        Assert.Equal(1000, error.NextHopMtu);
        Assert.Equal(1, _counters.Drops(DropReason.NoRoute));
        Assert.Equal(1, _counters.Drops(DropReason.FragmentationNeeded));
    }

    [Fact]
    public void The_routers_addresses_answer_ping_on_the_port_it_arrives_on_and_martians_are_dropped()
    {
        using RoutingTable routes = Routes();
        Forwarder f = Create(ForwardingMode.L3, routes, onePool: true);
        In(f, _outA, Arp(_poolA, ArpOperation.Request, HostMacA, HostA, RouterA, MacAddress.Broadcast));
        Assert.Equal(1, _outA.Count); // the ARP reply
        _outA.FreeAll();
        foreach (Ipv4Address target in new[] { RouterA, RouterB })
        {
            Assert.True(_poolA.TryAllocate(out PacketBuffer? echo));
            echo.TrySetData(_poolA.HeadroomBytes, 14 + 20 + 8 + 16);
            new EthernetRepr(RouterMacA, HostMacA, EtherType.Ipv4).Emit(new EthernetFrame(echo.Data));
            Ipv4Packet ip = new(echo.Data[14..]);
            new Ipv4Repr(HostA, target, IpProtocol.Icmp, 24, 64).Emit(ip);
            Icmpv4Repr.EchoRequest(1, 2, 16).Emit(new Icmpv4Packet(echo.Data[34..]));
            In(f, _outA, echo);
            PacketBuffer reply = Take(_outA);
            Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(reply.Data[14..], out Ipv4Packet rip));
            Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(rip, verifyChecksum: true, out Ipv4Repr r));
            Assert.Equal(target, r.Source);
            Assert.Equal(HostA, r.Destination);
            reply.Free();
        }
        In(f, _outA, Udp(_poolA, RouterMacA, Ipv4Address.Parse("127.0.0.1"), HostB));
        In(f, _outA, Udp(_poolA, RouterMacA, RouterB, HostB));
        Assert.Equal(0, _outB.Count);
        Assert.Equal(2, _counters.Drops(DropReason.Ipv4BadSource));
        Assert.Equal(0, _poolA.InUse);
    }

    [Fact]
    public void Malformed_frames_are_dropped_by_cause_and_nothing_throws()
    {
        using RoutingTable routes = Routes();
        Forwarder f = Create(ForwardingMode.L3, routes, onePool: true);
        Random random = new(11);
        for (int i = 0; i < 20_000; i++)
        {
            PacketBuffer frame = Udp(_poolA, RouterMacA, HostA, HostB, payload: random.Next(0, 64));
            Span<byte> d = frame.Data;
            for (int k = random.Next(1, 6); k > 0; k--)
            {
                d[random.Next(d.Length)] = (byte)random.Next(256);
            }
            frame.TrySetLength(random.Next(0, d.Length + 1));
            In(f, _outA, frame);
            _outA.FreeAll();
            _outB.FreeAll();
        }
        f.Transmit(_now + Duration.FromSeconds(10));
        _outA.FreeAll();
        _outB.FreeAll();
        f.FreeAll();
        Assert.True(_counters.TotalDrops > 0);
    }

    private static Icmpv4Repr AssertIcmpError(PacketBuffer frame, Icmpv4Type type, byte code, Ipv4Address from, Ipv4Address to)
    {
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(frame.Data[14..], out Ipv4Packet ip));
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(ip, verifyChecksum: true, out Ipv4Repr repr));
        Assert.Equal(from, repr.Source);
        Assert.Equal(to, repr.Destination);
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(frame.Data[(14 + ip.HeaderLength)..], out Icmpv4Packet icmp));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(icmp, verifyChecksum: true, out Icmpv4Repr error));
        Assert.Equal(type, error.Type);
        Assert.Equal(code, error.Code);
        frame.Free();
        return error;
    }
}
