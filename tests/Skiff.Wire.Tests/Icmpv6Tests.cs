using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class Icmpv6Tests
{
    // Linux 6.18 kernel traffic captured with tcpdump on veths between network namespaces; IPv6 headers stripped.
    // Echo request from ping -6, fd23::1 > fd23::2 (id 0x1b96, seq 1, 56 data bytes).
    private static readonly Ipv6Address s_host1 = Ipv6Address.Parse("fd23::1");
    private static readonly Ipv6Address s_host2 = Ipv6Address.Parse("fd23::2");
    private static readonly byte[] s_echo = Convert.FromHexString(
        "800057f61b9600011b37026b000000002b380a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    // Port unreachable fd23::2 > fd23::1 for a UDP datagram "hello" to port 9.
    private static readonly byte[] s_portUnreachable = Convert.FromHexString(
        "0104f9dc000000006009dab5000d1140fd230000000000000000000000000001fd23000000000000000000000000000285b40009000dfa6868656c6c6f");

    // Time exceeded fd23::fe > fd23::1 from a forwarding namespace for `ping -6 -t 1 fd23:9::2`.
    private static readonly byte[] s_timeExceeded = Convert.FromHexString(
        "0300db340000000060018c1100403a01fd230000000000000000000000000001fd2300090000000000000000000000028000bb731c1500012537026b00000000c032070000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    private static readonly Icmpv6Repr s_echoRepr = Icmpv6Repr.EchoRequest(0x1b96, 1, 56);

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_echo, out Icmpv6Packet packet));
        Assert.Equal(Icmpv6Type.EchoRequest, packet.Type);
        Assert.Equal(0, packet.Code);
        Assert.Equal(0x57f6, packet.MessageChecksum);
        Assert.True(packet.VerifyChecksum(s_host1, s_host2));
        Assert.False(packet.VerifyChecksum(s_host2, Ipv6Address.Parse("fd23::3")));
        Assert.Equal(0x1b96, packet.Identifier);
        Assert.Equal(1, packet.SequenceNumber);
        Assert.Equal(56, packet.Data.Length);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(8).CopyTo(bytes.AsSpan(8));
        var packet = new Icmpv6Packet(bytes) { Type = Icmpv6Type.EchoRequest, Code = 0, Identifier = 0x1b96, SequenceNumber = 1 };
        packet.FillChecksum(s_host1, s_host2);
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_echo, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(s_echoRepr, repr);
        Assert.Equal("ICMP6, echo request, id 7062, seq 1, length 64", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_echoRepr.BufferLength];
        s_echo.AsSpan(8).CopyTo(bytes.AsSpan(8));
        s_echoRepr.Emit(new Icmpv6Packet(bytes), s_host1, s_host2);
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void PortUnreachableRoundTripsAndQuotesTheDatagram()
    {
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_portUnreachable, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, s_host2, s_host1, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(Icmpv6Repr.DestinationUnreachable(Icmpv6DestinationUnreachableCode.PortUnreachable, 53), repr);
        Assert.Equal("ICMP6, destination unreachable, unreachable port, length 61", repr.ToString());
        Assert.Equal(WireError.Ok, packet.TryReadInvokingPacket(out Ipv6Repr quoted, out Span<byte> leading));
        Assert.Equal(new Ipv6Repr(s_host1, s_host2, IpProtocol.Udp, 13, 64, 0, 0x9dab5), quoted);
        Assert.Equal(13, leading.Length);

        var bytes = new byte[repr.BufferLength];
        s_portUnreachable.AsSpan(8).CopyTo(bytes.AsSpan(8));
        repr.Emit(new Icmpv6Packet(bytes), s_host2, s_host1);
        Assert.Equal(s_portUnreachable, bytes);
    }

    [Fact]
    public void TimeExceededRoundTrips()
    {
        Ipv6Address router = Ipv6Address.Parse("fd23::fe");
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_timeExceeded, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, router, s_host1, verifyChecksum: true, out Icmpv6Repr repr));
        Assert.Equal(Icmpv6Repr.TimeExceeded(Icmpv6TimeExceededCode.HopLimitExceeded, 104), repr);
        Assert.Equal("ICMP6, time exceeded in-transit, length 112", repr.ToString());
        var bytes = new byte[repr.BufferLength];
        s_timeExceeded.AsSpan(8).CopyTo(bytes.AsSpan(8));
        repr.Emit(new Icmpv6Packet(bytes), router, s_host1);
        Assert.Equal(s_timeExceeded, bytes);
    }

    [Fact]
    public void PacketTooBigCarriesTheMtu()
    {
        // First 8 bytes of the kernel's packet too big (mtu 1280) from a forwarding namespace, followed by the
        // quoted header of the echo request it refused; the rest of the 1232-byte quote is left out, so the
        // checksum is not checked here.
        byte[] bytes = Convert.FromHexString(
            "0200abd20000050060018c1105803a40fd230000000000000000000000000001fd23000900000000000000000000000280007ad8");
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(bytes, out Icmpv6Packet packet));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, Ipv6Address.Parse("fd23::fe"), s_host1, verifyChecksum: false, out Icmpv6Repr repr));
        Assert.Equal(Icmpv6Repr.PacketTooBig(1280, 44), repr);
        Assert.Equal(WireError.Ok, packet.TryReadInvokingPacket(out Ipv6Repr quoted, out _));
        Assert.Equal(Ipv6Address.Parse("fd23:9::2"), quoted.Destination);
    }

    [Fact]
    public void BadChecksumAndUnknownTypesAreReported()
    {
        byte[] bytes = (byte[])s_echo.Clone();
        bytes[30] ^= 1;
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(bytes, out Icmpv6Packet packet));
        Assert.Equal(WireError.BadChecksum, Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: true, out _));
        Assert.Equal(WireError.Ok, Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: false, out _));
        packet.Type = Icmpv6Type.MulticastListenerReportV2;
        Assert.Equal(WireError.Unsupported, Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: false, out _));
        packet.Type = (Icmpv6Type)200;
        Assert.Equal(WireError.BadOperation, Icmpv6Repr.TryParse(packet, s_host1, s_host2, verifyChecksum: false, out _));
    }

    [Fact]
    public void TruncatedMessagesAreRejected()
    {
        for (int length = 0; length < 8; length++)
        {
            Assert.Equal(WireError.Truncated, Icmpv6Packet.TryCreate(s_echo.AsSpan(0, length).ToArray(), out _));
        }
        Assert.Equal(WireError.Ok, Icmpv6Packet.TryCreate(s_portUnreachable.AsSpan(0, 47).ToArray(), out Icmpv6Packet shortError));
        Assert.Equal(WireError.Truncated, Icmpv6Repr.TryParse(shortError, s_host2, s_host1, verifyChecksum: false, out _));
        Assert.Equal(WireError.Truncated, shortError.TryReadInvokingPacket(out _, out _));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<Icmpv6Repr> gen =
            from kind in Gen.Choose(0, 5)
            from id in Gen.Choose(0, 0xFFFF)
            from seq in Gen.Choose(0, 0xFFFF)
            from code in Gen.Choose(0, 6)
            from word in Gen.Choose(int.MinValue, int.MaxValue)
            from data in Gen.Choose(0, 100)
            select kind switch
            {
                0 => Icmpv6Repr.EchoRequest((ushort)id, (ushort)seq, data),
                1 => Icmpv6Repr.EchoReply((ushort)id, (ushort)seq, data),
                2 => Icmpv6Repr.DestinationUnreachable((Icmpv6DestinationUnreachableCode)code, 40 + data),
                3 => Icmpv6Repr.PacketTooBig((uint)word, 40 + data),
                4 => Icmpv6Repr.TimeExceeded((Icmpv6TimeExceededCode)(code & 1), 40 + data),
                _ => new Icmpv6Repr(Icmpv6Type.ParameterProblem, (byte)code) { Pointer = (uint)word, DataLength = 40 + data },
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
