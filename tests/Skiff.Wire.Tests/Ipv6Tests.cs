using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class Ipv6Tests
{
    // Linux 6.18 kernel ICMPv6 echo request (ping -6 fd23::2), captured with tcpdump on a veth between two network
    // namespaces; Ethernet header stripped.
    private static readonly byte[] s_echo = Convert.FromHexString(
        "600e9af800403a40fd230000000000000000000000000001fd230000000000000000000000000002800057f61b9600011b37026b000000002b380a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    // Same capture: the kernel's MLDv2 report, with a hop-by-hop header carrying router alert (type 5) and PadN.
    private static readonly byte[] s_mldWithHopByHop = Convert.FromHexString(
        "6000000000380001fe80000000000000000000fffe00000aff0200000000000000000000000000163a000502000001008f006fda0000000204000000ff0200000000000000000001ff00000a04000000ff0200000000000000000001ff000001");

    // Same capture, `ping -6 -s 2000`: the fixed header and fragment header of the second fragment (offset 1448, last);
    // its 560 data bytes are ping's pattern, rebuilt below.
    private const string FragmentHeadersHex = "600e9af802382c40fd230000000000000000000000000001fd2300000000000000000000000000023a0005a8cdd85ff8";

    private static readonly Ipv6Repr s_echoRepr = new(
        Ipv6Address.Parse("fd23::1"), Ipv6Address.Parse("fd23::2"), IpProtocol.Icmpv6, 64, 64, TrafficClass: 0, FlowLabel: 0xe9af8);

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(s_echo, out Ipv6Packet packet));
        Assert.Equal(6, packet.Version);
        Assert.Equal(0, packet.TrafficClass);
        Assert.Equal(0xe9af8u, packet.FlowLabel);
        Assert.Equal(64, packet.PayloadLength);
        Assert.Equal(IpProtocol.Icmpv6, packet.NextHeader);
        Assert.Equal(64, packet.HopLimit);
        Assert.Equal(Ipv6Address.Parse("fd23::1"), packet.Source);
        Assert.Equal(Ipv6Address.Parse("fd23::2"), packet.Destination);
        Assert.Equal(64, packet.Payload.Length);
        Assert.Equal(0x80, packet.Payload[0]);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(40).CopyTo(bytes.AsSpan(40));
        _ = new Ipv6Packet(bytes)
        {
            Version = 6,
            TrafficClass = 0,
            FlowLabel = 0xe9af8,
            PayloadLength = 64,
            NextHeader = IpProtocol.Icmpv6,
            HopLimit = 64,
            Source = Ipv6Address.Parse("fd23::1"),
            Destination = Ipv6Address.Parse("fd23::2"),
        };
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(s_echo, out Ipv6Packet packet));
        Assert.Equal(WireError.Ok, Ipv6Repr.TryParse(packet, out Ipv6Repr repr));
        Assert.Equal(s_echoRepr, repr);
        Assert.Equal("IP6 (flowlabel 0xe9af8, hlim 64, next-header ICMP6 (58) payload length: 64) fd23::1 > fd23::2", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(40).CopyTo(bytes.AsSpan(40));
        s_echoRepr.Emit(new Ipv6Packet(bytes));
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void HopByHopHeaderIsWalkedAndItsOptionsRead()
    {
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(s_mldWithHopByHop, out Ipv6Packet packet));
        Assert.Equal(IpProtocol.HopByHop, packet.NextHeader);
        Assert.Equal(WireError.Ok, Ipv6ExtensionHeaders.TryWalk(packet.NextHeader, packet.Payload, out Ipv6ExtensionChain chain));
        Assert.Equal(new Ipv6ExtensionChain(IpProtocol.Icmpv6, 8, 1, null), chain);

        var reader = new Ipv6OptionReader(packet.Payload[2..8]);
        Assert.True(reader.MoveNext());
        Assert.Equal(Ipv6OptionType.RouterAlert, reader.Current.Type);
        Assert.Equal(new byte[] { 0, 0 }, reader.Current.Data.ToArray()); // MLD (RFC 2711)
        Assert.Equal(Ipv6OptionAction.Skip, reader.Current.UnknownAction);
        Assert.True(reader.MoveNext());
        Assert.Equal(Ipv6OptionType.PadN, reader.Current.Type);
        Assert.Equal(4, reader.Current.Offset);
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.Ok, reader.Error);
    }

    [Fact]
    public void FragmentHeaderStopsTheWalk()
    {
        byte[] bytes = Convert.FromHexString(FragmentHeadersHex).Concat(Enumerable.Range(0, 560).Select(i => (byte)(0xa0 + i))).ToArray();
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(bytes, out Ipv6Packet packet));
        Assert.Equal(WireError.Ok, Ipv6ExtensionHeaders.TryWalk(packet.NextHeader, packet.Payload, out Ipv6ExtensionChain chain));
        Assert.True(chain.IsFragment);
        Assert.Equal(new Ipv6FragmentRepr(1448, false, 0xcdd85ff8), chain.Fragment);
        Assert.Equal(IpProtocol.Icmpv6, chain.UpperLayerProtocol);
        Assert.Equal(8, chain.UpperLayerOffset);

        var header = new byte[8];
        chain.Fragment!.Value.Emit(header, IpProtocol.Icmpv6);
        Assert.Equal(bytes.AsSpan(40, 8).ToArray(), header);
    }

    [Fact]
    public void HopByHopAfterAnotherHeaderIsRejected()
    {
        // Destination options (8 bytes, PadN) then hop-by-hop.
        byte[] payload = [0, 0, 1, 4, 0, 0, 0, 0, 58, 0, 1, 4, 0, 0, 0, 0];
        Assert.Equal(WireError.BadExtensionHeader, Ipv6ExtensionHeaders.TryWalk(IpProtocol.Ipv6Options, payload, out _));
    }

    [Fact]
    public void ChainLongerThanEightIsRejected()
    {
        var payload = new byte[9 * 8 + 8];
        for (int i = 0; i < 10; i++)
        {
            payload[i * 8] = (byte)IpProtocol.Ipv6Options;
            payload[i * 8 + 2] = 1;
            payload[i * 8 + 3] = 4;
        }
        Assert.Equal(WireError.BadExtensionHeader, Ipv6ExtensionHeaders.TryWalk(IpProtocol.Ipv6Options, payload, out _));
        payload[7 * 8] = (byte)IpProtocol.Tcp; // eight headers exactly
        Assert.Equal(WireError.Ok, Ipv6ExtensionHeaders.TryWalk(IpProtocol.Ipv6Options, payload, out Ipv6ExtensionChain chain));
        Assert.Equal(new Ipv6ExtensionChain(IpProtocol.Tcp, 64, 8, null), chain);
    }

    [Fact]
    public void TruncatedOrMalformedExtensionHeadersAreRejected()
    {
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(s_mldWithHopByHop, out Ipv6Packet packet));
        Span<byte> payload = packet.Payload;
        Assert.Equal(WireError.Truncated, Ipv6ExtensionHeaders.TryWalk(IpProtocol.HopByHop, payload[..1], out _));
        Assert.Equal(WireError.Truncated, Ipv6ExtensionHeaders.TryWalk(IpProtocol.HopByHop, payload[..7], out _));
        Assert.Equal(WireError.Truncated, Ipv6ExtensionHeaders.TryWalk(IpProtocol.Ipv6Fragment, payload[..7], out _));
        byte[] badOption = payload.ToArray();
        badOption[7] = 1; // PadN claiming 1 data byte where none remain
        Assert.Equal(WireError.BadOptionLength, Ipv6ExtensionHeaders.TryWalk(IpProtocol.HopByHop, badOption, out _));
    }

    [Fact]
    public void TruncatedAndImpossibleLengthsAreRejected()
    {
        for (int length = 0; length < 40; length++)
        {
            Assert.Equal(WireError.Truncated, Ipv6Packet.TryCreate(s_echo.AsSpan(0, length).ToArray(), out _));
        }
        Assert.Equal(WireError.Truncated, Ipv6Packet.TryCreate(s_echo.AsSpan(0, s_echo.Length - 1).ToArray(), out _));
        byte[] bytes = (byte[])s_echo.Clone();
        bytes[4] = 0xff; // payload length 65344+
        Assert.Equal(WireError.Truncated, Ipv6Packet.TryCreate(bytes, out _));
        bytes = (byte[])s_echo.Clone();
        bytes[0] = 0x40;
        Assert.Equal(WireError.Ok, Ipv6Packet.TryCreate(bytes, out Ipv6Packet packet));
        Assert.Equal(WireError.BadVersion, Ipv6Repr.TryParse(packet, out _));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<Ipv6Address> address =
            from hi in Gen.Choose(int.MinValue, int.MaxValue)
            from lo in Gen.Choose(int.MinValue, int.MaxValue)
            select new Ipv6Address(new UInt128((ulong)(uint)hi << 17, (ulong)(uint)lo * 0x1_0001));
        Gen<Ipv6Repr> gen =
            from src in address
            from dst in address
            from next in Gen.Choose(0, 255)
            from payload in Gen.Choose(0, 300)
            from hop in Gen.Choose(0, 255)
            from tc in Gen.Choose(0, 255)
            from flow in Gen.Choose(0, 0xFFFFF)
            select new Ipv6Repr(src, dst, (IpProtocol)next, payload, (byte)hop, (byte)tc, (uint)flow);
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.HeaderLength + repr.PayloadLength];
            repr.Emit(new Ipv6Packet(bytes));
            return Ipv6Packet.TryCreate(bytes, out Ipv6Packet packet) == WireError.Ok
                && Ipv6Repr.TryParse(packet, out Ipv6Repr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}
