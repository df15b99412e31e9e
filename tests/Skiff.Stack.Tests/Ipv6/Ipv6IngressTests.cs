using Skiff.Stack.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv6;

/// <summary>IPv6 ingress (RFC 8200): destination match, extension headers and their options, reassembly; ICMPv6 errors (RFC 4443).</summary>
public sealed class Ipv6IngressTests
{
    private static Ipv6Harness Started(int errorsPerSecond = 1000)
    {
        Ipv6Harness h = new(icmpErrorsPerSecond: errorsPerSecond);
        h.Start();
        // The peer is known and reachable, so answers leave at once.
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global.SolicitedNode));
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborAdvertisement(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global));
        h.Sent.Clear();
        return h;
    }

    private static byte[] EchoBehind(byte[] headers, IpProtocol first, Ipv6Address? to = null, int data = 16) =>
        Ipv6Harness.Icmp(Icmpv6Repr.EchoRequest(7, 1, data), Ipv6Harness.PeerGlobal, to ?? Ipv6Harness.Global, 64, new byte[data], first, headers);

    private static (Icmpv6Repr Icmp, Ipv6Repr Ip) OneError(Ipv6Harness h, Icmpv6Type type)
    {
        var e = Assert.Single(h.SentIcmp(type));
        Assert.Empty(h.SentIcmp(Icmpv6Type.EchoReply));
        return (e.Icmp with { }, e.Ip);
    }

    [Fact]
    public void An_echo_request_is_answered_with_its_data_and_one_to_all_nodes_from_a_unicast_address()
    {
        using Ipv6Harness h = Started();
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global, 9, 100));
        var reply = Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply));
        Assert.Equal((ushort)9, reply.Icmp.SequenceNumber);
        Assert.Equal(100, reply.Icmp.DataLength);
        Assert.Equal((Ipv6Harness.Global, Ipv6Harness.PeerGlobal), (reply.Ip.Source, reply.Ip.Destination));
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(Ipv6Address.AllNodes));
        Assert.Equal(Ipv6Harness.Global, Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply)).Ip.Source);
        Assert.Equal(2, h.Stack.Counters.Icmpv6EchoRepliesSent);
    }

    [Fact]
    public void Packets_to_other_addresses_unjoined_groups_or_from_multicast_sources_are_dropped_by_cause()
    {
        using Ipv6Harness h = Started();
        h.Receive(Ipv6Harness.Echo(Ipv6Address.Parse("fd00::5")));
        h.Receive(Ipv6Harness.Echo(Ipv6Address.Parse("ff02::1:ff00:5")));
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global, from: Ipv6Address.Parse("ff02::9")));
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6NotForUs));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NotOurMac)); // 33:33:ff:00:00:05 is not one of our groups
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6BadSource));
    }

    [Fact]
    public void An_unknown_next_header_gets_parameter_problem_code_1_pointing_at_the_field_but_not_for_a_multicast_destination()
    {
        using Ipv6Harness h = Started();
        h.Receive(Ipv6Harness.Packet(Ipv6Harness.PeerGlobal, Ipv6Harness.Global, (IpProtocol)253, new byte[8]));
        var (icmp, ip) = OneError(h, Icmpv6Type.ParameterProblem);
        Assert.Equal((1, 6u), (icmp.Code, icmp.Pointer));
        Assert.Equal((Ipv6Harness.Global, Ipv6Harness.PeerGlobal), (ip.Source, ip.Destination));
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Packet(Ipv6Harness.PeerGlobal, Ipv6Address.AllNodes, (IpProtocol)253, new byte[8]));
        Assert.Empty(h.Sent);
        Assert.Equal(2, h.Stack.Counters.Drops(DropReason.Ipv6UnknownNextHeader));
        // Behind a Destination Options header, the pointer names that header's Next Header field.
        h.Receive(EchoBehind(Ipv6Harness.Ext((IpProtocol)253, 1, 4), IpProtocol.Ipv6Options));
        Assert.Equal(40u, OneError(h, Icmpv6Type.ParameterProblem).Icmp.Pointer);
    }

    [Fact]
    public void Hop_by_hop_anywhere_but_first_is_a_parameter_problem()
    {
        using Ipv6Harness h = Started();
        byte[] headers = [.. Ipv6Harness.Ext(IpProtocol.HopByHop, 1, 4), .. Ipv6Harness.Ext(IpProtocol.Icmpv6, 1, 4)];
        h.Receive(EchoBehind(headers, IpProtocol.Ipv6Options));
        var (icmp, _) = OneError(h, Icmpv6Type.ParameterProblem);
        Assert.Equal((1, 40u), (icmp.Code, icmp.Pointer));
        h.Sent.Clear();
        h.Receive(EchoBehind(Ipv6Harness.Ext(IpProtocol.Icmpv6, 1, 4), IpProtocol.HopByHop)); // first is fine
        Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply));
    }

    [Theory]
    [InlineData(0x1E, false, false)] // 00: skip, the packet is delivered
    [InlineData(0x5E, false, true)] // 01: discard silently
    [InlineData(0x9E, true, true)] // 10: discard and report, even to a multicast destination
    [InlineData(0xDE, false, false)] // 11: discard, report unless the destination is multicast
    public void An_unknown_option_does_what_its_two_high_bits_say(byte type, bool toMulticastReported, bool silentToUnicastOrMulticast)
    {
        using Ipv6Harness h = Started();
        byte[] header = Ipv6Harness.Ext(IpProtocol.Icmpv6, type, 4, 0, 0, 0, 0);
        h.Receive(EchoBehind(header, IpProtocol.Ipv6Options));
        bool skip = (type & 0xC0) == 0;
        bool reportUnicast = (type & 0x80) != 0;
        Assert.Equal(skip ? 1 : 0, h.SentIcmp(Icmpv6Type.EchoReply).Count);
        var errors = h.SentIcmp(Icmpv6Type.ParameterProblem);
        Assert.Equal(reportUnicast ? 1 : 0, errors.Count);
        if (reportUnicast)
        {
            Assert.Equal((2, 42u), (errors[0].Icmp.Code, errors[0].Icmp.Pointer));
        }
        h.Sent.Clear();
        h.Receive(EchoBehind(header, IpProtocol.Ipv6Options, Ipv6Address.AllNodes));
        Assert.Equal(toMulticastReported ? 1 : 0, h.SentIcmp(Icmpv6Type.ParameterProblem).Count);
        Assert.Equal(skip ? 1 : 0, h.SentIcmp(Icmpv6Type.EchoReply).Count);
        Assert.True(skip || silentToUnicastOrMulticast || reportUnicast);
        Assert.Equal(skip ? 0 : 2, h.Stack.Counters.Drops(DropReason.Ipv6ExtensionHeader));
    }

    [Fact]
    public void A_routing_header_with_segments_left_is_refused_at_its_type_field_and_one_without_is_passed_over()
    {
        using Ipv6Harness h = Started();
        h.Receive(EchoBehind(Ipv6Harness.Ext(IpProtocol.Icmpv6, 0, 1), IpProtocol.Ipv6Route)); // type 0, segments left 1
        var (icmp, _) = OneError(h, Icmpv6Type.ParameterProblem);
        Assert.Equal((0, 42u), (icmp.Code, icmp.Pointer));
        h.Sent.Clear();
        h.Receive(EchoBehind(Ipv6Harness.Ext(IpProtocol.Icmpv6, 4, 0), IpProtocol.Ipv6Route));
        Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply));
    }

    [Fact]
    public void No_error_is_sent_about_an_icmpv6_error()
    {
        using Ipv6Harness h = Started();
        byte[] quoted = new byte[48];
        byte[] frame = Ipv6Harness.Icmp(Icmpv6Repr.DestinationUnreachable(Icmpv6DestinationUnreachableCode.PortUnreachable, 48), Ipv6Harness.PeerGlobal, Ipv6Harness.Global, 64,
            quoted, IpProtocol.Ipv6Route, Ipv6Harness.Ext(IpProtocol.Icmpv6, 0, 1));
        h.Receive(frame);
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6ExtensionHeader));
    }

    [Fact]
    public void Errors_are_rate_limited()
    {
        using Ipv6Harness h = Started(errorsPerSecond: 2);
        for (int i = 0; i < 5; i++)
        {
            h.Receive(Ipv6Harness.Packet(Ipv6Harness.PeerGlobal, Ipv6Harness.Global, (IpProtocol)253, new byte[8]));
        }
        Assert.Equal(2, h.SentIcmp(Icmpv6Type.ParameterProblem).Count);
        Assert.Equal(3, h.Stack.Counters.Drops(DropReason.Icmpv6RateLimited));
    }

    private static List<byte[]> Fragments(int dataLength, int chunk, uint id, ushort sequence = 1, Ipv6Address? to = null)
    {
        byte[] message = new byte[8 + dataLength];
        for (int i = 8; i < message.Length; i++)
        {
            message[i] = (byte)i;
        }
        Ipv6Address dst = to ?? Ipv6Harness.Global;
        Icmpv6Repr.EchoRequest(7, sequence, dataLength).Emit(new Icmpv6Packet(message), Ipv6Harness.PeerGlobal, dst);
        List<byte[]> frames = [];
        for (int offset = 0; offset < message.Length; offset += chunk)
        {
            int length = Math.Min(chunk, message.Length - offset);
            frames.Add(Fragment(message.AsSpan(offset, length), offset, offset + length < message.Length, id, dst));
        }
        return frames;
    }

    private static byte[] Fragment(ReadOnlySpan<byte> data, int offset, bool more, uint id, Ipv6Address? to = null)
    {
        byte[] payload = new byte[8 + data.Length];
        new Ipv6FragmentRepr(offset, more, id).Emit(payload, IpProtocol.Icmpv6);
        data.CopyTo(payload.AsSpan(8));
        return Ipv6Harness.Packet(Ipv6Harness.PeerGlobal, to ?? Ipv6Harness.Global, IpProtocol.Ipv6Fragment, payload);
    }

    /// <summary>Reassembles the echo replies the interface fragmented (they carry one Identification).</summary>
    private static byte[] ReassembleReply(List<byte[]> sent)
    {
        SortedDictionary<int, byte[]> parts = [];
        int total = -1;
        foreach (byte[] f in sent)
        {
            Ipv6Repr.TryParse(new Ipv6Packet(f.AsSpan(14)), out Ipv6Repr ip);
            Assert.Equal(IpProtocol.Ipv6Fragment, ip.NextHeader);
            Assert.True(f.Length - 14 <= 1500);
            Ipv6FragmentRepr frag = Ipv6FragmentRepr.Read(f.AsSpan(54));
            byte[] chunk = f.AsSpan(62, ip.PayloadLength - 8).ToArray();
            parts[frag.Offset] = chunk;
            if (!frag.MoreFragments)
            {
                total = frag.Offset + chunk.Length;
            }
        }
        byte[] whole = new byte[total];
        foreach ((int offset, byte[] chunk) in parts)
        {
            chunk.CopyTo(whole, offset);
        }
        return whole;
    }

    [Fact]
    public void Fragments_in_any_order_are_reassembled_and_a_reply_larger_than_the_mtu_leaves_fragmented()
    {
        using Ipv6Harness h = Started();
        List<byte[]> frames = Fragments(4000, 1232, 0x1234);
        frames.Reverse();
        frames.ForEach(h.Receive);
        Assert.Equal(1, h.Stack.Counters.Ipv6DatagramsReassembled);
        Assert.Equal(3, h.Stack.Counters.Drops(DropReason.FragmentHeld));
        Assert.Equal(3, h.Sent.Count);
        byte[] reply = ReassembleReply(h.Sent);
        Assert.Equal(4008, reply.Length);
        Assert.Equal((byte)Icmpv6Type.EchoReply, reply[0]);
        Assert.True(new Icmpv6Packet(reply).VerifyChecksum(Ipv6Harness.Global, Ipv6Harness.PeerGlobal));
        for (int i = 8; i < reply.Length; i++)
        {
            Assert.Equal((byte)i, reply[i]);
        }
        Assert.Equal(3, h.Stack.Counters.Ipv6FragmentsSent);
    }

    [Fact]
    public void Overlapping_fragments_discard_the_whole_packet_rfc5722_but_an_exact_duplicate_does_not()
    {
        using Ipv6Harness h = Started();
        List<byte[]> frames = Fragments(2000, 1000, 7);
        h.Receive(frames[0]);
        h.Receive(frames[0]); // an identical duplicate: ignored
        byte[] overlap = Fragment(new byte[16], 992, true, 7);
        h.Receive(overlap);
        h.Receive(frames[1]);
        h.Receive(frames[2]);
        Assert.Empty(h.SentIcmp(Icmpv6Type.EchoReply));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.FragmentRefused));
        Assert.Equal(0, h.Stack.Counters.Ipv6DatagramsReassembled);
    }

    [Fact]
    public void An_atomic_fragment_is_processed_on_its_own_rfc6946()
    {
        using Ipv6Harness h = Started();
        List<byte[]> pending = Fragments(2000, 1000, 99);
        h.Receive(pending[0]); // a real fragment of the same Identification waits
        byte[] message = new byte[24];
        Icmpv6Repr.EchoRequest(7, 5, 16).Emit(new Icmpv6Packet(message), Ipv6Harness.PeerGlobal, Ipv6Harness.Global);
        h.Receive(Fragment(message, 0, false, 99));
        Assert.Equal((ushort)5, Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply)).Icmp.SequenceNumber);
        Assert.Equal(0, h.Stack.Counters.Ipv6DatagramsReassembled);
    }

    [Fact]
    public void A_first_fragment_without_the_upper_layer_header_is_refused_with_code_3()
    {
        using Ipv6Harness h = Started();
        byte[] tiny = Ipv6Harness.Packet(Ipv6Harness.PeerGlobal, Ipv6Harness.Global, IpProtocol.Ipv6Fragment,
            [.. FragmentHeader(IpProtocol.Ipv6Options, 0, true, 5), .. Ipv6Harness.Ext(IpProtocol.Icmpv6, 1, 4)]);
        h.Receive(tiny);
        var (icmp, _) = OneError(h, Icmpv6Type.ParameterProblem);
        Assert.Equal((3, 0u), (icmp.Code, icmp.Pointer));
    }

    private static byte[] FragmentHeader(IpProtocol next, int offset, bool more, uint id)
    {
        byte[] b = new byte[8];
        new Ipv6FragmentRepr(offset, more, id).Emit(b, next);
        return b;
    }

    [Fact]
    public void A_fragment_not_a_multiple_of_8_or_past_65535_gets_a_parameter_problem()
    {
        using Ipv6Harness h = Started();
        byte[] echoStart = new byte[20];
        echoStart[0] = (byte)Icmpv6Type.EchoRequest; // an error about an ICMPv6 error would be withheld
        h.Receive(Fragment(echoStart, 0, true, 1));
        var (icmp, _) = OneError(h, Icmpv6Type.ParameterProblem);
        Assert.Equal((0, 4u), (icmp.Code, icmp.Pointer));
        h.Sent.Clear();
        h.Receive(Fragment(new byte[16], 65528, true, 2));
        Assert.Equal(42u, OneError(h, Icmpv6Type.ParameterProblem).Icmp.Pointer);
        Assert.Equal(2, h.Stack.Counters.Drops(DropReason.FragmentRefused));
    }

    [Fact]
    public void Reassembly_is_bounded_in_packets_and_fragments()
    {
        Ipv6Options options = new()
        {
            Addresses = [Ipv6Prefix.Parse("fd00::1/64")],
            RouterSolicitations = false,
            Reassembly = new Skiff.Stack.Ipv4.Ipv4ReassemblerOptions { MaxDatagrams = 2, MaxFragmentsPerDatagram = 4, Timeout = Duration.FromSeconds(60) },
        };
        using Ipv6Harness h = new(options);
        h.Start();
        for (uint id = 0; id < 3; id++)
        {
            h.Receive(Fragments(2000, 1000, id)[0]);
        }
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.FragmentRefused)); // a third packet: no slot
        List<byte[]> many = Fragments(2000, 200, 0);
        for (int i = 1; i < many.Count; i++)
        {
            h.Receive(many[i]);
        }
        Assert.True(h.Stack.Counters.Drops(DropReason.FragmentRefused) >= 2); // past four fragments the packet is discarded
        Assert.Equal(0, h.Stack.Counters.Ipv6DatagramsReassembled);
    }

    [Fact]
    public void A_timed_out_reassembly_sends_time_exceeded_only_when_fragment_zero_arrived()
    {
        using Ipv6Harness h = Started();
        List<byte[]> a = Fragments(2000, 1000, 1);
        List<byte[]> b = Fragments(2000, 1000, 2);
        h.Receive(a[0]);
        h.Receive(b[1]);
        h.Advance(Duration.FromSeconds(59));
        Assert.Empty(h.SentIcmp(Icmpv6Type.TimeExceeded));
        h.Advance(Duration.FromSeconds(2));
        var te = Assert.Single(h.SentIcmp(Icmpv6Type.TimeExceeded));
        Assert.Equal(1, te.Icmp.Code);
        Assert.Equal(Ipv6Harness.PeerGlobal, te.Ip.Destination);
        Assert.Equal(0, h.Pool.InUse);
    }
}
