using System.Buffers.Binary;
using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Tests;

/// <summary>
/// A million malformed and random queries through the answerer, as the UDP stage gives them (in place, in a frame-sized
/// buffer) and as TCP does: no exception, every answer a well-formed response to its query, and no allocation once warm.
/// </summary>
public sealed class FuzzTests
{
    private const int Total = 1_000_000;
    private const int Warmup = 100_000;

    [Fact]
    public void A_million_malformed_queries_answer_or_drop_without_exception_or_allocation()
    {
        CompiledZone zone = TestZones.Compile(TestZones.WithBigTxt);
        DnsAnswerer answerer = new(zone);
        byte[][] corpus =
        [
            DnsWire.Query("web.example.com", 1), DnsWire.Query("www.example.com", 28, ednsSize: 1232), DnsWire.Query("big.example.com", 16, ednsSize: 4096),
            DnsWire.Query("nope.example.com", 1), DnsWire.Query("example.com", 15, ednsSize: 512, dnssecOk: true), DnsWire.Query("chain1.example.com", 255),
            DnsWire.Query("example.org", 1), DnsWire.Query("a.b.c.example.com", 6, ednsSize: 1400, ednsVersion: 1), DnsWire.Query("txt.example.com", 16),
        ];
        Random random = new(18);
        byte[] buffer = new byte[ushort.MaxValue];
        byte[] query = new byte[4096];
        long answered = 0, dropped = 0, bad = 0, allocatedBefore = 0;
        for (int n = 0; n < Total; n++)
        {
            if (n == Warmup)
            {
                allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            }
            int length = Mutate(random, corpus, query);
            DnsTransport transport = (n & 7) == 0 ? DnsTransport.Tcp : DnsTransport.Udp;
            Span<byte> room = transport == DnsTransport.Udp ? buffer.AsSpan(0, 1750) : buffer; // 1750: a received frame's room after the headers
            query.AsSpan(0, length).CopyTo(room);
            int result = answerer.Answer(room, length, transport);
            if (result == 0)
            {
                dropped++;
                continue;
            }
            answered++;
            // A response to this query: QR set, its ID, at least a header, within the transport's limit.
            if (result < 12 || (room[2] & 0x80) == 0 || room[0] != query[0] || room[1] != query[1]
                || (transport == DnsTransport.Udp && result > DnsAnswerer.DefaultMaxUdpBytes))
            {
                bad++;
            }
            if (n < Warmup && n % 97 == 0)
            {
                DnsWire.Parse(room[..result]); // a well-formed message, every name and record readable (allocates: warm-up only)
            }
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.Equal(0, bad);
        Assert.Equal(Total, answered + dropped);
        Assert.Equal(Total, answerer.Counters.Queries);
        Assert.Equal(dropped, answerer.Counters.Dropped);
        Assert.True(answerer.Counters.FormErr > Total / 4, $"only {answerer.Counters.FormErr} FORMERR: the fuzz is not reaching the parser's error paths");
        Assert.True(answerer.Counters.Answers + answerer.Counters.NxDomain + answerer.Counters.NoData > Total / 50, $"too few queries survived to be answered: {answerer.Counters}");
        Assert.Equal(0, allocated);
    }

    /// <summary>A query made from the corpus by one of several damages, or random bytes; returns its length. Allocates nothing.</summary>
    private static int Mutate(Random random, byte[][] corpus, byte[] output)
    {
        byte[] seed = corpus[random.Next(corpus.Length)];
        seed.CopyTo(output, 0);
        int length = seed.Length;
        switch (random.Next(8))
        {
            case 0: // random bytes
                length = random.Next(0, 600);
                random.NextBytes(output.AsSpan(0, length));
                break;
            case 1: // a few flipped bytes
                for (int i = random.Next(1, 4); i > 0; i--)
                {
                    output[random.Next(length)] = (byte)random.Next(256);
                }
                break;
            case 2: // cut short
                length = random.Next(0, length);
                break;
            case 3: // counts
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(4 + 2 * random.Next(4)), (ushort)random.Next(0, 4));
                break;
            case 4: // junk after
                int extra = random.Next(1, 100);
                random.NextBytes(output.AsSpan(length, extra));
                length += extra;
                break;
            case 5: // labels of random lengths (pointers, reserved types, overlong names)
                length = 12;
                for (int i = random.Next(1, 40); i > 0 && length < 500; i--)
                {
                    int label = random.Next(0, 256);
                    output[length++] = (byte)label;
                    int body = Math.Min(label & 0x3F, random.Next(0, 64));
                    random.NextBytes(output.AsSpan(length, body));
                    length += body;
                }
                break;
            case 6: // an OPT with random options
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(10), 1);
                output[length++] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(length), 41);
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(length + 2), (ushort)random.Next(0, 70000));
                random.NextBytes(output.AsSpan(length + 4, 4));
                int rd = random.Next(0, 40);
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(length + 8), (ushort)(random.Next(3) == 0 ? random.Next(0, 60) : rd));
                random.NextBytes(output.AsSpan(length + 10, rd));
                length += 10 + rd;
                break;
            default: // a valid query, flags randomised (opcodes, QR)
                BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(2), (ushort)random.Next(0, 65536));
                break;
        }
        return length;
    }
}
