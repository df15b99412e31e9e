using Skiff.QDisc.Classify;
using Skiff.QDisc.Spec;

namespace Skiff.QDisc.Tests;

/// <summary>pfifo, bfifo, pfifo_fast and prio against tc-pfifo(8), tc-prio(8) and sch_generic.c.</summary>
public sealed class FifoAndPrioTests
{
    private static readonly Instant s_now = Instant.FromMillis(1);

    [Fact]
    public void Pfifo_keeps_order_and_tail_drops_at_its_packet_limit()
    {
        using TestFrames f = new();
        FifoQDisc q = FifoQDisc.Packets(3);
        for (int i = 0; i < 5; i++)
        {
            QDiscVerdict v = q.Enqueue(f.Udp(100, flow: i), s_now);
            Assert.Equal(i < 3 ? QDiscVerdict.Queued : QDiscVerdict.Dropped, v);
        }
        Assert.Equal(3, q.BacklogPackets);
        Assert.Equal(300, q.BacklogBytes);
        for (int i = 0; i < 3; i++)
        {
            PacketBuffer frame = q.Dequeue(s_now)!;
            Assert.Equal(i, TestFrames.FlowOf(frame));
            frame.Free();
        }
        Assert.Null(q.Dequeue(s_now));
        QDiscStatistics s = q.Statistics;
        Assert.Equal((3L, 300L, 2L, 0L, 0L), (s.SentPackets, s.SentBytes, s.Dropped, s.BacklogPackets, s.BacklogBytes));
        Assert.Equal("pfifo limit 3p", q.Describe());
    }

    [Fact]
    public void Bfifo_admits_by_bytes()
    {
        using TestFrames f = new();
        FifoQDisc q = FifoQDisc.Bytes(1000, mtu: 600);
        Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(600), s_now));
        Assert.Equal(QDiscVerdict.Dropped, q.Enqueue(f.Udp(500), s_now)); // 1100 > 1000
        Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(400), s_now)); // exactly 1000
        Assert.Equal(1000, q.BacklogBytes);
        Assert.Equal(2, TestFrames.Drain(q, s_now));
        Assert.Equal(1, q.Statistics.Dropped);
    }

    [Fact]
    public void A_frame_held_by_Peek_counts_against_the_limit_as_in_Linux()
    {
        // A parent shaper peeks the head and keeps it until it may leave; Linux's qdisc_peek_dequeued leaves that frame
        // in qlen and the backlog, so the limit includes it.
        using TestFrames f = new();
        FifoQDisc pfifo = FifoQDisc.Packets(2);
        Assert.Equal(QDiscVerdict.Queued, pfifo.Enqueue(f.Udp(100), s_now));
        Assert.Equal(QDiscVerdict.Queued, pfifo.Enqueue(f.Udp(100), s_now));
        Assert.NotNull(pfifo.Peek(s_now));
        Assert.Equal(QDiscVerdict.Dropped, pfifo.Enqueue(f.Udp(100), s_now));
        Assert.Equal(2, pfifo.BacklogPackets);

        FifoQDisc bfifo = FifoQDisc.Bytes(1000, mtu: 600);
        Assert.Equal(QDiscVerdict.Queued, bfifo.Enqueue(f.Udp(600), s_now));
        Assert.NotNull(bfifo.Peek(s_now));
        Assert.Equal(QDiscVerdict.Dropped, bfifo.Enqueue(f.Udp(600), s_now)); // 600 held + 600 > 1000
        Assert.Equal(QDiscVerdict.Queued, bfifo.Enqueue(f.Udp(400), s_now));

        CodelQDisc codel = new(CodelParameters.Default, limit: 1);
        Assert.Equal(QDiscVerdict.Queued, codel.Enqueue(f.Udp(100), s_now));
        Assert.NotNull(codel.Peek(s_now));
        Assert.Equal(QDiscVerdict.Dropped, codel.Enqueue(f.Udp(100), s_now));
        Assert.Equal(2, TestFrames.Drain(pfifo, s_now));
        Assert.Equal(2, TestFrames.Drain(bfifo, s_now));
        Assert.Equal(1, TestFrames.Drain(codel, s_now));
    }

    [Fact]
    public void A_bfifo_limit_must_hold_one_frame_of_its_mtu()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FifoQDisc.Bytes(1000));
        Assert.Equal(1514, FifoQDisc.Bytes(1514).Limit);
        QDiscSpecException e = Assert.Throws<QDiscSpecException>(() => QDiscSpec.Parse("bfifo limit 1000"));
        Assert.Equal("In 'bfifo limit 1000': bfifo limit 1000 bytes holds no full-size frame (1514 bytes), so it would drop every one; give at least 1514, e.g. limit 150kb.", e.Message);
    }

    [Fact]
    public void A_band_outside_prio_is_an_argument_error()
    {
        PrioQDisc q = PrioQDisc.PfifoFast();
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Child(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Child(-1));
        Assert.Same(q.Bands[2], q.Child(2));
    }

    [Fact]
    public void A_flow_bucket_that_could_never_match_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowBucketMatch(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowBucketMatch(4, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowBucketMatch(-1, 4));
        Assert.Equal("flow 3/4", new FlowBucketMatch(3, 4).ToString());
    }

    [Fact]
    public void Reset_returns_every_queued_frame_to_the_pool()
    {
        using TestFrames f = new();
        PrioQDisc q = PrioQDisc.PfifoFast();
        for (int i = 0; i < 50; i++)
        {
            q.Enqueue(f.Udp(200, tos: (byte)(i % 2 == 0 ? 0x10 : 0x08)), s_now);
        }
        Assert.NotNull(q.Peek(s_now));
        q.Reset();
        Assert.Equal(0, q.BacklogPackets);
    }

    [Theory]
    // tc-prio(8)'s table with the kernel's ip_tos2prio (the cost bit is ECN now, so it maps to best effort)
    [InlineData(0x00, 0, 1)]
    [InlineData(0x02, 0, 1)]
    [InlineData(0x04, 0, 1)]
    [InlineData(0x08, 2, 2)]
    [InlineData(0x0c, 2, 2)]
    [InlineData(0x10, 6, 0)]
    [InlineData(0x14, 6, 0)]
    [InlineData(0x18, 4, 1)]
    [InlineData(0x1e, 4, 1)]
    [InlineData(0xb8, 4, 1)] // DSCP EF (46): 0xb8 & 0x1e = 0x18, so Linux gives it TC_PRIO_INTERACTIVE_BULK, band 1
    public void The_tos_byte_maps_to_linux_priorities_and_pfifo_fast_bands(byte tos, byte priority, int band)
    {
        using TestFrames f = new();
        Assert.Equal(priority, Priomap.TosToPriority(tos));
        PacketBuffer frame = f.Udp(100, tos: tos);
        Assert.Equal(priority, Priomap.PriorityOf(frame));
        PrioQDisc q = PrioQDisc.PfifoFast();
        Assert.Equal(band, q.Classify(frame));
        frame.Free();
    }

    [Fact]
    public void A_priority_set_by_a_socket_or_hook_wins_over_the_tos()
    {
        using TestFrames f = new();
        PacketBuffer frame = f.Udp(100, tos: 0x08); // bulk by TOS: band 2
        PrioQDisc q = PrioQDisc.PfifoFast();
        Assert.Equal(2, q.Classify(frame));
        frame.Priority = Priomap.Control; // 7 -> band 0
        Assert.Equal(0, q.Classify(frame));
        frame.Free();
    }

    [Fact]
    public void Prio_serves_bands_strictly_in_order()
    {
        using TestFrames f = new();
        PrioQDisc q = PrioQDisc.Create();
        Instant t = s_now;
        foreach (byte tos in new byte[] { 0x08, 0x00, 0x10, 0x08, 0x00, 0x10 })
        {
            q.Enqueue(f.Udp(100, flow: tos, tos: tos), t);
        }
        int[] order = new int[6];
        for (int i = 0; i < 6; i++)
        {
            PacketBuffer frame = q.Dequeue(t)!;
            order[i] = TestFrames.FlowOf(frame);
            frame.Free();
        }
        Assert.Equal(new[] { 0x10, 0x10, 0x00, 0x00, 0x08, 0x08 }, order);
        Assert.Equal(6, q.Statistics.SentPackets);
    }

    [Fact]
    public void Prio_filters_come_before_the_priomap_mark_bpf_and_flow_hash()
    {
        using TestFrames f = new();
        PrioQDisc q = PrioQDisc.Create(bands: 4, filters:
        [
            new QDiscFilter(new MarkMatch(7), 3),
            new QDiscFilter(new BpfMatch(Skiff.Hooks.Bpf.BpfFilter.Compile("udp src port 10005")), 0),
            new QDiscFilter(new DscpMatch(10), 2),
        ]);
        PacketBuffer marked = f.Udp(100, flow: 5);
        marked.Mark = 7;
        Assert.Equal(3, q.Classify(marked)); // the first matching filter wins
        marked.Mark = 0;
        Assert.Equal(0, q.Classify(marked));
        PacketBuffer af11 = f.Udp(100, flow: 1, tos: 10 << 2);
        Assert.Equal(2, q.Classify(af11));
        PacketBuffer plain = f.Udp(100, flow: 2);
        Assert.Equal(1, q.Classify(plain)); // no filter: the priomap
        foreach (PacketBuffer b in new[] { marked, af11, plain })
        {
            b.Free();
        }
    }

    [Fact]
    public void The_flow_hash_separates_flows_and_is_stable_per_flow()
    {
        using TestFrames f = new();
        HashSet<uint> hashes = [];
        for (int flow = 0; flow < 1000; flow++)
        {
            PacketBuffer a = f.Udp(100, flow: flow), b = f.Udp(1400, flow: flow);
            Assert.Equal(FlowHash.Of(a, 1), FlowHash.Of(b, 1));
            hashes.Add(FlowHash.Of(a, 1));
            a.Free();
            b.Free();
        }
        Assert.True(hashes.Count >= 999);
        int[] buckets = new int[8];
        for (int flow = 0; flow < 8000; flow++)
        {
            PacketBuffer a = f.Udp(100, flow: flow % 60000, source: (uint)(0x0A000000 + flow));
            buckets[FlowHash.Bucket(FlowHash.Of(a, 7), 8)]++;
            a.Free();
        }
        Assert.All(buckets, n => Assert.InRange(n, 800, 1200));
    }

    [Fact]
    public void Ecn_marks_ect_packets_and_keeps_the_ipv4_checksum_valid()
    {
        using TestFrames f = new();
        PacketBuffer ect = f.Udp(100, tos: 0x02), notEct = f.Udp(100, tos: 0x00);
        Assert.True(Ecn.TrySetCe(ect));
        Assert.Equal(3, ect.Data[15] & 3);
        Assert.True(Skiff.Wire.Checksum.IsValid(ect.Data.Slice(14, 20)));
        Assert.False(Ecn.TrySetCe(notEct));
        Assert.Equal(0, notEct.Data[15]);
        ect.Free();
        notEct.Free();
    }
}
