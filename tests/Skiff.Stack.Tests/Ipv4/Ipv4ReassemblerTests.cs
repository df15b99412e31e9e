using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Ipv4;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv4;

public class Ipv4ReassemblerTests
{
    private static readonly Ipv4FragmentKey s_key = new(Ipv4Address.Parse("192.0.2.1"), Ipv4Address.Parse("198.51.100.2"), IpProtocol.Udp, 0x1234);
    private static readonly Instant s_t0 = Instant.FromMillis(5_000);

    // A fragment's IPv4 header (RFC 791 section 3.1) with a valid checksum; the reassembler keeps fragment zero's.
    private static byte[] Header(int offsetBytes, bool more, int payloadBytes, int optionBytes = 0)
    {
        byte[] h = new byte[20 + optionBytes];
        h[0] = (byte)(0x40 | (h.Length / 4));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(2), (ushort)(h.Length + payloadBytes));
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(4), s_key.Identification);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(6), (ushort)((more ? 0x2000 : 0) | (offsetBytes / 8)));
        h[8] = 64;
        h[9] = (byte)s_key.Protocol;
        s_key.Source.Write(h.AsSpan(12));
        s_key.Destination.Write(h.AsSpan(16));
        for (int i = 20; i < h.Length; i++)
        {
            h[i] = 1; // NOP options
        }
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(10), (ushort)~Sum(h));
        return h;
    }

    private static uint Sum(ReadOnlySpan<byte> header)
    {
        uint sum = 0;
        for (int i = 0; i < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        return sum;
    }

    private static byte[] Payload(int length, int seed = 1)
    {
        byte[] p = new byte[length];
        new Random(seed).NextBytes(p);
        return p;
    }

    private static Ipv4ReassemblyStatus Add(Ipv4Reassembler r, byte[] payload, int offset, int length, bool more, Instant? now = null, Ipv4FragmentKey? key = null) =>
        r.Add(key ?? s_key, offset, more, Header(offset, more, length), payload.AsSpan(offset, length), now ?? s_t0).Status;

    private static void AssertCompleteDatagram(Ipv4ReassemblyResult result, byte[] payload)
    {
        Assert.Equal(Ipv4ReassemblyStatus.Complete, result.Status);
        Assert.Equal(payload, result.Payload.ToArray());
        ReadOnlySpan<byte> header = result.Datagram[..result.HeaderBytes];
        // RFC 791 section 3.2: the datagram carries the whole length, no MF, offset 0, and a valid checksum.
        Assert.Equal(result.Datagram.Length, BinaryPrimitives.ReadUInt16BigEndian(header[2..]));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16BigEndian(header[6..]) & 0x3FFF);
        Assert.Equal(0xFFFFu, Sum(header));
    }

    [Fact]
    public void InOrderFragments_Reassemble()
    {
        var r = new Ipv4Reassembler();
        byte[] payload = Payload(3000);
        Assert.Equal(Ipv4ReassemblyStatus.Held, Add(r, payload, 0, 1480, true));
        Assert.Equal(Ipv4ReassemblyStatus.Held, Add(r, payload, 1480, 1480, true));
        AssertCompleteDatagram(r.Add(s_key, 2960, false, Header(2960, false, 40), payload.AsSpan(2960), s_t0), payload);
        Assert.Equal(1, r.Reassembled);
        Assert.Equal(0, r.InProgress);
        Assert.Equal(0, r.BufferedBytes);
        Assert.Equal(Instant.Never, r.PollAt());
    }

    [Fact]
    public void OutOfOrderFragments_KeepFirstFragmentsHeaderWithOptions()
    {
        var r = new Ipv4Reassembler();
        byte[] payload = Payload(2000);
        Assert.Equal(Ipv4ReassemblyStatus.Held, Add(r, payload, 1600, 400, false));
        Assert.Equal(Ipv4ReassemblyStatus.Held, Add(r, payload, 800, 800, true));
        Ipv4ReassemblyResult result = r.Add(s_key, 0, true, Header(0, true, 800, optionBytes: 8), payload.AsSpan(0, 800), s_t0);
        AssertCompleteDatagram(result, payload);
        Assert.Equal(28, result.HeaderBytes);
    }

    [Fact]
    public void IdenticalDuplicate_IsIgnored_AndTheDatagramCompletes()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(2400, seed: 2);
        Add(r, p, 0, 800, true);
        Assert.Equal(Ipv4ReassemblyStatus.Duplicate, Add(r, p, 0, 800, true)); // before the end is known
        Add(r, p, 1600, 800, false);
        Assert.Equal(Ipv4ReassemblyStatus.Duplicate, Add(r, p, 0, 800, true));
        Assert.Equal(Ipv4ReassemblyStatus.Duplicate, Add(r, p, 1600, 800, false));
        Assert.Equal(3, r.Duplicates);
        AssertCompleteDatagram(r.Add(s_key, 800, true, Header(800, true, 800), p.AsSpan(800, 800), s_t0), p);
    }

    [Fact]
    public void DuplicateWithDifferentBytes_DropsTheDatagram()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(2400);
        Add(r, p, 0, 800, true);
        Add(r, p, 1600, 800, false);
        byte[] forged = (byte[])p.Clone();
        forged[10] ^= 0xFF;
        Assert.Equal(Ipv4ReassemblyStatus.Overlap, Add(r, forged, 0, 800, true));
        Assert.Equal(1, r.Overlaps);
        Assert.Equal(0, r.InProgress);
    }

    [Theory]
    [InlineData(400, 800)]  // starts inside received data, ends in the hole
    [InlineData(1200, 800)] // starts in the hole, ends inside received data
    [InlineData(0, 2400)]   // covers everything
    public void OverlappingFragment_DropsTheWholeDatagram(int offset, int length)
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(2400);
        Add(r, p, 0, 800, true);
        Add(r, p, 1600, 800, false);
        Assert.Equal(Ipv4ReassemblyStatus.Overlap, Add(r, p, offset, length, offset + length < 2400));
        Assert.Equal(1, r.Overlaps);
        Assert.Equal(0, r.InProgress);
        Assert.Equal(0, r.BufferedBytes);
        // The middle fragment now starts a new datagram instead of completing the old one.
        Assert.Equal(Ipv4ReassemblyStatus.Held, Add(r, p, 800, 800, true));
        Assert.Equal(0, r.Reassembled);
    }

    [Fact]
    public void LastFragmentWithDataAfterIt_IsAnOverlap()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(2400);
        Add(r, p, 1600, 800, true);
        Assert.Equal(Ipv4ReassemblyStatus.Overlap, Add(r, p, 0, 800, false));
        Assert.Equal(0, r.InProgress);
    }

    [Theory]
    [InlineData(4, 8, true)]        // offset not in 8-byte units
    [InlineData(0, 100, true)]      // non-final payload not a multiple of 8
    [InlineData(0, 0, false)]       // empty
    [InlineData(65528, 8, false)]   // 20 + 65528 + 8 > 65535: "ping of death"
    [InlineData(-8, 8, true)]
    public void BadLengths_AreDroppedAndCounted(int offset, int length, bool more)
    {
        var r = new Ipv4Reassembler();
        Ipv4ReassemblyResult result = r.Add(s_key, offset, more, Header(Math.Max(0, offset), more, length), new byte[length], s_t0);
        Assert.Equal(Ipv4ReassemblyStatus.BadLength, result.Status);
        Assert.Equal(1, r.BadLengths);
        Assert.Equal(0, r.InProgress);
    }

    [Fact]
    public void FragmentsContradictingTheKnownEnd_DropTheDatagram()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(4000);
        Add(r, p, 0, 800, true);
        Add(r, p, 1600, 800, false); // the end is 2400
        Assert.Equal(Ipv4ReassemblyStatus.BadLength, Add(r, p, 2400, 800, true));
        Assert.Equal(0, r.InProgress);
        Add(r, p, 0, 800, true);
        Add(r, p, 1600, 800, false);
        Assert.Equal(Ipv4ReassemblyStatus.BadLength, Add(r, p, 800, 80, false)); // a second, different end
        Assert.Equal(2, r.BadLengths);
        Assert.Equal(0, r.InProgress);
    }

    [Fact]
    public void Timeout_WithoutFragmentZero_SaysNoIcmp()
    {
        var r = new Ipv4Reassembler(new Ipv4ReassemblerOptions { Timeout = Duration.FromSeconds(30) });
        byte[] p = Payload(2400);
        Add(r, p, 800, 800, true, s_t0);
        Add(r, p, 1600, 800, false, s_t0 + Duration.FromSeconds(10)); // later fragments do not extend the deadline
        Assert.Equal(s_t0 + Duration.FromSeconds(30), r.PollAt());
        Assert.False(r.TryExpire(s_t0 + Duration.FromSeconds(29), out _));
        Assert.True(r.TryExpire(s_t0 + Duration.FromSeconds(30), out Ipv4ReassemblyTimeout t));
        Assert.Equal(s_key, t.Key);
        Assert.False(t.HasFirstFragment);
        Assert.Equal(1, r.Timeouts);
        Assert.Equal(0, r.InProgress);
        Assert.Equal(0, r.BufferedBytes);
        Assert.False(r.TryExpire(s_t0 + Duration.FromSeconds(31), out _));
    }

    [Fact]
    public void Timeout_WithFragmentZero_QuotesHeaderAnd8Bytes()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(2400);
        byte[] header = Header(0, true, 800, optionBytes: 4);
        r.Add(s_key, 0, true, header, p.AsSpan(0, 800), s_t0);
        Assert.True(r.TryExpire(s_t0 + Duration.FromSeconds(30), out Ipv4ReassemblyTimeout t));
        Assert.True(t.HasFirstFragment); // RFC 792 / RFC 1122 3.3.2: Time Exceeded code 1 may be sent
        Assert.Equal(header.Concat(p.Take(8)).ToArray(), t.IcmpQuote.ToArray());
    }

    [Fact]
    public void Bounds_RefuseAndCount()
    {
        var r = new Ipv4Reassembler(new Ipv4ReassemblerOptions { MaxDatagrams = 2, MaxBufferedBytes = 4000, MaxFragmentsPerDatagram = 3, MaxDatagramBytes = 3000 });
        byte[] p = Payload(8000);
        Ipv4FragmentKey k1 = s_key, k2 = s_key with { Identification = 2 }, k3 = s_key with { Identification = 3 };
        Add(r, p, 0, 8, true, key: k1);
        Add(r, p, 0, 8, true, key: k2);
        Assert.Equal(Ipv4ReassemblyStatus.Refused, Add(r, p, 0, 8, true, key: k3));
        Assert.Equal(1, r.RefusedDatagrams);

        Assert.Equal(Ipv4ReassemblyStatus.Refused, Add(r, p, 2976, 8, true, key: k1)); // 20 + 2984 > 3000
        Assert.Equal(1, r.RefusedBytes);

        Add(r, p, 16, 8, true, key: k1);
        Add(r, p, 32, 8, true, key: k1);
        Assert.Equal(Ipv4ReassemblyStatus.Refused, Add(r, p, 48, 8, true, key: k1)); // a fourth fragment
        Assert.Equal(1, r.RefusedFragments);
        Assert.Equal(1, r.InProgress);

        Add(r, p, 8, 2000, true, key: k2);
        Assert.Equal(Ipv4ReassemblyStatus.Refused, Add(r, p, 2008, 2000, true, key: k2)); // 8 + 2000 + 2000 > 4000 bytes held
        Assert.Equal(2, r.RefusedBytes);
        Assert.Equal(2008, r.BufferedBytes);
    }

    [Fact]
    public void LargestDatagram_65535Bytes_Reassembles()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(65535 - 20);
        Ipv4ReassemblyResult last = default;
        for (int offset = 0; offset < p.Length; offset += 1480)
        {
            int length = Math.Min(1480, p.Length - offset);
            bool more = offset + length < p.Length;
            last = r.Add(s_key, offset, more, Header(offset, more, length), p.AsSpan(offset, length), s_t0);
        }
        AssertCompleteDatagram(last, p);
        Assert.Equal(65535, last.Datagram.Length);
    }

    [Fact]
    public void CompleteDatagram_CopiesIntoAPacketBufferWhenItFits()
    {
        using var pool = new PacketPool(4, frameBytes: 2048);
        var r = new Ipv4Reassembler();
        byte[] p = Payload(1600);
        Add(r, p, 0, 1000, true);
        Ipv4ReassemblyResult result = r.Add(s_key, 1000, false, Header(1000, false, 600), p.AsSpan(1000), s_t0);
        Assert.True(pool.TryAllocate(out PacketBuffer? buffer));
        Assert.True(result.TryCopyTo(buffer));
        Assert.Equal(result.Datagram.ToArray(), buffer.Data.ToArray());
        buffer.Free();

        byte[] big = Payload(4000);
        Add(r, big, 0, 2000, true);
        result = r.Add(s_key, 2000, false, Header(2000, false, 2000), big.AsSpan(2000), s_t0);
        Assert.True(pool.TryAllocate(out buffer));
        Assert.False(result.TryCopyTo(buffer)); // 4020 bytes do not fit a 2048-byte frame
        Assert.Equal(0, buffer.Length);
        buffer.Free();
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void RandomFragmentationAndOrder_ReassemblesTheOriginalBytes_Property()
    {
        var r = new Ipv4Reassembler(new Ipv4ReassemblerOptions { MaxFragmentsPerDatagram = 1024, MaxBufferedBytes = 1 << 20 });
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var random = new Random(seed);
            byte[] p = Payload(random.Next(1, 20_000), seed);
            var fragments = new List<(int Offset, int Length)>();
            for (int offset = 0; offset < p.Length;)
            {
                int length = Math.Min(p.Length - offset, 8 * random.Next(1, 200));
                fragments.Add((offset, length));
                offset += length;
            }
            // Shuffle, and send some fragments twice (a duplicating network).
            var order = fragments.Concat(fragments.Where(_ => random.Next(5) == 0)).OrderBy(_ => random.Next()).ToList();
            var key = s_key with { Identification = (ushort)seed };
            bool completed = false;
            foreach ((int offset, int length) in order)
            {
                bool more = offset + length < p.Length;
                Ipv4ReassemblyResult result = r.Add(key, offset, more, Header(offset, more, length), p.AsSpan(offset, length), s_t0);
                if (result.Status == Ipv4ReassemblyStatus.Complete)
                {
                    // A second completion can only be an unfragmented copy of the whole datagram sent again.
                    if ((completed && order.Count(f => f == (offset, length)) < 2) || !result.Payload.SequenceEqual(p))
                    {
                        return false;
                    }
                    completed = true;
                }
                else if (result.Status is not (Ipv4ReassemblyStatus.Held or Ipv4ReassemblyStatus.Duplicate))
                {
                    // A duplicate arriving after completion starts a new datagram; anything else is a bug.
                    if (!completed || result.Status != Ipv4ReassemblyStatus.Held)
                    {
                        return false;
                    }
                }
            }
            // Leftover duplicates that arrived after completion time out; nothing else may be left.
            while (r.TryExpire(Instant.Never - Duration.FromSeconds(1), out _))
            {
            }
            return completed && r.InProgress == 0 && r.BufferedBytes == 0;
        }).QuickCheckThrowOnFailure();
        Assert.Equal(0, r.Overlaps);
        Assert.Equal(0, r.BadLengths);
    }

    [Fact]
    public void Add_DoesNotAllocate()
    {
        var r = new Ipv4Reassembler();
        byte[] p = Payload(3000);
        byte[] h0 = Header(0, true, 1480), h1 = Header(1480, true, 1480), h2 = Header(2960, false, 40);
        void Once()
        {
            r.Add(s_key, 1480, true, h1, p.AsSpan(1480, 1480), s_t0);
            r.Add(s_key, 0, true, h0, p.AsSpan(0, 1480), s_t0);
            r.Add(s_key, 2960, false, h2, p.AsSpan(2960), s_t0);
        }
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(Once));
        Assert.Equal(7000, r.Reassembled);
    }
}
