using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class Ipv4Tests
{
    // Linux 6.18 kernel ICMP echo request (iputils ping 10.23.0.2), captured with tcpdump on a veth between two
    // network namespaces; Ethernet header stripped.
    private static readonly byte[] s_echo = Convert.FromHexString(
        "45000054dddd40004001489b0a1700010a170002080061f11b9200011b37026b0000000094060a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    // Same capture, `ping -R` (record route option, IHL 15: NOP, then RR with length 39 filling the area).
    private static readonly byte[] s_recordRoute = Convert.FromHexString(
        "4f00007cdddf400040010c4a0a1700010a170002010727080a170001000000000000000000000000000000000000000000000000000000000000000008000ad61b9400011b37026b00000000eb1f0a0000000000101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637");

    // Same capture, `ping -s 2000`: the header of the second fragment (offset 185 x 8 = 1480, 528 payload bytes).
    private const string FragmentHeaderHex = "45000224ddde00b9400186110a1700010a170002";

    private static readonly Ipv4Repr s_echoRepr = new(Ipv4Address.Parse("10.23.0.1"), Ipv4Address.Parse("10.23.0.2"), IpProtocol.Icmp, 64, 64)
    {
        Identification = 0xdddd,
        DontFragment = true,
    };

    [Fact]
    public void BytesToFields()
    {
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(s_echo, out Ipv4Packet packet));
        Assert.Equal(4, packet.Version);
        Assert.Equal(20, packet.HeaderLength);
        Assert.Equal(0, packet.Dscp);
        Assert.Equal(0, packet.Ecn);
        Assert.Equal(84, packet.TotalLength);
        Assert.Equal(0xdddd, packet.Identification);
        Assert.True(packet.DontFragment);
        Assert.False(packet.MoreFragments);
        Assert.Equal(0, packet.FragmentOffset);
        Assert.Equal(64, packet.TimeToLive);
        Assert.Equal(IpProtocol.Icmp, packet.Protocol);
        Assert.Equal(0x489b, packet.HeaderChecksum);
        Assert.True(packet.VerifyChecksum());
        Assert.Equal(Ipv4Address.Parse("10.23.0.1"), packet.Source);
        Assert.Equal(Ipv4Address.Parse("10.23.0.2"), packet.Destination);
        Assert.Equal(64, packet.Payload.Length);
        Assert.Equal(0x08, packet.Payload[0]);
    }

    [Fact]
    public void FieldsToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(20).CopyTo(bytes.AsSpan(20));
        var packet = new Ipv4Packet(bytes)
        {
            Version = 4,
            HeaderLength = 20,
            TotalLength = 84,
            Identification = 0xdddd,
            DontFragment = true,
            TimeToLive = 64,
            Protocol = IpProtocol.Icmp,
            Source = Ipv4Address.Parse("10.23.0.1"),
            Destination = Ipv4Address.Parse("10.23.0.2"),
        };
        packet.FillChecksum();
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(s_echo, out Ipv4Packet packet));
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(packet, verifyChecksum: true, out Ipv4Repr repr));
        Assert.Equal(s_echoRepr, repr);
        Assert.Equal("IP (tos 0x0, ttl 64, id 56797, offset 0, flags [DF], proto ICMP (1), length 84) 10.23.0.1 > 10.23.0.2", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        var bytes = new byte[s_echo.Length];
        s_echo.AsSpan(20).CopyTo(bytes.AsSpan(20));
        s_echoRepr.Emit(new Ipv4Packet(bytes));
        Assert.Equal(20, s_echoRepr.HeaderLength);
        Assert.Equal(s_echo, bytes);
    }

    [Fact]
    public void EmitCanLeaveTheChecksumToTheDevice()
    {
        var bytes = new byte[20];
        Ipv4Repr repr = s_echoRepr with { PayloadLength = 0 };
        repr.Emit(new Ipv4Packet(bytes), fillChecksum: false);
        Assert.Equal(0, new Ipv4Packet(bytes).HeaderChecksum);
    }

    [Fact]
    public void OptionsAreValidatedCountedAndIterated()
    {
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(s_recordRoute, out Ipv4Packet packet));
        Assert.Equal(60, packet.HeaderLength);
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(packet, verifyChecksum: true, out Ipv4Repr repr));
        Assert.Equal(40, repr.OptionsLength);
        Assert.Equal(64, repr.PayloadLength);

        var reader = new Ipv4OptionReader(packet.Options);
        Assert.True(reader.MoveNext());
        Assert.Equal(Ipv4OptionType.NoOperation, reader.Current.Type);
        Assert.True(reader.MoveNext());
        Assert.Equal(Ipv4OptionType.RecordRoute, reader.Current.Type);
        Assert.Equal(37, reader.Current.Data.Length);
        Assert.Equal(8, reader.Current.Data[0]); // pointer: one address recorded
        Assert.Equal(Ipv4Address.Parse("10.23.0.1"), Ipv4Address.Read(reader.Current.Data[1..]));
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.Ok, reader.Error);

        // Emit with the option bytes already in place reproduces the kernel's header, checksum included.
        var bytes = new byte[s_recordRoute.Length];
        s_recordRoute.AsSpan(20).CopyTo(bytes.AsSpan(20));
        repr.Emit(new Ipv4Packet(bytes));
        Assert.Equal(s_recordRoute, bytes);
    }

    [Theory]
    [InlineData(0)] // length 0
    [InlineData(1)] // length 1
    [InlineData(40)] // runs past the options area
    public void MalformedOptionLengthIsRejected(byte length)
    {
        byte[] bytes = (byte[])s_recordRoute.Clone();
        bytes[22] = length;
        var packet = new Ipv4Packet(bytes);
        packet.FillChecksum();
        Assert.Equal(WireError.BadOptionLength, Ipv4Repr.TryParse(packet, verifyChecksum: true, out _));
        Assert.Equal(WireError.BadOptionLength, Ipv4OptionReader.Validate(packet.Options));
    }

    [Fact]
    public void OptionWithoutRoomForItsLengthOctetIsRejected()
    {
        Assert.Equal(WireError.BadOptionLength, Ipv4OptionReader.Validate(new byte[] { 1, 1, 1, 7 }));
        // End-of-list stops the walk: what follows it is padding, not options.
        var reader = new Ipv4OptionReader(new byte[] { 1, 0, 7, 0 });
        Assert.True(reader.MoveNext());
        Assert.True(reader.MoveNext());
        Assert.Equal(Ipv4OptionType.EndOfList, reader.Current.Type);
        Assert.False(reader.MoveNext());
        Assert.Equal(WireError.Ok, reader.Error);
    }

    [Fact]
    public void FragmentFieldsAreInBytes()
    {
        byte[] bytes = Convert.FromHexString(FragmentHeaderHex).Concat(Enumerable.Range(0, 528).Select(i => (byte)(0xc0 + i))).ToArray();
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(bytes, out Ipv4Packet packet));
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(packet, verifyChecksum: true, out Ipv4Repr repr));
        Assert.Equal(1480, repr.FragmentOffset);
        Assert.False(repr.MoreFragments);
        Assert.False(repr.DontFragment);
        Assert.True(repr.IsFragment);
        Assert.Equal(528, repr.PayloadLength);

        var emitted = new byte[bytes.Length];
        bytes.AsSpan(20).CopyTo(emitted.AsSpan(20));
        repr.Emit(new Ipv4Packet(emitted));
        Assert.Equal(bytes, emitted);
    }

    [Fact]
    public void FragmentEndingPast65535IsRejected()
    {
        byte[] bytes = (byte[])s_echo.Clone();
        var packet = new Ipv4Packet(bytes) { FragmentOffset = 65528 };
        packet.FillChecksum();
        Assert.Equal(WireError.BadFragment, Ipv4Repr.TryParse(packet, verifyChecksum: true, out _));
    }

    [Fact]
    public void EthernetPaddingIsExcludedFromThePayload()
    {
        byte[] padded = s_echo.Concat(new byte[18]).ToArray();
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(padded, out Ipv4Packet packet));
        Assert.Equal(64, packet.Payload.Length);
    }

    [Fact]
    public void BadVersionAndChecksumAreReported()
    {
        byte[] bytes = (byte[])s_echo.Clone();
        bytes[15] ^= 1;
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(bytes, out Ipv4Packet packet));
        Assert.Equal(WireError.BadChecksum, Ipv4Repr.TryParse(packet, verifyChecksum: true, out _));
        Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(packet, verifyChecksum: false, out _));

        bytes = (byte[])s_echo.Clone();
        bytes[0] = 0x65;
        Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(bytes, out packet));
        Assert.Equal(WireError.BadVersion, Ipv4Repr.TryParse(packet, verifyChecksum: false, out _));
    }

    [Fact]
    public void TruncatedAndImpossibleLengthsAreRejected()
    {
        for (int length = 0; length < 20; length++)
        {
            Assert.Equal(WireError.Truncated, Ipv4Packet.TryCreate(s_echo.AsSpan(0, length).ToArray(), out _));
        }
        // Total length 84 but fewer bytes present.
        Assert.Equal(WireError.Truncated, Ipv4Packet.TryCreate(s_echo.AsSpan(0, 83).ToArray(), out _));
        // IHL 4 (16 bytes) is below the minimum.
        byte[] bytes = (byte[])s_echo.Clone();
        bytes[0] = 0x44;
        Assert.Equal(WireError.BadHeaderLength, Ipv4Packet.TryCreate(bytes, out _));
        // Total length 19, below the header.
        bytes = (byte[])s_echo.Clone();
        bytes[2] = 0;
        bytes[3] = 19;
        Assert.Equal(WireError.BadTotalLength, Ipv4Packet.TryCreate(bytes, out _));
        // IHL 15 (60 bytes) but total length 40.
        bytes = (byte[])s_echo.Clone();
        bytes[0] = 0x4f;
        bytes[3] = 40;
        Assert.Equal(WireError.BadTotalLength, Ipv4Packet.TryCreate(bytes, out _));
        // IHL 15 in a 24-byte packet: the header points past the bytes present.
        Assert.Equal(WireError.Truncated, Ipv4Packet.TryCreate(s_recordRoute.AsSpan(0, 24).ToArray(), out _));
    }

    [Fact]
    public void ParseOfEmitIsIdentity()
    {
        Gen<Ipv4Repr> gen =
            from src in Gen.Choose(int.MinValue, int.MaxValue)
            from dst in Gen.Choose(int.MinValue, int.MaxValue)
            from protocol in Gen.Choose(0, 255)
            from payload in Gen.Choose(0, 200)
            from ttl in Gen.Choose(0, 255)
            from id in Gen.Choose(0, 0xFFFF)
            from df in Gen.Elements(true, false)
            from mf in Gen.Elements(true, false)
            from offset in Gen.Choose(0, 8000)
            from dscp in Gen.Choose(0, 63)
            from ecn in Gen.Choose(0, 3)
            from optionWords in Gen.Choose(0, 10)
            select new Ipv4Repr(new Ipv4Address((uint)src), new Ipv4Address((uint)dst), (IpProtocol)protocol, payload, (byte)ttl)
            {
                Identification = (ushort)id,
                DontFragment = df,
                MoreFragments = mf,
                FragmentOffset = offset * 8,
                Dscp = (byte)dscp,
                Ecn = (byte)ecn,
                OptionsLength = optionWords * 4,
            };
        Prop.ForAll(Arb.From(gen), repr =>
        {
            var bytes = new byte[repr.HeaderLength + repr.PayloadLength];
            bytes.AsSpan(20, repr.OptionsLength).Fill((byte)Ipv4OptionType.NoOperation);
            repr.Emit(new Ipv4Packet(bytes));
            return Ipv4Packet.TryCreate(bytes, out Ipv4Packet packet) == WireError.Ok
                && Ipv4Repr.TryParse(packet, verifyChecksum: true, out Ipv4Repr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}
