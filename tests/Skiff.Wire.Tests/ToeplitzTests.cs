using Skiff.Wire;

namespace Skiff.Wire.Tests;

public class ToeplitzTests
{
    // Microsoft, "Verifying the RSS Hash Calculation" (learn.microsoft.com/windows-hardware/drivers/network/
    // verifying-the-rss-hash-calculation), key 6d5a56da...01fa. Rows cross-checked against DPDK's
    // app/test/test_thash.c (from the Intel 82599 datasheet 7.1.2.8.3) and Knot DNS's toeplitz test.
    // Columns: source, destination, source port, destination port, IPv4-only hash, with-TCP hash.
    public static TheoryData<string, string, ushort, ushort, uint, uint> Ipv4Vectors => new()
    {
        { "66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178 },
        { "199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea },
        { "24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
        { "38.27.205.30", "209.142.163.6", 48228, 2217, 0x82989176, 0xafc7327f },
        { "153.39.163.191", "202.188.127.2", 44251, 1303, 0x5d1809c5, 0x10e828a2 },
    };

    public static TheoryData<string, string, ushort, ushort, uint, uint> Ipv6Vectors => new()
    {
        { "3ffe:2501:200:1fff::7", "3ffe:2501:200:3::1", 2794, 1766, 0x2cc18cd5, 0x40207d3d },
        { "3ffe:501:8::260:97ff:fe40:efab", "ff02::1", 14230, 4739, 0x0f0c461c, 0xdde51bbf },
        { "3ffe:1900:4545:3:200:f8ff:fe21:67cf", "fe80::200:f8ff:fe21:67cf", 44251, 38024, 0x4b61e985, 0x02d1feef },
    };

    private static readonly ToeplitzHash s_microsoft = new();

    [Theory]
    [MemberData(nameof(Ipv4Vectors))]
    public void Ipv4_MatchesMicrosoftVectors(string source, string destination, ushort sourcePort, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        Ipv4Address s = Ipv4Address.Parse(source), d = Ipv4Address.Parse(destination);
        Assert.Equal(ipOnly, s_microsoft.HashIpv4(s, d));
        Assert.Equal(withPorts, s_microsoft.HashIpv4(s, d, sourcePort, destinationPort));

        byte[] input = new byte[12];
        s.Write(input);
        d.Write(input.AsSpan(4));
        input[8] = (byte)(sourcePort >> 8); input[9] = (byte)sourcePort;
        input[10] = (byte)(destinationPort >> 8); input[11] = (byte)destinationPort;
        Assert.Equal(ipOnly, s_microsoft.Hash(input.AsSpan(0, 8)));
        Assert.Equal(withPorts, s_microsoft.Hash(input));
    }

    [Theory]
    [MemberData(nameof(Ipv6Vectors))]
    public void Ipv6_MatchesMicrosoftVectors(string source, string destination, ushort sourcePort, ushort destinationPort, uint ipOnly, uint withPorts)
    {
        Ipv6Address s = Ipv6Address.Parse(source), d = Ipv6Address.Parse(destination);
        Assert.Equal(ipOnly, s_microsoft.HashIpv6(s, d));
        Assert.Equal(withPorts, s_microsoft.HashIpv6(s, d, sourcePort, destinationPort));

        byte[] input = new byte[36];
        s.Write(input);
        d.Write(input.AsSpan(16));
        input[32] = (byte)(sourcePort >> 8); input[33] = (byte)sourcePort;
        input[34] = (byte)(destinationPort >> 8); input[35] = (byte)destinationPort;
        Assert.Equal(withPorts, s_microsoft.Hash(input));
    }

    // Microsoft's pseudo-code verbatim: for each input bit, left to right, XOR the leftmost 32 bits of K, then shift K left one bit.
    private static uint BitByBit(ReadOnlySpan<byte> key, ReadOnlySpan<byte> input)
    {
        uint result = 0;
        for (int bit = 0; bit < input.Length * 8; bit++)
        {
            if ((input[bit / 8] & (0x80 >> (bit % 8))) != 0)
            {
                uint window = 0;
                for (int j = 0; j < 32; j++)
                {
                    int k = bit + j;
                    window = (window << 1) | (uint)((key[k / 8] >> (7 - k % 8)) & 1);
                }
                result ^= window;
            }
        }
        return result;
    }

    [Fact]
    public void Tables_MatchBitByBitDefinition_RandomKeysAndInputs()
    {
        var random = new Random(320);
        byte[] key = new byte[ToeplitzHash.KeyLength];
        byte[] input = new byte[ToeplitzHash.MaxInputLength];
        for (int k = 0; k < 20; k++)
        {
            random.NextBytes(key);
            var hash = new ToeplitzHash(key);
            for (int i = 0; i < 50; i++)
            {
                random.NextBytes(input);
                int length = random.Next(0, input.Length + 1);
                Assert.Equal(BitByBit(key, input.AsSpan(0, length)), hash.Hash(input.AsSpan(0, length)));
            }
        }
    }

    [Fact]
    public void Contract_KeyLengthAndInputLengthAreChecked()
    {
        Assert.Throws<ArgumentException>(() => new ToeplitzHash(new byte[39]));
        Assert.Throws<ArgumentException>(() => new ToeplitzHash(new byte[52]));
        Assert.Throws<ArgumentOutOfRangeException>(() => s_microsoft.Hash(new byte[37]));
        Assert.Equal(0u, s_microsoft.Hash([]));
    }

    [Fact]
    public void Hash_DoesNotAllocate()
    {
        var s = new Ipv6Address(UInt128.MaxValue);
        ushort i = 0;
        uint sink = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() =>
        {
            i++;
            sink ^= s_microsoft.HashIpv6(s, s, i, 2) ^ s_microsoft.HashIpv4(new Ipv4Address(i), default, 1, 2);
        }));
    }
}
