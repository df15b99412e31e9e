using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class UdpTests
{
    // Real frames: Linux 6.18 sendto() between two network namespaces over veth (tx checksum offload off
    // so the kernel filled the checksum), captured with `tcpdump -xx`, which printed "[udp sum ok]".
    // 10.77.0.1.38745 > 10.77.0.2.5353, payload "skiff udp\n"; UDP header at byte 34.
    internal const string Udp4Hex =
        "be696af6dd657a46573c6da90800450000267cab40004011a97f0a4d00010a4d0002975914e90012168a736b696666207564700a";

    // fd77::1.40552 > fd77::2.5353, payload "skiff udp6\n"; UDP header at byte 54.
    internal const string Udp6Hex =
        "be696af6dd657a46573c6da986dd6008fca300131140fd770000000000000000000000000001fd770000000000000000000000000002" +
        "9e6814e900131ef7736b69666620756470360a";

    private static readonly Ipv4Address s_source = new(10, 77, 0, 1);
    private static readonly Ipv4Address s_destination = new(10, 77, 0, 2);

    private static byte[] Udp4() => Convert.FromHexString(Udp4Hex)[34..];

    private static uint Pseudo4(int length) => Checksum.PseudoHeader(s_source, s_destination, IpProtocol.Udp, length);

    [Fact]
    public void BytesToFields()
    {
        byte[] bytes = Udp4();
        Assert.Equal(WireError.Ok, UdpPacket.TryCreate(bytes, out UdpPacket packet));
        Assert.Equal(38745, packet.SourcePort);
        Assert.Equal(5353, packet.DestinationPort);
        Assert.Equal(18, packet.Length);
        Assert.Equal(0x168a, packet.Checksum);
        Assert.Equal("skiff udp\n"u8.ToArray(), packet.Payload.ToArray());
        Assert.Equal("38745 > 5353: UDP, cksum 0x168a, length 10", packet.ToString());
    }

    [Fact]
    public void FieldsToBytes()
    {
        byte[] bytes = new byte[18];
        var packet = new UdpPacket(bytes)
        {
            SourcePort = 38745,
            DestinationPort = 5353,
            Length = 18,
            Checksum = 0x168a,
        };
        "skiff udp\n"u8.CopyTo(packet.Payload);
        Assert.Equal(Udp4(), bytes);
    }

    [Fact]
    public void BytesToRepr()
    {
        byte[] bytes = Udp4();
        Assert.Equal(WireError.Ok, UdpPacket.TryCreate(bytes, out UdpPacket packet));
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(packet, Pseudo4(18), verifyChecksum: true, out UdpRepr repr));
        Assert.Equal(new UdpRepr { SourcePort = 38745, DestinationPort = 5353, PayloadLength = 10 }, repr);
        Assert.Equal("38745 > 5353: UDP, length 10", repr.ToString());
    }

    [Fact]
    public void ReprToBytes()
    {
        byte[] bytes = new byte[18];
        "skiff udp\n"u8.CopyTo(bytes.AsSpan(8));
        var repr = new UdpRepr { SourcePort = 38745, DestinationPort = 5353, PayloadLength = 10 };
        repr.Emit(new UdpPacket(bytes), Pseudo4(18), fillChecksum: true);
        Assert.Equal(Udp4(), bytes);

        repr.Emit(new UdpPacket(bytes), Pseudo4(18), fillChecksum: false);
        Assert.Equal(0, new UdpPacket(bytes).Checksum);
    }

    [Fact]
    public void Ipv6_KernelDatagram_VerifiesAndReemits()
    {
        byte[] bytes = Convert.FromHexString(Udp6Hex)[54..];
        uint pseudo = Checksum.PseudoHeader(Ipv6Address.Parse("fd77::1"), Ipv6Address.Parse("fd77::2"), IpProtocol.Udp, bytes.Length);
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(bytes), pseudo, true, zeroChecksumIsNone: false, out UdpRepr repr));
        Assert.Equal(11, repr.PayloadLength);
        byte[] copy = (byte[])bytes.Clone();
        copy.AsSpan(0, 8).Clear();
        repr.Emit(new UdpPacket(copy), pseudo, fillChecksum: true);
        Assert.Equal(bytes, copy);
    }

    [Fact]
    public void ZeroChecksum_IsNoneOverIpv4_AndBadOverIpv6()
    {
        byte[] bytes = Udp4();
        bytes[6] = 0;
        bytes[7] = 0;
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(bytes), Pseudo4(18), true, out _));
        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(new UdpPacket(bytes), Pseudo4(18), true, zeroChecksumIsNone: false, out _));
    }

    [Fact]
    public void ComputedZero_IsSentAsAllOnes()
    {
        // Ports 0, length 10, data word 0xFFF5: the sum is 0xFFFF, so the complement is 0 (RFC 768: send 0xFFFF).
        byte[] bytes = new byte[10];
        bytes[8] = 0xFF;
        bytes[9] = 0xF5;
        new UdpRepr { PayloadLength = 2 }.Emit(new UdpPacket(bytes), 0, fillChecksum: true);
        Assert.Equal(0xFFFF, new UdpPacket(bytes).Checksum);
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(bytes), 0, true, zeroChecksumIsNone: false, out _));
    }

    [Fact]
    public void CorruptedPayload_IsBadChecksum_OnlyWhenVerifying()
    {
        byte[] bytes = Udp4();
        bytes[^1] ^= 0x40;
        Assert.Equal(WireError.BadChecksum, UdpRepr.TryParse(new UdpPacket(bytes), Pseudo4(18), true, out _));
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(bytes), Pseudo4(18), false, out _));
    }

    [Fact]
    public void TruncatedAndImpossibleLengths_ReturnErrors()
    {
        byte[] bytes = Udp4();
        for (int length = 0; length < 8; length++)
        {
            Assert.Equal(WireError.Truncated, UdpPacket.TryCreate(bytes.AsSpan(0, length), out _));
            Assert.Equal(WireError.Truncated, UdpRepr.TryParse(new UdpPacket(bytes.AsSpan(0, length)), 0, true, out _));
        }
        for (int length = 8; length < 18; length++)
        {
            // Length field 18 but fewer bytes present.
            Assert.Equal(WireError.BadTotalLength, UdpPacket.TryCreate(bytes.AsSpan(0, length), out _));
        }
        foreach (ushort field in new ushort[] { 0, 7, 19, 0xFFFF })
        {
            byte[] copy = Udp4();
            copy[4] = (byte)(field >> 8);
            copy[5] = (byte)field;
            Assert.Equal(WireError.BadTotalLength, UdpRepr.TryParse(new UdpPacket(copy), Pseudo4(18), true, out _));
        }
    }

    [Fact]
    public void LengthFieldShorterThanBuffer_TrailingPaddingIgnored()
    {
        byte[] bytes = [.. Udp4(), 0, 0, 0, 0];
        Assert.Equal(WireError.Ok, UdpRepr.TryParse(new UdpPacket(bytes), Pseudo4(18), true, out UdpRepr repr));
        Assert.Equal(10, repr.PayloadLength);
        Assert.Equal(10, new UdpPacket(bytes).Payload.Length);
    }

    [Fact]
    public void ParseOfEmit_IsIdentity_Property()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var random = new Random(seed);
            var repr = new UdpRepr
            {
                SourcePort = (ushort)random.Next(0, 0x10000),
                DestinationPort = (ushort)random.Next(0, 0x10000),
                PayloadLength = random.Next(0, 2000),
            };
            byte[] bytes = new byte[8 + repr.PayloadLength];
            random.NextBytes(bytes);
            uint pseudo = (uint)random.Next(0, 0x10000);
            repr.Emit(new UdpPacket(bytes), pseudo, fillChecksum: true);
            return UdpRepr.TryParse(new UdpPacket(bytes), pseudo, true, zeroChecksumIsNone: false, out UdpRepr parsed) == WireError.Ok
                && parsed == repr;
        }).QuickCheckThrowOnFailure();
    }
}
