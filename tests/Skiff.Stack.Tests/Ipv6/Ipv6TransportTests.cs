using System.Security.Cryptography;
using Skiff.Stack.Ipv6;
using Skiff.Stack.Tcp;
using Skiff.Stack.Tests.Simulation;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv6;

/// <summary>UDP and TCP over IPv6 (RFC 8200 section 8.1): pseudo-header checksums, port unreachable, dual-stack sockets, MSS, SYN cookies, transfers.</summary>
public sealed class Ipv6TransportTests
{
    private static Ipv6Harness Started()
    {
        Ipv6Harness h = new();
        h.Start();
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborAdvertisement(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global));
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global.SolicitedNode));
        h.Sent.Clear();
        return h;
    }

    /// <summary>A UDP datagram from the peer with a correct IPv6 checksum, or the checksum field given.</summary>
    private static byte[] Udp(Ipv6Address to, ushort port, byte[] payload, ushort? checksum = null, Ipv6Address? from = null)
    {
        Ipv6Address source = from ?? Ipv6Harness.PeerGlobal;
        byte[] udp = new byte[8 + payload.Length];
        payload.CopyTo(udp, 8);
        UdpRepr repr = new() { SourcePort = 5000, DestinationPort = port, PayloadLength = payload.Length };
        repr.Emit(new UdpPacket(udp), Checksum.PseudoHeader(source, to, IpProtocol.Udp, udp.Length), fillChecksum: true);
        if (checksum is ushort c)
        {
            new UdpPacket(udp).Checksum = c;
        }
        return Ipv6Harness.Packet(source, to, IpProtocol.Udp, udp);
    }

    private static byte[] Tcp(TcpRepr repr, Ipv6Address? from = null, Ipv6Address? to = null)
    {
        Ipv6Address source = from ?? Ipv6Harness.PeerGlobal, destination = to ?? Ipv6Harness.Global;
        byte[] segment = new byte[repr.HeaderLength];
        repr.Emit(new TcpSegment(segment), Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, segment.Length), fillChecksum: true);
        return Ipv6Harness.Packet(source, destination, IpProtocol.Tcp, segment);
    }

    /// <summary>The TCP segments the interface sent over IPv6, checked against the IPv6 pseudo-header.</summary>
    private static List<(Ipv6Repr Ip, TcpRepr Tcp)> SentTcp(Ipv6Harness h)
    {
        List<(Ipv6Repr, TcpRepr)> list = [];
        foreach (byte[] f in h.Sent)
        {
            if (Ipv6Harness.Parse(f, out _, out Ipv6Repr ip, out byte[] upper, out IpProtocol proto) && proto == IpProtocol.Tcp)
            {
                uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Tcp, upper.Length);
                Assert.Equal(WireError.Ok, TcpRepr.TryParse(new TcpSegment(upper), pseudo, verifyChecksum: true, out TcpRepr tcp));
                list.Add((ip, tcp));
            }
        }
        return list;
    }

    [Fact]
    public void A_udp_datagram_reaches_a_socket_on_every_address_and_the_reply_carries_a_valid_ipv6_checksum()
    {
        using Ipv6Harness h = Started();
        UdpSocket socket = h.Stack.Udp.Bind(7);
        h.Receive(Udp(Ipv6Harness.Global, 7, "over six"u8.ToArray()));
        byte[] buffer = new byte[64];
        Assert.True(socket.TryReceive(buffer, out int n, out UdpEndpoint from));
        Assert.Equal("over six"u8.ToArray(), buffer[..n]);
        Assert.True(from.IsIpv6);
        Assert.Equal(new UdpEndpoint(Ipv6Harness.PeerGlobal, 5000), from);
        Assert.Equal("[fd00::2]:5000", from.ToString());

        Assert.True(socket.TrySend(buffer.AsSpan(0, n), from));
        h.Poll();
        byte[] frame = Assert.Single(h.Sent);
        Assert.True(Ipv6Harness.Parse(frame, out EthernetRepr eth, out Ipv6Repr ip, out byte[] udp, out IpProtocol proto));
        Assert.Equal((IpProtocol.Udp, Ipv6Harness.Global, Ipv6Harness.PeerGlobal, Ipv6Harness.PeerMac), (proto, ip.Source, ip.Destination, eth.Destination));
        Assert.NotEqual(0, new UdpPacket(udp).Checksum);
        uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Udp, udp.Length);
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(udp), pseudo, verifyChecksum: true, zeroChecksumIsNone: false, out UdpRepr repr));
        Assert.Equal(((ushort)7, (ushort)5000, n), (repr.SourcePort, repr.DestinationPort, repr.PayloadLength));
        Assert.Equal((1, 1), (h.Stack.Counters.Ipv6UdpDatagramsReceived, h.Stack.Counters.Ipv6UdpDatagramsSent));
    }

    [Fact]
    public void A_zero_or_wrong_udp_checksum_is_dropped_because_ipv6_makes_it_mandatory()
    {
        using Ipv6Harness h = Started();
        UdpSocket socket = h.Stack.Udp.Bind(7);
        h.Receive(Udp(Ipv6Harness.Global, 7, [1, 2, 3], checksum: 0));
        h.Receive(Udp(Ipv6Harness.Global, 7, [1, 2, 3], checksum: 0x1234));
        Assert.False(socket.CanReceive);
        Assert.Equal(2, h.Stack.Counters.Drops(DropReason.UdpBadChecksum));
        Assert.Empty(h.Sent);
    }

    [Fact]
    public void Nothing_listening_earns_icmpv6_port_unreachable_quoting_the_packet_but_not_for_a_multicast_destination()
    {
        using Ipv6Harness h = Started();
        byte[] datagram = Udp(Ipv6Harness.Global, 9999, [1, 2, 3]);
        h.Receive(datagram);
        var error = Assert.Single(h.SentIcmp(Icmpv6Type.DestinationUnreachable));
        Assert.Equal((byte)Icmpv6DestinationUnreachableCode.PortUnreachable, error.Icmp.Code);
        Assert.Equal((Ipv6Harness.Global, Ipv6Harness.PeerGlobal), (error.Ip.Source, error.Ip.Destination));
        Assert.Equal(datagram.AsSpan(14).ToArray(), error.Message.AsSpan(8).ToArray()); // the whole offending packet is quoted
        h.Sent.Clear();
        h.Receive(Udp(Ipv6Address.AllNodes, 9999, [1, 2, 3]));
        Assert.Empty(h.Sent);
        Assert.Equal(2, h.Stack.Counters.Drops(DropReason.UdpNoSocket));
    }

    [Fact]
    public void A_socket_bound_to_one_ipv6_address_takes_only_datagrams_to_it_and_an_ipv4_mapped_source_is_dropped()
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [Ipv6Prefix.Parse("fd00::1/64"), Ipv6Prefix.Parse("fd00::3/64")], RouterSolicitations = false });
        h.Start();
        UdpSocket socket = h.Stack.Udp.Bind(53, Ipv6Address.Parse("fd00::3"));
        Assert.True(socket.LocalEndpoint.IsIpv6);
        h.Receive(Udp(Ipv6Harness.Global, 53, [1]));
        Assert.False(socket.CanReceive);
        h.Receive(Udp(Ipv6Address.Parse("fd00::3"), 53, [2]));
        Assert.True(socket.CanReceive);
        h.Receive(Udp(Ipv6Address.Parse("fd00::3"), 53, [3], from: Ipv6Address.Parse("::ffff:10.0.0.9")));
        Assert.Equal(1, socket.ReceiveQueued);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6BadSource));
        Assert.Throws<InvalidOperationException>(() => h.Stack.Udp.Bind(53));
    }

    [Fact]
    public void Udp_echo_crosses_two_stacks_over_ipv6_and_ipv4_through_one_dual_stack_socket()
    {
        using StackPair pair = new(ipv6: true);
        UdpSocket server = pair.B.Udp.Bind(7);
        UdpSocket client = pair.A.Udp.Bind(0);
        byte[] buffer = new byte[100];
        foreach (UdpEndpoint target in new[] { new UdpEndpoint(StackPair.Address6B, 7), new UdpEndpoint(StackPair.AddressB, 7) })
        {
            Assert.True(client.TrySend("dual"u8, target));
            Assert.True(pair.RunUntil(() => server.CanReceive, Duration.FromSeconds(2)));
            Assert.True(server.TryReceive(out PacketBuffer? datagram, out UdpEndpoint from));
            Assert.Equal(target.IsIpv6, from.IsIpv6);
            Assert.Equal(target.IsIpv6 ? new IpAddress(StackPair.Address6A) : new IpAddress(StackPair.AddressA), from.Ip);
            Assert.True(server.TrySend(datagram, from)); // echoed in place
            Assert.True(pair.RunUntil(() => client.CanReceive, Duration.FromSeconds(2)));
            Assert.True(client.TryReceive(buffer, out int n, out UdpEndpoint source));
            Assert.Equal("dual"u8.ToArray(), buffer[..n]);
            Assert.Equal(target, source);
        }
        Assert.Equal(1, pair.B.Counters.Ipv6UdpDatagramsReceived);
        Assert.Equal(2, pair.B.Counters.UdpDatagramsReceived);
        pair.Drain();
        Assert.Equal(0, pair.PoolB.InUse);
    }

    [Fact]
    public void A_syn_over_ipv6_gets_a_syn_ack_offering_the_link_mtu_minus_60_and_a_closed_port_a_reset()
    {
        using Ipv6Harness h = Started();
        h.Stack.Tcp.Listen(80);
        Assert.Equal(1440, h.Stack.Tcp.LocalMssIpv6);
        TcpRepr syn = new() { SourcePort = 40000, DestinationPort = 80, SequenceNumber = 1000, Flags = TcpFlags.Syn, WindowLength = 65535, MaxSegmentSize = 1440 };
        h.Receive(Tcp(syn));
        h.Poll();
        var (ip, synAck) = Assert.Single(SentTcp(h));
        Assert.Equal((Ipv6Harness.Global, Ipv6Harness.PeerGlobal), (ip.Source, ip.Destination));
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(1001u, synAck.AcknowledgmentNumber);
        Assert.Equal((ushort?)1440, synAck.MaxSegmentSize);
        Assert.Equal(1460, h.Stack.Tcp.LocalMss); // IPv4's is unchanged
        h.Sent.Clear();
        h.Receive(Tcp(syn with { DestinationPort = 81 }));
        h.Poll();
        var (_, rst) = Assert.Single(SentTcp(h));
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags);
        Assert.Equal(1001u, rst.AcknowledgmentNumber);
    }

    [Fact]
    public void A_router_advertised_mtu_lowers_the_mss_offered_over_ipv6()
    {
        using Ipv6Harness h = Started();
        Icmpv6Repr ra = new Icmpv6Repr(Icmpv6Type.RouterAdvertisement, 0) { RouterLifetimeSeconds = 1800, LinkMtu = 1400 };
        h.Receive(Ipv6Harness.Icmp(ra, Ipv6Harness.PeerLinkLocal, Ipv6Address.AllNodes, 255));
        Assert.Equal(1400, h.Stack.Ipv6LinkMtu);
        Assert.Equal(1340, h.Stack.Tcp.LocalMssIpv6);
    }

    [Fact]
    public void Syn_cookies_answer_over_ipv6_and_the_returning_ack_opens_the_connection()
    {
        using Ipv6Harness h = Started();
        TcpListener listener = h.Stack.Tcp.Listen(80, maxHalfOpen: 0);
        TcpRepr syn = new() { SourcePort = 40001, DestinationPort = 80, SequenceNumber = 5000, Flags = TcpFlags.Syn, WindowLength = 65535, MaxSegmentSize = 1440 };
        h.Receive(Tcp(syn));
        h.Poll();
        var (_, synAck) = Assert.Single(SentTcp(h));
        Assert.Equal(1, listener.SynCookiesSent);
        Assert.Equal(0, h.Stack.Tcp.ConnectionCount); // no state kept
        TcpRepr ack = new() { SourcePort = 40001, DestinationPort = 80, SequenceNumber = 5001, AcknowledgmentNumber = synAck.SequenceNumber + 1, Flags = TcpFlags.Ack, WindowLength = 65535 };
        // The cookie is bound to the IPv6 4-tuple: from another address it is refused.
        h.Receive(Tcp(ack, from: Ipv6Address.Parse("fd00::9")));
        Assert.Equal(1, listener.SynCookiesRejected);
        h.Receive(Tcp(ack));
        Assert.Equal(1, listener.SynCookiesAccepted);
        Assert.True(h.Stack.Tcp.TryAccept(listener, out SocketHandle handle));
        TcpTuple tuple = h.Stack.Tcp.Get(handle).Tuple;
        Assert.True(tuple.IsIpv6);
        Assert.Equal(new TcpTuple(Ipv6Harness.Global, 80, Ipv6Harness.PeerGlobal, 40001), tuple);
        Assert.Equal("[fd00::1]:80 <-> [fd00::2]:40001", tuple.ToString());
    }

    [Fact]
    public void Tcp_transfers_a_mebibyte_each_way_over_ipv6_and_closes_through_time_wait()
    {
        using StackPair pair = new(ipv6: true);
        TcpListener listener = pair.B.Tcp.Listen(80); // dual-stack: 0.0.0.0 takes IPv6 too
        SocketHandle ch = pair.A.Tcp.Connect(pair.Now, StackPair.Address6A, StackPair.Address6B, 80, null);
        SocketHandle sh = default;
        Assert.True(pair.RunUntil(() => pair.B.Tcp.TryAccept(listener, out sh), Duration.FromSeconds(5)));
        TcpSocket client = pair.A.Tcp.Get(ch);
        TcpSocket server = pair.B.Tcp.Get(sh);
        Assert.True(pair.RunUntil(() => client.State == TcpState.Established, Duration.FromSeconds(5)));
        Assert.Equal(new IpAddress(StackPair.Address6A), server.Tuple.RemoteIp);
        Assert.Equal(client.Tuple.LocalPort, server.Tuple.RemotePort);

        byte[] up = RandomNumberGenerator.GetBytes(1 << 20);
        byte[] down = RandomNumberGenerator.GetBytes(1 << 20);
        MemoryStream gotUp = new(), gotDown = new();
        int sentUp = 0, sentDown = 0;
        byte[] buf = new byte[65536];
        bool Progress()
        {
            sentUp += sentUp < up.Length ? client.Send(up.AsSpan(sentUp)) : 0;
            sentDown += sentDown < down.Length ? server.Send(down.AsSpan(sentDown)) : 0;
            int n;
            while ((n = server.Receive(buf)) > 0)
            {
                gotUp.Write(buf, 0, n);
            }
            while ((n = client.Receive(buf)) > 0)
            {
                gotDown.Write(buf, 0, n);
            }
            return gotUp.Length == up.Length && gotDown.Length == down.Length;
        }
        Assert.True(pair.RunUntil(Progress, Duration.FromSeconds(60)), $"up {gotUp.Length}, down {gotDown.Length}");
        Assert.Equal(SHA256.HashData(up), SHA256.HashData(gotUp.ToArray()));
        Assert.Equal(SHA256.HashData(down), SHA256.HashData(gotDown.ToArray()));
        Assert.True(pair.A.Counters.Ipv6TcpSegmentsSent > (1 << 20) / 1440);
        Assert.Equal(0, pair.A.Counters.Drops(DropReason.Ipv6Malformed) + pair.B.Counters.Drops(DropReason.TcpBadChecksum));

        client.Close();
        Assert.True(pair.RunUntil(() => server.IsReceiveFinished, Duration.FromSeconds(5)));
        server.Close();
        Assert.True(pair.RunUntil(() => server.State == TcpState.Closed && client.State == TcpState.TimeWait, Duration.FromSeconds(5)));
        Assert.Equal(1, pair.A.Tcp.TimeWaitCount);
        pair.B.Tcp.Release(sh);
        pair.A.Tcp.Release(ch);
        pair.RunFor(Duration.FromSeconds(61));
        Assert.Equal(0, pair.A.Tcp.ConnectionCount);
        Assert.Equal(0, pair.B.Tcp.ConnectionCount);
        pair.Drain();
        Assert.Equal(0, pair.PoolA.InUse);
        Assert.Equal(0, pair.PoolB.InUse);
    }

    [Fact]
    public void Connecting_over_ipv6_to_a_closed_port_is_refused_and_mixed_families_are_an_argument_error()
    {
        using StackPair pair = new(ipv6: true);
        SocketHandle ch = pair.A.Tcp.Connect(pair.Now, StackPair.Address6A, StackPair.Address6B, 81, null);
        TcpSocket client = pair.A.Tcp.Get(ch);
        Assert.True(pair.RunUntil(() => client.State == TcpState.Closed, Duration.FromSeconds(5)));
        Assert.Equal(TcpError.Refused, client.Error);
        Assert.Throws<ArgumentException>(() => pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.Address6B, 80, null));
        Assert.Throws<ArgumentException>(() => pair.A.Tcp.Connect(pair.Now, StackPair.Address6A, Ipv6Address.AllNodes, 80, null));
    }
}
