using FsCheck;
using FsCheck.Fluent;
using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class ChecksumTests
{
    // The RFC 1071 definition, word by word, nothing clever: the reference the vector code must match.
    private static uint Reference(ReadOnlySpan<byte> data, uint partial = 0)
    {
        ulong sum = partial;
        for (int i = 0; i < data.Length; i += 2)
        {
            sum += (uint)(data[i] << 8) | (i + 1 < data.Length ? data[i + 1] : 0u);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return (uint)sum;
    }

    private static void AssertMatchesReference(byte[] pool, int offset, int length, uint partial)
    {
        ReadOnlySpan<byte> data = pool.AsSpan(offset, length);
        Assert.Equal(Reference(data, partial), Checksum.Accumulate(data, partial));
    }

    [Fact]
    public void Accumulate_MatchesScalarReference_RandomLengthsAndOffsets()
    {
        var random = new Random(1071);
        byte[] pool = new byte[9000 + 64];
        for (int iteration = 0; iteration < 3000; iteration++)
        {
            random.NextBytes(pool);
            int length = iteration < 200 ? iteration : random.Next(0, 9001);
            int offset = random.Next(0, 64);
            uint partial = iteration % 3 == 0 ? 0 : (uint)random.Next(0, 0x10000);
            AssertMatchesReference(pool, offset, length, partial);
        }
    }

    [Fact]
    public void Accumulate_MatchesScalarReference_Property()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var random = new Random(seed);
            byte[] pool = new byte[9000 + 64];
            random.NextBytes(pool);
            int length = random.Next(0, 9001), offset = random.Next(0, 64);
            ReadOnlySpan<byte> data = pool.AsSpan(offset, length);
            return Reference(data) == Checksum.Accumulate(data);
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(0xFF)]
    [InlineData(0x00)]
    [InlineData(0x80)]
    public void Accumulate_LargeUniformBuffers_CarriesAreCounted(byte fill)
    {
        // 0xFF everywhere makes every 32-bit lane carry on nearly every add: the carry counters must hold.
        byte[] data = new byte[1 << 20];
        Array.Fill(data, fill);
        foreach (int length in new[] { 63, 64, 65, 1500, 9000, 65535, 1 << 20 })
        {
            Assert.Equal(Reference(data.AsSpan(0, length)), Checksum.Accumulate(data.AsSpan(0, length)));
        }
    }

    [Fact]
    public void Rfc1071_NumericalExample()
    {
        // RFC 1071 section 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2 (after the end-around carry).
        byte[] data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        Assert.Equal(0xddf2u, Checksum.Accumulate(data));
        Assert.Equal((ushort)0x220d, Checksum.Compute(data));
    }

    [Fact]
    public void Rfc1624_IncrementalUpdateExample()
    {
        // RFC 1624 section 4: HC = 0xDD2F, m = 0x5555 becomes m' = 0x3285; recomputation and
        // equation 3 give 0x0000 (equation 2 of RFC 1141 would give the wrong 0xFFFF).
        Assert.Equal((ushort)0x0000, Checksum.Update(0xDD2F, (ushort)0x5555, (ushort)0x3285));
    }

    [Fact]
    public void Update_EqualsRecomputation_ForRandomEdits()
    {
        var random = new Random(1624);
        for (int iteration = 0; iteration < 2000; iteration++)
        {
            byte[] data = new byte[2 * random.Next(3, 40)];
            random.NextBytes(data);
            data[0] |= 1; // never all zero: recomputation and RFC 1624 differ only for all-zero data
            data[2] = 0;
            data[3] = 0;
            ushort checksum = Checksum.Compute(data);
            data[2] = (byte)(checksum >> 8);
            data[3] = (byte)checksum;

            int word = 2 * random.Next(2, data.Length / 2);
            ushort oldWord = (ushort)((data[word] << 8) | data[word + 1]);
            ushort newWord = (ushort)random.Next(0, 0x10000);
            data[word] = (byte)(newWord >> 8);
            data[word + 1] = (byte)newWord;
            ushort updated = Checksum.Update(checksum, oldWord, newWord);

            data[2] = 0;
            data[3] = 0;
            Assert.Equal(Checksum.Compute(data), updated);
        }
    }

    [Fact]
    public void Update32_EqualsRecomputation_ForAddressRewrite()
    {
        // The IPv4 header of the kernel SYN in TcpTests (10.77.0.1 > 10.77.0.2), source rewritten to 192.0.2.7.
        byte[] header = Convert.FromHexString("4500003c659740004006c0880a4d00010a4d0002");
        Assert.True(Checksum.IsValid(header));
        ushort updated = Checksum.Update((ushort)0xc088, 0x0a4d0001u, 0xc0000207u);
        header[12] = 192; header[13] = 0; header[14] = 2; header[15] = 7;
        header[10] = 0; header[11] = 0;
        Assert.Equal(Checksum.Compute(header), updated);
    }

    [Fact]
    public void PseudoHeader_Ipv4_VerifiesKernelTcpAndUdp()
    {
        var source = new Ipv4Address(10, 77, 0, 1);
        var destination = new Ipv4Address(10, 77, 0, 2);
        byte[] tcp = Convert.FromHexString(TcpTests.SynHex)[34..];
        Assert.True(Checksum.IsValid(tcp, Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, tcp.Length)));
        byte[] udp = Convert.FromHexString(UdpTests.Udp4Hex)[34..];
        Assert.True(Checksum.IsValid(udp, Checksum.PseudoHeader(source, destination, IpProtocol.Udp, udp.Length)));
        Assert.False(Checksum.IsValid(udp, Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, udp.Length)));
    }

    [Fact]
    public void PseudoHeader_Ipv6_VerifiesKernelUdp()
    {
        byte[] udp = Convert.FromHexString(UdpTests.Udp6Hex)[54..];
        uint partial = Checksum.PseudoHeader(Ipv6Address.Parse("fd77::1"), Ipv6Address.Parse("fd77::2"), IpProtocol.Udp, udp.Length);
        Assert.True(Checksum.IsValid(udp, partial));
        udp[^1] ^= 1;
        Assert.False(Checksum.IsValid(udp, partial));
    }
}
