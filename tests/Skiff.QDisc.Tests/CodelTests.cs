namespace Skiff.QDisc.Tests;

/// <summary>CoDel (RFC 8289) and fq_codel (RFC 8290): sojourn-time drops, the control law, ECN, new-flow priority, DRR, limits.</summary>
public sealed class CodelTests
{
    private static readonly Instant s_start = Instant.FromMillis(1000);

    [Theory]
    [InlineData(1u, 100_000L)]
    [InlineData(2u, 70_710L)]
    [InlineData(4u, 50_000L)]
    [InlineData(100u, 10_000L)]
    public void The_control_law_is_interval_over_the_square_root_of_count(uint count, long micros) =>
        Assert.Equal(micros, Codel.ControlLaw(0, Duration.FromMillis(100), count));

    /// <summary>
    /// A queue of 3000 frames all queued at the start, dequeued one per millisecond: the sojourn time grows 1 ms per ms.
    /// RFC 8289: the first drop comes one interval after the sojourn first reached target; then drop k comes
    /// interval/sqrt(k) after drop k-1's schedule, at the first dequeue at or after it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Drops_or_marks_follow_rfc_8289s_schedule_under_a_standing_queue(bool ecn)
    {
        using TestFrames f = new();
        CodelQDisc q = new(CodelParameters.Default with { Ecn = ecn }, limit: 4000);
        for (int i = 0; i < 3000; i++)
        {
            q.Enqueue(f.Udp(1000, tos: (byte)(ecn ? 0x02 : 0x00)), s_start);
        }
        List<long> signals = [];
        long before = 0;
        for (int ms = 0; ms < 1000; ms++)
        {
            Instant now = s_start + Duration.FromMillis(ms);
            PacketBuffer frame = q.Dequeue(now)!;
            if (ecn && (frame.Data[15] & 3) == 3)
            {
                signals.Add(ms * 1000L);
            }
            frame.Free();
            long drops = q.Counters.Drops;
            if (!ecn && drops != before)
            {
                Assert.Equal(before + 1, drops); // one drop per signal
                signals.Add(ms * 1000L);
                before = drops;
            }
        }
        // Sojourn reaches 5 ms at 5 ms: first_above_time = 105 ms; the first dequeue after it (106 ms) signals.
        List<long> expected = [];
        long next = 106_000;
        expected.Add(next);
        uint count = 1;
        long scheduled = Codel.ControlLaw(next, Duration.FromMillis(100), count);
        while (true)
        {
            count++;
            long at = (scheduled + 999) / 1000 * 1000; // the first 1 ms dequeue at or after the schedule
            if (at >= 1_000_000)
            {
                break;
            }
            expected.Add(at);
            scheduled = Codel.ControlLaw(scheduled, Duration.FromMillis(100), count);
        }
        Assert.Equal(expected, signals);
        Assert.Equal(ecn ? 0 : expected.Count, q.Counters.Drops);
        Assert.Equal(ecn ? expected.Count : 0, q.Counters.EcnMarks);
        q.Reset();
    }

    [Fact]
    public void A_queue_below_target_or_of_one_mtu_is_never_dropped()
    {
        using TestFrames f = new();
        CodelQDisc q = new();
        Instant t = s_start;
        // Two frames in flight, each waiting 4 ms: below target forever.
        for (int i = 0; i < 2000; i++)
        {
            q.Enqueue(f.Udp(1000), t);
            t += Duration.FromMillis(4);
            q.Dequeue(t)!.Free();
        }
        // One 1514-byte frame waiting 50 ms each: above target, but the backlog is one MTU.
        for (int i = 0; i < 100; i++)
        {
            q.Enqueue(f.Udp(1514), t);
            t += Duration.FromMillis(50);
            q.Dequeue(t)!.Free();
        }
        Assert.Equal(0, q.Counters.Drops);
    }

    [Fact]
    public void Codel_leaves_the_dropping_state_when_the_sojourn_falls_below_target()
    {
        using TestFrames f = new();
        CodelQDisc q = new();
        for (int i = 0; i < 400; i++)
        {
            q.Enqueue(f.Udp(1000), s_start);
        }
        Instant t = s_start;
        for (int ms = 0; ms < 150; ms++)
        {
            q.Dequeue(t)?.Free();
            t += Duration.FromMillis(1);
        }
        Assert.True(q.Vars.Dropping);
        q.Reset();
        q.Enqueue(f.Udp(1000), t);
        q.Enqueue(f.Udp(1000), t);
        q.Dequeue(t + Duration.FromMillis(1))!.Free(); // 1 ms sojourn
        Assert.False(q.Vars.Dropping);
        q.Reset();
    }

    [Fact]
    public void A_new_flow_goes_before_the_backlogged_bulk_flows()
    {
        using TestFrames f = new();
        FqCodelQDisc q = new();
        for (int i = 0; i < 100; i++)
        {
            for (int flow = 1; flow <= 4; flow++)
            {
                q.Enqueue(f.Udp(1514, flow: flow), s_start);
            }
        }
        for (int i = 0; i < 8; i++)
        {
            q.Dequeue(s_start)!.Free(); // the bulk flows used their first quantum: they are old flows now
        }
        Assert.Equal(0, q.NewFlowsLength);
        q.Enqueue(f.Udp(100, flow: 99), s_start);
        Assert.Equal(1, q.NewFlowsLength);
        PacketBuffer next = q.Dequeue(s_start)!;
        Assert.Equal(99, TestFrames.FlowOf(next));
        next.Free();
        Assert.Equal(5, q.NewFlowCount);
        q.Reset();
    }

    [Fact]
    public void The_drr_quantum_shares_bytes_not_packets()
    {
        using TestFrames f = new();
        FqCodelQDisc q = new();
        for (int i = 0; i < 400; i++)
        {
            q.Enqueue(f.Udp(1514, flow: 1), s_start);
            q.Enqueue(f.Udp(200, flow: 2), s_start);
            q.Enqueue(f.Udp(200, flow: 2), s_start);
        }
        long[] bytes = new long[3];
        for (int i = 0; i < 500; i++)
        {
            PacketBuffer p = q.Dequeue(s_start)!;
            bytes[TestFrames.FlowOf(p)] += p.Length;
            p.Free();
        }
        Assert.InRange(Math.Abs(bytes[1] - bytes[2]), 0, 2 * 1514);
        q.Reset();
    }

    /// <summary>Keeps every bulk flow of <paramref name="fq"/> at <paramref name="depth"/> frames (CoDel's drops included).</summary>
    private static void TopUp(TestFrames f, QueueDiscipline root, FqCodelQDisc fq, int[] buckets, int[] sizes, int depth, Instant now)
    {
        for (int flow = 0; flow < buckets.Length; flow++)
        {
            while (fq.FlowBacklog(buckets[flow]) < depth)
            {
                root.Enqueue(f.Udp(sizes[flow], flow: flow), now);
            }
        }
    }

    /// <summary>
    /// The queue of each of the first <paramref name="flows"/> test flows. The flows are the UDP source ports 10000 + i for
    /// a perturbation chosen so that no two share a queue (two flows in one queue share its quantum, in Linux too).
    /// </summary>
    private static (FqCodelQDisc Fq, int[] Buckets) Distinct(TestFrames f, int flows)
    {
        for (uint seed = 0; ; seed++)
        {
            FqCodelQDisc fq = new(new FqCodelParameters { Seed = seed });
            int[] buckets = new int[flows];
            for (int flow = 0; flow < flows; flow++)
            {
                PacketBuffer probe = f.Udp(100, flow: flow);
                buckets[flow] = fq.FlowOf(probe);
                probe.Free();
            }
            if (buckets.Distinct().Count() == flows)
            {
                return (fq, buckets);
            }
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(8)]
    [InlineData(64)]
    public void Bulk_flows_of_different_frame_sizes_share_a_shaped_link_fairly(int flows)
    {
        using TestFrames f = new();
        (FqCodelQDisc fq, int[] buckets) = Distinct(f, flows);
        TbfQDisc shaped = new(new Rate(10_000_000), 2 * 1514, int.MaxValue, inner: fq);
        long[] bytes = new long[flows];
        Instant now = s_start, end = s_start + Duration.FromSeconds(10);
        int[] sizes = [.. Enumerable.Range(0, flows).Select(i => 200 + i * 397 % 1300)];
        while (now < end)
        {
            TopUp(f, shaped, fq, buckets, sizes, 8, now);
            while (shaped.Dequeue(now) is PacketBuffer p)
            {
                bytes[TestFrames.FlowOf(p)] += p.Length;
                p.Free();
                TopUp(f, shaped, fq, buckets, sizes, 8, now);
            }
            now = shaped.NextDequeueAt(now);
        }
        shaped.Reset();
        double sum = bytes.Sum(), squares = bytes.Sum(b => (double)b * b);
        double jain = sum * sum / (flows * squares);
        Assert.True(jain >= 0.99, $"Jain's index {jain:F4} for {flows} flows: {string.Join(' ', bytes)}");
        Assert.InRange(sum, 10_000_000 / 8 * 10 * 0.99, 10_000_000 / 8 * 10 * 1.01); // and the shaper kept its rate
    }

    [Fact]
    public void A_sparse_flow_keeps_its_delay_under_target_while_bulk_flows_saturate_the_shaper()
    {
        using TestFrames f = new();
        (FqCodelQDisc fq, int[] buckets) = Distinct(f, 8);
        // 100 Mbit/s: a DRR round of the 8 bulk flows takes about 1 ms, so the ping's queue empties and leaves the lists
        // between pings and each ping arrives as a new flow (RFC 8290 section 4: the sparse-flow optimisation).
        TbfQDisc shaped = new(new Rate(100_000_000), 2 * 1514, int.MaxValue, inner: fq);
        Instant now = s_start, end = s_start + Duration.FromSeconds(10), nextPing = s_start;
        Queue<Instant> pings = new();
        long worst = 0, bulkDelay = 0;
        int pingsSeen = 0;
        int[] sizes = [.. Enumerable.Repeat(1514, 8)];
        while (now < end)
        {
            TopUp(f, shaped, fq, buckets, sizes, 50, now);
            if (now >= nextPing)
            {
                shaped.Enqueue(f.Udp(98, flow: 1000), now);
                pings.Enqueue(now);
                nextPing = now + Duration.FromMillis(10);
            }
            while (shaped.Dequeue(now) is PacketBuffer p)
            {
                if (TestFrames.FlowOf(p) == 1000)
                {
                    worst = Math.Max(worst, (now - pings.Dequeue()).TotalMicros);
                    pingsSeen++;
                }
                else
                {
                    bulkDelay = Math.Max(bulkDelay, fq.FlowVars(buckets[TestFrames.FlowOf(p)]).LastDelay);
                }
                p.Free();
            }
            now = Instant.Min(shaped.NextDequeueAt(now), nextPing);
        }
        shaped.Reset();
        Assert.True(pingsSeen >= 990);
        Assert.True(worst < 5_000, $"the sparse flow waited up to {worst} us");
        Assert.True(bulkDelay > 5_000, $"the bulk flows should have built a standing queue; their delay was at most {bulkDelay} us");
        Assert.True(fq.Counters.Drops > 0, "CoDel should have dropped from the bulk flows");
    }

    [Fact]
    public void At_the_packet_limit_it_drops_half_the_fattest_flow_in_a_batch()
    {
        using TestFrames f = new();
        FqCodelQDisc q = new(new FqCodelParameters { Limit = 100, DropBatch = 64 });
        for (int i = 0; i < 90; i++)
        {
            Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(1000, flow: 1), s_start));
        }
        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(1000, flow: 2), s_start));
        }
        // One more of flow 1: over the limit, so half of flow 1's 91 frames (46) go, and flow 1 hears of congestion.
        Assert.Equal(QDiscVerdict.Congested, q.Enqueue(f.Udp(1000, flow: 1), s_start));
        Assert.Equal(46, q.DropOverlimit);
        PacketBuffer probe = f.Udp(1000, flow: 2);
        int flow2 = q.FlowOf(probe);
        probe.Free();
        Assert.Equal(10, q.FlowBacklog(flow2));
        Assert.Equal(55, q.BacklogPackets);
        // A frame of flow 2 over the limit again drops from flow 1 (still the fattest); flow 2 is not told of congestion.
        for (int i = 0; i < 45; i++)
        {
            q.Enqueue(f.Udp(100, flow: 3), s_start);
        }
        Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(1000, flow: 2), s_start));
        Assert.Equal(46 + 23, q.DropOverlimit);
        q.Reset();
    }

    [Fact]
    public void The_memory_limit_bounds_the_frame_memory_held()
    {
        using TestFrames f = new();
        int slot = f.Pool.FrameBytes;
        FqCodelQDisc q = new(new FqCodelParameters { MemoryLimit = 50L * slot });
        for (int i = 0; i < 200; i++)
        {
            q.Enqueue(f.Udp(100, flow: i % 3), s_start);
            Assert.True(q.MemoryUsage <= 50L * slot);
        }
        Assert.True(q.Statistics.DropOverlimit > 0);
        q.Reset();
    }
}
