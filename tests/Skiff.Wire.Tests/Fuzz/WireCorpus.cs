using System.Buffers.Binary;
using Skiff.Wire.Pcap;
using Skiff.Wire.Tests.Pcap;

namespace Skiff.Wire.Tests.Fuzz;

/// <summary>Valid frames and capture files, built with the Repr Emit methods or taken from captures in the other tests.</summary>
internal static class WireCorpus
{
    private static readonly MacAddress s_mac1 = MacAddress.Parse("02:00:00:00:00:01");
    private static readonly MacAddress s_mac2 = MacAddress.Parse("02:00:00:00:00:02");
    private static readonly Ipv4Address s_ip1 = new(10, 23, 0, 1);
    private static readonly Ipv4Address s_ip2 = new(10, 23, 0, 2);
    private static readonly Ipv6Address s_ip6a = Ipv6Address.Parse("fd23::1");
    private static readonly Ipv6Address s_ip6b = Ipv6Address.Parse("fd23::2");
    private static readonly Ipv6Address s_ll = Ipv6Address.Parse("fe80::ff:fe00:a");

    public static IReadOnlyList<Seed> Frames()
    {
        List<Seed> seeds = [];
        void Add(string name, byte[] frame) => seeds.Add(FrameFields.Describe(name, frame));

        // Captures from the other wire tests (tcpdump/scapy).
        Add("arp capture", Convert.FromHexString("ffffffffffff02000000000a0806000108000604000102000000000a0a1700010000000000000a170002"));
        Add("vlan icmp capture", Convert.FromHexString("02000000000b02000000000a8100a01708004500001c00010000400164b00a1701010a1701020800f7ff00000000"));
        Add("ipv4 echo capture", Eth(EtherType.Ipv4, Convert.FromHexString(
            "45000054dddd40004001489b0a1700010a170002080061f11b9200011b37026b0000000094060a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")));
        Add("ipv4 record route capture", Eth(EtherType.Ipv4, Convert.FromHexString(
            "4f00007cdddf400040010c4a0a1700010a170002010727080a170001000000000000000000000000000000000000000000000000000000000000000008000ad61b9400011b37026b00000000eb1f0a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")));
        Add("ipv6 echo capture", Eth(EtherType.Ipv6, Convert.FromHexString(
            "600e9af800403a40fd230000000000000000000000000001fd230000000000000000000000000002800057f61b9600011b37026b000000002b380a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")));
        Add("ipv6 mld hop-by-hop capture", Eth(EtherType.Ipv6, Convert.FromHexString(
            "6000000000380001fe80000000000000000000fffe00000aff0200000000000000000000000000163a000502000001008f006fda0000000204000000ff0200000000000000000001ff00000a04000000ff0200000000000000000001ff000001")));

        // ARP.
        Add("arp request", Eth(EtherType.Arp, Arp(new ArpRepr(ArpOperation.Request, s_mac1, s_ip1, MacAddress.Zero, s_ip2)), MacAddress.Broadcast));
        Add("arp reply", Eth(EtherType.Arp, Arp(new ArpRepr(ArpOperation.Reply, s_mac2, s_ip2, s_mac1, s_ip1))));

        // IPv4: TCP with every option the parser reads, UDP, ICMP queries and errors, options, fragments.
        TcpRepr syn = new()
        {
            SourcePort = 40000, DestinationPort = 80, SequenceNumber = 0x01020304, Flags = TcpFlags.Syn, WindowLength = 64240,
            MaxSegmentSize = 1460, WindowScale = 7, SackPermitted = true, Timestamp = new TcpTimestamp(1000, 0),
        };
        TcpSackBlocks sacks = default;
        sacks.TryAdd(100, 200);
        sacks.TryAdd(300, 400);
        sacks.TryAdd(500, 600);
        TcpRepr ack = new()
        {
            SourcePort = 80, DestinationPort = 40000, SequenceNumber = 7, AcknowledgmentNumber = 0x01020305, Flags = TcpFlags.Ack | TcpFlags.Psh,
            WindowLength = 501, Timestamp = new TcpTimestamp(2000, 1000), SackBlocks = sacks, PayloadLength = 24,
        };
        Add("ipv4 tcp syn", Ipv4Frame(IpProtocol.Tcp, Tcp(syn, Pseudo4(IpProtocol.Tcp))));
        Add("ipv4 tcp ack sack data", Ipv4Frame(IpProtocol.Tcp, Tcp(ack, Pseudo4(IpProtocol.Tcp))));
        // Unknown option kind 30 (MPTCP) with 4 data bytes, then EOL padding: hand-built options.
        byte[] odd = Tcp(new TcpRepr { SourcePort = 1, DestinationPort = 2, Flags = TcpFlags.Fin | TcpFlags.Ack, PayloadLength = 3 }, Pseudo4(IpProtocol.Tcp));
        byte[] withUnknown = new byte[odd.Length + 12];
        odd.AsSpan(0, 20).CopyTo(withUnknown);
        withUnknown[12] = 8 << 4;
        withUnknown.AsSpan(20).Clear();
        withUnknown[20] = 30; withUnknown[21] = 6; withUnknown[26] = 1; withUnknown[27] = 3; withUnknown[28] = 2;
        withUnknown[29] = 0; // EOL
        odd.AsSpan(20).CopyTo(withUnknown.AsSpan(32));
        Add("ipv4 tcp unknown option", Ipv4Frame(IpProtocol.Tcp, withUnknown));
        Add("ipv4 udp", Ipv4Frame(IpProtocol.Udp, Udp(new UdpRepr { SourcePort = 5353, DestinationPort = 53, PayloadLength = 33 }, Pseudo4(IpProtocol.Udp), fill: true)));
        Add("ipv4 udp no checksum", Ipv4Frame(IpProtocol.Udp, Udp(new UdpRepr { SourcePort = 68, DestinationPort = 67, PayloadLength = 12 }, 0, fill: false)));
        Add("ipv4 udp padded", [.. Ipv4Frame(IpProtocol.Udp, Udp(new UdpRepr { SourcePort = 9, DestinationPort = 9, PayloadLength = 2 }, Pseudo4(IpProtocol.Udp), fill: true)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        Add("ipv4 icmp echo", Ipv4Frame(IpProtocol.Icmp, Icmp4(Icmpv4Repr.EchoRequest(7, 1, 32), null)));
        byte[] quotedUdp = Ipv4(IpProtocol.Udp, Udp(new UdpRepr { SourcePort = 51000, DestinationPort = 9, PayloadLength = 5 }, Pseudo4(IpProtocol.Udp), fill: true), swap: true);
        Add("ipv4 icmp port unreachable", Ipv4Frame(IpProtocol.Icmp, Icmp4(Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.PortUnreachable, quotedUdp.Length), quotedUdp)));
        byte[] quotedTcp = Ipv4(IpProtocol.Tcp, Tcp(syn with { PayloadLength = 0 }, Pseudo4(IpProtocol.Tcp)).AsSpan(0, 8).ToArray(), swap: true);
        Add("ipv4 icmp frag needed", Ipv4Frame(IpProtocol.Icmp, Icmp4(Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.FragmentationNeeded, quotedTcp.Length, 1400), quotedTcp)));
        Add("ipv4 icmp time exceeded", Ipv4Frame(IpProtocol.Icmp, Icmp4(Icmpv4Repr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceeded, quotedUdp.Length), quotedUdp)));
        Add("ipv4 icmp parameter problem", Ipv4Frame(IpProtocol.Icmp, Icmp4(Icmpv4Repr.ParameterProblem(20, quotedTcp.Length), quotedTcp)));
        // Options: NOP, timestamp (type 68, length 12, pointer 5), router alert (148), EOL.
        byte[] options = [1, 68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 148, 4, 0, 0, 0, 0, 0, 0];
        Add("ipv4 options udp", Ipv4Frame(IpProtocol.Udp, Udp(new UdpRepr { SourcePort = 1, DestinationPort = 2, PayloadLength = 8 }, Pseudo4(IpProtocol.Udp), fill: true), options));
        byte[] bigUdp = Udp(new UdpRepr { SourcePort = 1000, DestinationPort = 7, PayloadLength = 40 }, Pseudo4(IpProtocol.Udp), fill: true);
        Add("ipv4 first fragment", Ipv4Frame(IpProtocol.Udp, bigUdp[..24], fragmentOffset: 0, more: true));
        Add("ipv4 last fragment", Ipv4Frame(IpProtocol.Udp, bigUdp[24..], fragmentOffset: 24, more: false));
        Add("ipv4 unknown protocol", Ipv4Frame((IpProtocol)47, [0, 0, 0x08, 0x00, 1, 2, 3, 4]));

        // IPv6: ICMPv6 queries, errors and neighbour discovery, extension header chains, TCP and UDP.
        Add("ipv6 echo", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.EchoRequest(9, 2, 16), s_ip6a, s_ip6b, null)));
        byte[] quoted6 = Convert.FromHexString("6009dab5000d1140fd230000000000000000000000000001fd23000000000000000000000000000285b40009000dfa6868656c6c6f");
        Add("ipv6 port unreachable", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.DestinationUnreachable(Icmpv6DestinationUnreachableCode.PortUnreachable, quoted6.Length), s_ip6b, s_ip6a, quoted6), s_ip6b, s_ip6a));
        Add("ipv6 packet too big", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.PacketTooBig(1280, quoted6.Length), s_ip6b, s_ip6a, quoted6), s_ip6b, s_ip6a));
        Add("ipv6 parameter problem", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(new Icmpv6Repr(Icmpv6Type.ParameterProblem, 1) { Pointer = 40, DataLength = quoted6.Length }, s_ip6b, s_ip6a, quoted6), s_ip6b, s_ip6a));
        Add("ipv6 neighbor solicitation", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.NeighborSolicitation(s_ip6b, s_mac1), s_ip6a, s_ip6b.SolicitedNode, null), s_ip6a, s_ip6b.SolicitedNode, 255));
        Add("ipv6 neighbor advertisement", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.NeighborAdvertisement(s_ip6b, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, s_mac2), s_ip6b, s_ip6a, null), s_ip6b, s_ip6a, 255));
        Add("ipv6 router solicitation", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(Icmpv6Repr.RouterSolicitation(s_mac1), s_ll, Ipv6Address.AllRouters, null), s_ll, Ipv6Address.AllRouters, 255));
        Icmpv6Repr ra = new(Icmpv6Type.RouterAdvertisement, 0)
        {
            CurrentHopLimit = 64, RouterFlags = NdpRouterFlags.OtherConfiguration, RouterLifetimeSeconds = 1800, ReachableTimeMillis = 30000,
            RetransTimerMillis = 1000, SourceLinkLayerAddress = s_mac2, LinkMtu = 1500,
        };
        Add("ipv6 router advertisement", Ipv6Frame(IpProtocol.Icmpv6, Icmp6(ra, s_ll, Ipv6Address.AllNodes, null), s_ll, Ipv6Address.AllNodes, 255));
        Add("ipv6 dad capture", Ipv6Frame(IpProtocol.Icmpv6, Convert.FromHexString("8700f26800000000fe80000000000000000000fffe00000a0e017e690801f636"),
            Ipv6Address.Unspecified, s_ll.SolicitedNode, 255, fix: true));
        Add("ipv6 tcp syn", Ipv6Frame(IpProtocol.Tcp, Tcp(syn, Checksum.PseudoHeader(s_ip6a, s_ip6b, IpProtocol.Tcp, syn.HeaderLength))));
        byte[] udp6 = Udp(new UdpRepr { SourcePort = 546, DestinationPort = 547, PayloadLength = 20 }, Checksum.PseudoHeader(s_ip6a, s_ip6b, IpProtocol.Udp, 28), fill: true);
        Add("ipv6 udp", Ipv6Frame(IpProtocol.Udp, udp6));
        // Hop-by-hop (router alert, PadN) > routing (type 0, one address) > destination options (Pad1 x6) > fragment > UDP.
        byte[] chain =
        [
            (byte)IpProtocol.Ipv6Route, 0, 5, 2, 0, 0, 1, 0,
            (byte)IpProtocol.Ipv6Options, 2, 0, 1, 0, 0, 0, 0, .. s_ip6b.ToBytes(),
            (byte)IpProtocol.Ipv6Fragment, 0, 0, 0, 0, 0, 0, 0,
            (byte)IpProtocol.Udp, 0, 0, 0, 0x12, 0x34, 0x56, 0x78,
            .. udp6,
        ];
        Add("ipv6 extension chain", Ipv6Frame(IpProtocol.HopByHop, chain));
        byte[] ah = [(byte)IpProtocol.Icmpv6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. Icmp6(Icmpv6Repr.EchoReply(1, 1, 4), s_ip6a, s_ip6b, null)];
        Add("ipv6 authentication header", Ipv6Frame(IpProtocol.Ah, ah));
        byte[] fragment6 = [(byte)IpProtocol.Icmpv6, 0, 0x05, 0xa8, 0xab, 0xcd, 0xef, 0x01, 1, 2, 3, 4, 5, 6, 7, 8];
        Add("ipv6 later fragment", Ipv6Frame(IpProtocol.Ipv6Fragment, fragment6));
        return seeds;
    }

    /// <summary>Capture files: the writers' output and hand-built files with every block kind, in both byte orders.</summary>
    public static IReadOnlyList<Seed> Captures()
    {
        List<Seed> seeds = [];
        byte[] f1 = CaptureAssert.Frame(60, 1), f2 = CaptureAssert.Frame(200, 2), f3 = CaptureAssert.Frame(45, 3);

        MemoryStream pcap = new();
        using (PcapWriter w = new(pcap, LinkType.Ethernet, leaveOpen: true))
        {
            w.Write(f1, 1_700_000_000_000_001_000);
            w.Write(f2, 1_700_000_000_500_000_000, originalLength: 300);
            w.Write(f3, 1_700_000_001_000_000_000);
        }
        seeds.Add(Describe("pcap micro", pcap.ToArray(), bigEndian: false));
        MemoryStream pcapNanos = new();
        using (PcapWriter w = new(pcapNanos, LinkType.Raw, snapLengthBytes: 100, nanosecond: true, leaveOpen: true))
        {
            w.Write(f2, 5);
            w.Write(f1, 6);
        }
        seeds.Add(Describe("pcap nanos", pcapNanos.ToArray(), bigEndian: false));
        seeds.Add(Describe("pcap big-endian", new CaptureBytes(true).PcapHeader(false, 65535, 1).PcapRecord(1, 2, f1).PcapRecord(3, 999_999, f3, 100).ToArray(), bigEndian: true));

        MemoryStream ng = new();
        using (PcapNgWriter w = new(ng, leaveOpen: true))
        {
            int eth0 = w.AddInterface(LinkType.Ethernet, "eth0");
            int raw = w.AddInterface(LinkType.Raw, "tun0", snapLengthBytes: 100, nanosecond: true);
            w.Write(f1, 1_700_000_000_123_456_789, eth0);
            w.Write(f2, 1_700_000_000_123_456_790, raw);
            w.Write(f3, 1_700_000_000_123_456_791, eth0, originalLength: 70);
            w.AddDrops(raw, 5);
        }
        seeds.Add(Describe("pcapng writer", ng.ToArray(), bigEndian: false));
        foreach (bool bigEndian in new[] { false, true })
        {
            CaptureBytes file = new CaptureBytes(bigEndian)
                .SectionHeader()
                .InterfaceDescription(LinkTypeValue.Ethernet, 48, tsresol: null, name: "veth0")
                .Block(4, b => b.U16(1).U16(4).Raw(10, 0, 0, 1).Raw((byte)'h', 0).Pad4().U32(0))
                .InterfaceDescription(LinkTypeValue.Raw, 0, tsresol: 0x80 | 10)
                .Block(1, b => b.U16(1).U16(0).U32(0).U16(9).U16(1).Raw(3).Pad4().U16(14).U16(8).U64(12345).U16(0).U16(0))
                .EnhancedPacket(0, 1_000_000_500_000UL, f1.AsSpan(0, 48).ToArray(), originalLength: 60)
                .SimplePacket(50, f3)
                .Block(2, b => b.U16(1).U16(0).U32(0).U32(77).U32(8).U32(8).Raw(1, 2, 3, 4, 5, 6, 7, 8))
                .Block(0x0BAD, b => b.Raw(CaptureAssert.Frame(20, 0)))
                .EnhancedPacket(2, 3 * 1024 + 512, f3)
                .Block(5, b => b.U32(1).U32(0).U32(0).U16(4).U16(8).U64(1000).U16(5).U16(8).U64(7).U16(0).U16(0))
                .SectionHeader()
                .InterfaceDescription(LinkTypeValue.Ethernet, 0)
                .EnhancedPacket(0, 42, f1);
            seeds.Add(Describe(bigEndian ? "pcapng big-endian" : "pcapng little-endian", file.ToArray(), bigEndian));
        }
        return seeds;
    }

    private static Seed Describe(string name, byte[] file, bool bigEndian)
    {
        List<Field> fields = [];
        for (int i = 0; i + 4 <= file.Length; i += 4)
        {
            fields.Add(new Field(i, bigEndian ? FieldKind.U32 : FieldKind.U32Le));
            fields.Add(new Field(i + 2, FieldKind.U16));
        }
        return new Seed(name, file, [.. fields]);
    }

    private static uint Pseudo4(IpProtocol protocol) => 0; // lengths differ per seed; FixChecksums repairs them when asked

    private static byte[] ToBytes(this Ipv6Address address)
    {
        byte[] b = new byte[16];
        address.Write(b);
        return b;
    }

    private static byte[] Eth(EtherType type, byte[] payload, MacAddress? destination = null)
    {
        byte[] frame = new byte[14 + payload.Length];
        new EthernetRepr(destination ?? s_mac1, s_mac2, type).Emit(new EthernetFrame(frame));
        payload.CopyTo(frame, 14);
        return frame;
    }

    private static byte[] Arp(ArpRepr repr)
    {
        byte[] b = new byte[repr.BufferLength];
        repr.Emit(new ArpPacket(b));
        return b;
    }

    private static byte[] Ipv4(IpProtocol protocol, byte[] payload, bool swap = false, byte[]? options = null, int fragmentOffset = 0, bool more = false)
    {
        int optionsLength = options?.Length ?? 0;
        Ipv4Repr repr = new(swap ? s_ip1 : s_ip2, swap ? s_ip2 : s_ip1, protocol, payload.Length, 64)
        {
            Identification = 0x1234, OptionsLength = optionsLength, FragmentOffset = fragmentOffset, MoreFragments = more, DontFragment = !more && fragmentOffset == 0,
        };
        byte[] b = new byte[repr.HeaderLength + payload.Length];
        options?.CopyTo(b, 20);
        repr.Emit(new Ipv4Packet(b));
        payload.CopyTo(b, repr.HeaderLength);
        return b;
    }

    private static byte[] Ipv4Frame(IpProtocol protocol, byte[] l4, byte[]? options = null, int fragmentOffset = 0, bool more = false)
    {
        byte[] frame = Eth(EtherType.Ipv4, Ipv4(protocol, l4, options: options, fragmentOffset: fragmentOffset, more: more));
        if (fragmentOffset == 0 && !more)
        {
            FrameFields.FixChecksums(frame);
        }
        return frame;
    }

    private static byte[] Ipv6Frame(IpProtocol next, byte[] payload, Ipv6Address? source = null, Ipv6Address? destination = null, byte hopLimit = 64, bool fix = true)
    {
        Ipv6Repr repr = new(source ?? s_ip6a, destination ?? s_ip6b, next, payload.Length, hopLimit, 0, 0x12345);
        byte[] b = new byte[40 + payload.Length];
        repr.Emit(new Ipv6Packet(b));
        payload.CopyTo(b, 40);
        byte[] frame = Eth(EtherType.Ipv6, b);
        if (fix)
        {
            FrameFields.FixChecksums(frame);
        }
        return frame;
    }

    private static byte[] Tcp(TcpRepr repr, uint pseudo)
    {
        byte[] b = new byte[repr.HeaderLength + repr.PayloadLength];
        for (int i = repr.HeaderLength; i < b.Length; i++)
        {
            b[i] = (byte)('a' + i % 26);
        }
        repr.Emit(new TcpSegment(b), pseudo, fillChecksum: true);
        return b;
    }

    private static byte[] Udp(UdpRepr repr, uint pseudo, bool fill)
    {
        byte[] b = new byte[8 + repr.PayloadLength];
        for (int i = 8; i < b.Length; i++)
        {
            b[i] = (byte)i;
        }
        repr.Emit(new UdpPacket(b), pseudo, fill);
        return b;
    }

    private static byte[] Icmp4(Icmpv4Repr repr, byte[]? data)
    {
        byte[] b = new byte[repr.BufferLength];
        data?.CopyTo(b, 8);
        repr.Emit(new Icmpv4Packet(b));
        return b;
    }

    private static byte[] Icmp6(Icmpv6Repr repr, Ipv6Address source, Ipv6Address destination, byte[]? data)
    {
        byte[] b = new byte[repr.BufferLength];
        data?.CopyTo(b, Icmpv6Packet.HeaderLengthOf(repr.Type));
        repr.Emit(new Icmpv6Packet(b), source, destination);
        return b;
    }
}
