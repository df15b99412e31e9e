using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class Icmpv4Tests
{
    // Linux 6.18 kernel traffic captured with tcpdump on veths between network namespaces; IP headers stripped.
    // Echo request from iputils ping (id 0x1b92, seq 1, 56 data bytes).
    private static readonly byte[] s_echo = Convert.FromHexString(
        "080061f11b9200011b37026b0000000094060a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    // Port unreachable the kernel sent for a UDP datagram "hello" to 10.23.0.2 port 9 (quotes the whole datagram).
    private static readonly byte[] s_portUnreachable = Convert.FromHexString(
        "0303da7c000000004500002126974000401100050a1700010a170002ca480009000d144f68656c6c6f");

    // Time exceeded from a forwarding namespace for `ping -t 1` (quotes the whole 84-byte echo request).
    private static readonly byte[] s_timeExceeded = Convert.FromHexString(
        "0b00f4ff00000000450000543a184000010122610a1700010a1709020800bc6b1c1300012537026b00000000320b070000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    private static readonly Icmpv4Repr s_echoRepr = Icmpv4Repr.EchoRequest(0x1b92, 1, 56);

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(s_echo, out Icmpv4Packet packet));
        Assert.Equal(Icmpv4Type.EchoRequest, packet.Type);
        Assert.Equal(0, packet.Code);
        Assert.Equal(0x61f1, packet.MessageChecksum);
        Assert.True(packet.VerifyChecksum());
        Assert.Equal(0x1b92, packet.Identifier);
        Assert.Equal(1, packet.SequenceNumber);
        Assert.Equal(56, packet.Data.Length);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(8).CopyTo(bytes.AsSpan(8));
        var packet = new Icmpv4Packet(bytes) { Type = Icmpv4Type.EchoRequest, Code = 0, Identifier = 0x1b92, SequenceNumber = 1 };
        packet.FillChecksum();
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(s_echo, out Icmpv4Packet packet));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(packet, verifyChecksum: true, out Icmpv4Repr repr));
        Assert.Equal(s_echoRepr, repr);
        Assert.Equal("ICMP echo request, id 7058, seq 1, length 64", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_echoRepr.BufferLength];
        s_echo.AsSpan(8).CopyTo(bytes.AsSpan(8));
        s_echoRepr.Emit(new Icmpv4Packet(bytes));
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void PortUnreachableRoundTripsAndQuotesTheDatagram()
    {
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(s_portUnreachable, out Icmpv4Packet packet));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(packet, verifyChecksum: true, out Icmpv4Repr repr));
        Assert.Equal(Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.PortUnreachable, 33), repr);
        Assert.True(repr.IsError);
        Assert.Equal("ICMP port unreachable, length 41", repr.ToString());

        Assert.Equal(WireError.Ok, packet.TryReadInvokingPacket(out Ipv4Repr quoted, out Span<byte> leading));
        Assert.Equal(Ipv4Address.Parse("10.23.0.1"), quoted.Source);
        Assert.Equal(Ipv4Address.Parse("10.23.0.2"), quoted.Destination);
        Assert.Equal(IpProtocol.Udp, quoted.Protocol);
        Assert.Equal(13, leading.Length);
        Assert.Equal(9, (leading[2] << 8) | leading[3]); // the UDP destination port

        var bytes = new byte[repr.BufferLength];
        s_portUnreachable.AsSpan(8).CopyTo(bytes.AsSpan(8));
        repr.Emit(new Icmpv4Packet(bytes));
        Assert.Equal(s_portUnreachable, bytes);
    }

    [Fact]
    public void TimeExceededRoundTrips()
    {
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(s_timeExceeded, out Icmpv4Packet packet));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(packet, verifyChecksum: true, out Icmpv4Repr repr));
        Assert.Equal(Icmpv4Repr.TimeExceeded(Icmpv4TimeExceededCode.TtlExceeded, 84), repr);
        Assert.Equal("ICMP time exceeded in-transit, length 92", repr.ToString());
        var bytes = new byte[repr.BufferLength];
        s_timeExceeded.AsSpan(8).CopyTo(bytes.AsSpan(8));
        repr.Emit(new Icmpv4Packet(bytes));
        Assert.Equal(s_timeExceeded, bytes);
    }

    [Fact]
    public void FragmentationNeededCarriesTheNextHopMtu()
    {
        // Header of the kernel's "need to frag (mtu 1280)" from a forwarding namespace (ping -M do -s 1400); the
        // 548-byte quote is not reproduced, so the checksum is not checked here.
        byte[] bytes = Convert.FromHexString("03040ec9000005004500059400004000400118390a1700010a1709020800f10d1c140001");
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet packet));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(packet, verifyChecksum: false, out Icmpv4Repr repr));
        Assert.Equal(Icmpv4DestinationUnreachableCode.FragmentationNeeded, repr.UnreachableCode);
        Assert.Equal(1280, repr.NextHopMtu);
        Assert.Equal("ICMP unreachable - need to frag (mtu 1280), length 36", repr.ToString());
    }

    [Fact]
    public void BadChecksumAndUnknownTypesAreReported()
    {
        byte[] bytes = (byte[])s_echo.Clone();
        bytes[20] ^= 0x40;
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet packet));
        Assert.Equal(WireError.BadChecksum, Icmpv4Repr.TryParse(packet, verifyChecksum: true, out _));
        Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(packet, verifyChecksum: false, out _));

        packet.Type = Icmpv4Type.Timestamp;
        Assert.Equal(WireError.Unsupported, Icmpv4Repr.TryParse(packet, verifyChecksum: false, out _));
        packet.Type = (Icmpv4Type)42;
        Assert.Equal(WireError.BadOperation, Icmpv4Repr.TryParse(packet, verifyChecksum: false, out _));
    }

    [Fact]
    public void TruncatedMessagesAreRejected()
    {
        for (int length = 0; length < 8; length++)
        {
            Assert.Equal(WireError.Truncated, Icmpv4Packet.TryCreate(s_echo.AsSpan(0, length).ToArray(), out _));
        }
        // An error quoting fewer than 20 bytes cannot name the packet it concerns.
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(s_portUnreachable.AsSpan(0, 27).ToArray(), out Icmpv4Packet shortError));
        Assert.Equal(WireError.Truncated, Icmpv4Repr.TryParse(shortError, verifyChecksum: false, out _));
        // A quoted IHL of 15 reaching past the quote.
        byte[] bytes = (byte[])s_portUnreachable.Clone();
        bytes[8] = 0x4f;
        Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet packet));
        Assert.Equal(WireError.Truncated, packet.TryReadInvokingPacket(out _, out _));
        bytes[8] = 0x44;
        Assert.Equal(WireError.BadHeaderLength, packet.TryReadInvokingPacket(out _, out _));
        bytes[8] = 0x65;
        Assert.Equal(WireError.BadVersion, packet.TryReadInvokingPacket(out _, out _));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<Icmpv4Repr> gen =
            from kind in Gen.Choose(0, 5)
            from id in Gen.Choose(0, 0xFFFF)
            from seq in Gen.Choose(0, 0xFFFF)
            from code in Gen.Choose(0, 15)
            from mtu in Gen.Choose(0, 0xFFFF)
            from pointer in Gen.Choose(0, 255)
            from data in Gen.Choose(0, 100)
            select kind switch
            {
                0 => Icmpv4Repr.EchoRequest((ushort)id, (ushort)seq, data),
                1 => Icmpv4Repr.EchoReply((ushort)id, (ushort)seq, data),
                2 => Icmpv4Repr.DestinationUnreachable((Icmpv4DestinationUnreachableCode)code, 20 + data, (ushort)mtu),
                3 => Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.FragmentationNeeded, 20 + data, (ushort)mtu),
                4 => Icmpv4Repr.TimeExceeded((Icmpv4TimeExceededCode)(code & 1), 20 + data),
                _ => Icmpv4Repr.ParameterProblem((byte)pointer, 20 + data),
            };
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.BufferLength];
            repr.Emit(new Icmpv4Packet(bytes));
            return Icmpv4Packet.TryCreate(bytes, out Icmpv4Packet packet) == WireError.Ok
                && Icmpv4Repr.TryParse(packet, verifyChecksum: true, out Icmpv4Repr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}
