using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class NdpTests
{
    private static readonly Ipv6Address s_host1 = Ipv6Address.Parse("fd23::1");
    private static readonly Ipv6Address s_host2 = Ipv6Address.Parse("fd23::2");
    private static readonly MacAddress s_mac1 = MacAddress.Parse("02:00:00:00:00:0a");
    private static readonly MacAddress s_mac2 = MacAddress.Parse("02:00:00:00:00:0b");

    // Linux 6.18 kernel neighbor discovery captured with tcpdump on a veth between two network namespaces (ping -6
    // fd23::2); IPv6 headers stripped. Solicitation fd23::1 > ff02::1:ff00:2 with a source link-layer option.
    private static readonly byte[] s_solicitation = Convert.FromHexString(
        "87007d4800000000fd230000000000000000000000000002010102000000000a");

    // Its answer fd23::2 > fd23::1: flags solicited + override, target link-layer option.
    private static readonly byte[] s_advertisement = Convert.FromHexString(
        "88001c2860000000fd230000000000000000000000000002020102000000000b");

    // Router solicitation fe80::ff:fe00:a > ff02::2 the kernel sends when the link comes up.
    private static readonly byte[] s_routerSolicitation = Convert.FromHexString("85007b1a00000000010102000000000a");

    // Duplicate address detection :: > ff02::1:ff00:a for fe80::ff:fe00:a, with a nonce option (type 14, RFC 7527).
    private static readonly byte[] s_dad = Convert.FromHexString(
        "8700f26800000000fe80000000000000000000fffe00000a0e017e690801f636");

    // scapy 2.5.0 (Linux sends no RAs without radvd): ICMPv6ND_RA(chlim=64, O=1, routerlifetime=1800, reachabletime=30000,
    // retranstimer=1000)/ICMPv6NDOptSrcLLAddr(02:00:00:00:00:01)/ICMPv6NDOptMTU(1500)/ICMPv6NDOptPrefixInfo(fd23::/64),
    // fe80::ff:fe00:1 > ff02::1.
    private static readonly byte[] s_routerAdvertisement = Convert.FromHexString(
        "86006dcf4048070800007530000003e8010102000000000105010000000005dc030440c0ffffffffffffffff00000000fd230000000000000000000000000000");

    private static readonly Icmpv6Repr s_solicitationRepr = Icmpv6Repr.NeighborSolicitation(s_host2, s_mac1);

    private static Ipv6Address SolicitedNode(Ipv6Address a) => a.SolicitedNode;

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_advertisement, out Icmpv6Packet packet));
        Assert.Equal(Icmpv6Type.NeighborAdvertisement, packet.Type);
        Assert.Equal(24, packet.HeaderLength);
        Assert.Equal(NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, packet.NeighborFlags);
        Assert.Equal(s_host2, packet.TargetAddress);
        Assert.True(packet.VerifyChecksum(s_host2, s_host1));

        var reader = new NdpOptionReader(packet.Data);
        Assert.True(reader.MoveNext());
        Assert.Equal(NdpOptionType.TargetLinkLayerAddress, reader.Current.Type);
        Assert.Equal(s_mac2, MacAddress.Read(reader.Current.Data));
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.Ok, reader.Error);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_advertisement.Length];
        s_advertisement.AsSpan(24).CopyTo(bytes.AsSpan(24));
        var packet = new Icmpv6Packet(bytes)
        {
            Type = Icmpv6Type.NeighborAdvertisement,
            NeighborFlags = NdpNeighborFlags.Solicited | NdpNeighborFlags.Override,
            TargetAddress = s_host2,
        };
        packet.FillChecksum(s_host2, s_host1);
        Assert.Equal(s_advertisement, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_solicitation, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, s_host1, SolicitedNode(s_host2), verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(s_solicitationRepr, repr);
        Assert.Equal("ICMP6, neighbor solicitation, who has fd23::2, source link-address 02:00:00:00:00:0a, length 32", repr.ToString());

        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_advertisement, out packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, s_host2, s_host1, verifyChecksum: true, out repr));
        Assert.Equal(Icmpv6Repr.NeighborAdvertisement(s_host2, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, s_mac2), repr);
        Assert.Equal("ICMP6, neighbor advertisement, tgt is fd23::2, Flags [solicited, override], target link-address 02:00:00:00:00:0b, length 32", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_solicitationRepr.BufferLength];
        s_solicitationRepr.Emit(new Icmpv6Packet(bytes), s_host1, SolicitedNode(s_host2));
        Assert.Equal(s_solicitation, bytes);

        Icmpv6Repr advertisement = Icmpv6Repr.NeighborAdvertisement(s_host2, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, s_mac2);
        bytes = new byte[advertisement.BufferLength];
        advertisement.Emit(new Icmpv6Packet(bytes), s_host2, s_host1);
        Assert.Equal(s_advertisement, bytes);
    }

    [Fact]
    public void RouterSolicitationRoundTrips()
    {
        Ipv6Address source = Ipv6Address.Parse("fe80::ff:fe00:a");
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_routerSolicitation, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, source, Ipv6Address.AllRouters, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(Icmpv6Repr.RouterSolicitation(s_mac1), repr);
        var bytes = new byte[repr.BufferLength];
        repr.Emit(new Icmpv6Packet(bytes), source, Ipv6Address.AllRouters);
        Assert.Equal(s_routerSolicitation, bytes);
    }

    [Fact]
    public void RouterAdvertisementFieldsAndOptions()
    {
        Ipv6Address router = Ipv6Address.Parse("fe80::ff:fe00:1");
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_routerAdvertisement, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, router, Ipv6Address.AllNodes, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(64, repr.CurrentHopLimit);
        // O flag, plus scapy's default router preference "high" (0x08, RFC 4191 section 2.2), preserved as a raw bit.
        Assert.Equal(NdpRouterFlags.OtherConfiguration | (NdpRouterFlags)0x08, repr.RouterFlags);
        Assert.Equal(1800, repr.RouterLifetimeSeconds);
        Assert.Equal(30000u, repr.ReachableTimeMillis);
        Assert.Equal(1000u, repr.RetransTimerMillis);
        Assert.Equal(MacAddress.Parse("02:00:00:00:00:01"), repr.SourceLinkLayerAddress);
        Assert.Equal(1500u, repr.LinkMtu);

        // The prefix option stays in the packet for the stack to read.
        var reader = new NdpOptionReader(packet.Data);
        int prefixes = 0;
        while (reader.MoveNext())
        {
            if (reader.Current.Type == NdpOptionType.PrefixInformation)
            {
                prefixes++;
                Assert.Equal(64, reader.Current.Data[0]);
                Assert.Equal(Ipv6Address.Parse("fd23::"), Ipv6Address.Read(reader.Current.Data[14..]));
            }
        }
        Assert.Equal(WireError.Ok, reader.Error);
        Assert.Equal(1, prefixes);

        // Emit writes the options the repr holds (link-layer address and MTU): the message minus the prefix option.
        var bytes = new byte[repr.BufferLength];
        repr.Emit(new Icmpv6Packet(bytes), router, Ipv6Address.AllNodes, fillChecksum: false);
        Assert.Equal(s_routerAdvertisement.AsSpan(4, 28).ToArray(), bytes.AsSpan(4).ToArray());
    }

    [Fact]
    public void DuplicateAddressDetectionIgnoresTheNonceOption()
    {
        Ipv6Address target = Ipv6Address.Parse("fe80::ff:fe00:a");
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_dad, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, Ipv6Address.Unspecified, target.SolicitedNode, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(Icmpv6Repr.NeighborSolicitation(target, null), repr);
        // The same solicitation sent anywhere but the target's solicited-node group is invalid (RFC 4861 section 7.1.1).
        Assert.Equal(WireError.BadAddress, Icmpv6Repr.TryParse(packet, Ipv6Address.Unspecified, Ipv6Address.AllNodes, verifyChecksum: false, out _));
    }

    [Fact]
    public void InvalidNdpMessagesAreRejected()
    {
        // Source link-layer option from the unspecified address.
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate((byte[])s_solicitation.Clone(), out Icmpv6Packet packet));
        Assert.Equal(WireError.BadOption, Icmpv6Repr.TryParse(packet, Ipv6Address.Unspecified, SolicitedNode(s_host2), verifyChecksum: false, out _));
        // Non-zero code.
        packet.Code = 1;
        Assert.Equal(WireError.BadOperation, Icmpv6Repr.TryParse(packet, s_host1, SolicitedNode(s_host2), verifyChecksum: false, out _));
        packet.Code = 0;
        // Multicast target.
        packet.TargetAddress = Ipv6Address.AllNodes;
        Assert.Equal(WireError.BadAddress, Icmpv6Repr.TryParse(packet, s_host1, SolicitedNode(s_host2), verifyChecksum: false, out _));
        // Solicited advertisement to a multicast group.
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate((byte[])s_advertisement.Clone(), out packet));
        Assert.Equal(WireError.BadFlags, Icmpv6Repr.TryParse(packet, s_host2, Ipv6Address.AllNodes, verifyChecksum: false, out _));
        // Link-layer option of 16 bytes (length 2) is not an Ethernet address.
        byte[] bytes = s_advertisement.Concat(new byte[8]).ToArray();
        bytes[25] = 2;
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(bytes, out packet));
        Assert.Equal(WireError.BadOption, Icmpv6Repr.TryParse(packet, s_host2, s_host1, verifyChecksum: false, out _));
    }

    [Theory]
    [InlineData(0)] // length 0 must be discarded (RFC 4861 section 4.6)
    [InlineData(2)] // runs past the end of the message
    public void MalformedOptionLengthIsRejected(byte length)
    {
        byte[] bytes = (byte[])s_solicitation.Clone();
        bytes[25] = length;
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(bytes, out Icmpv6Packet packet));
        Assert.Equal(WireError.BadOptionLength, Icmpv6Repr.TryParse(packet, s_host1, SolicitedNode(s_host2), verifyChecksum: false, out _));
        Assert.Equal(WireError.BadOptionLength, NdpOptionReader.Validate(packet.Data));
    }

    [Fact]
    public void TruncatedMessagesAreRejected()
    {
        for (int length = 4; length < 24; length++)
        {
            Assert.Equal(WireError.Truncated, Icmpv6Packet.TryCreate(s_solicitation.AsSpan(0, length).ToArray(), out _));
        }
        for (int length = 4; length < 16; length++)
        {
            Assert.Equal(WireError.Truncated, Icmpv6Packet.TryCreate(s_routerAdvertisement.AsSpan(0, length).ToArray(), out _));
        }
        // A single byte of options cannot hold a type and a length.
        Assert.Equal(WireError.BadOptionLength, NdpOptionReader.Validate(new byte[] { 1 }));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<Ipv6Address> unicast =
            from hi in Gen.Choose(0, int.MaxValue)
            from lo in Gen.Choose(int.MinValue, int.MaxValue)
            select new Ipv6Address(new UInt128(0xFD00_0000_0000_0000UL | (uint)hi, (ulong)(uint)lo * 3));
        Gen<MacAddress?> mac =
            from present in Gen.Elements(true, false)
            from value in Gen.Choose(int.MinValue, int.MaxValue)
            select present ? new MacAddress((ulong)(uint)value << 8) : (MacAddress?)null;
        Gen<Icmpv6Repr> gen =
            from kind in Gen.Choose(0, 3)
            from target in unicast
            from lladdr in mac
            from flags in Gen.Choose(0, 7)
            from hop in Gen.Choose(0, 255)
            from lifetime in Gen.Choose(0, 0xFFFF)
            from reachable in Gen.Choose(0, int.MaxValue)
            from mtu in Gen.Elements<uint?>(null, 1280, 1500, 9000)
            select kind switch
            {
                0 => Icmpv6Repr.NeighborSolicitation(target, lladdr),
                1 => Icmpv6Repr.NeighborAdvertisement(target, (NdpNeighborFlags)(flags << 5), lladdr),
                2 => Icmpv6Repr.RouterSolicitation(lladdr),
                _ => new Icmpv6Repr(Icmpv6Type.RouterAdvertisement, 0)
                {
                    CurrentHopLimit = (byte)hop,
                    RouterFlags = (NdpRouterFlags)(flags << 5),
                    RouterLifetimeSeconds = (ushort)lifetime,
                    ReachableTimeMillis = (uint)reachable,
                    RetransTimerMillis = (uint)reachable / 3,
                    SourceLinkLayerAddress = lladdr,
                    LinkMtu = mtu,
                },
            };
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.BufferLength];
            repr.Emit(new Icmpv6Packet(bytes), s_host1, s_host2);
            return Icmpv6Packet.TryCreate(bytes, out Icmpv6Packet packet) == WireError.Ok
                && Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: true, out Icmpv6Repr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}
