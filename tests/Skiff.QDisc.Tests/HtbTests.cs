using Skiff.QDisc.Classify;

namespace Skiff.QDisc.Tests;

/// <summary>HTB against tc-htb(8): rate accuracy, burst, borrowing up to ceil, sharing by rate, strict priority, filters and the direct queue.</summary>
public sealed class HtbTests
{
    private static readonly Instant s_start = Instant.FromMillis(3);

    /// <summary>Matches the test frames of one flow (UDP source port 10000 + flow).</summary>
    private sealed class FlowMatch(int flow) : PacketMatch
    {
        public override bool Matches(PacketBuffer frame) => TestFrames.FlowOf(frame) == flow;

        public override string ToString() => $"flow {flow}";
    }

    /// <summary>Keeps each of <paramref name="flows"/> backlogged for 10 s (flows listed in <paramref name="activeFrom"/> start late) and returns bytes per flow.</summary>
    private static long[] Run(TestFrames f, HtbQDisc q, int flows, Duration span, int frameBytes = 1514)
    {
        long[] bytes = new long[flows];
        Instant now = s_start, end = s_start + span;
        while (now < end)
        {
            for (int flow = 0; flow < flows; flow++)
            {
                while (ClassBacklog(q, flow) < 16)
                {
                    q.Enqueue(f.Udp(frameBytes, flow: flow), now);
                }
            }
            while (q.Dequeue(now) is PacketBuffer p)
            {
                bytes[TestFrames.FlowOf(p)] += p.Length;
                p.Free();
            }
            Instant next = q.NextDequeueAt(now);
            Assert.True(next > now);
            now = next;
        }
        q.Reset();
        return bytes;
    }

    private static int ClassBacklog(HtbQDisc q, int flow) => q.Class(10 + flow).Leaf!.BacklogPackets;

    private static HtbQDisc Tree(Rate parent, params (Rate Rate, Rate Ceil, int Prio)[] leaves)
    {
        List<HtbClassSpec> classes = [new HtbClassSpec(1, 0, parent)];
        List<QDiscFilter> filters = [];
        for (int i = 0; i < leaves.Length; i++)
        {
            classes.Add(new HtbClassSpec(10 + i, 1, leaves[i].Rate, leaves[i].Ceil, Prio: leaves[i].Prio));
            filters.Add(new QDiscFilter(new FlowMatch(i), 10 + i));
        }
        return new HtbQDisc(classes, filters);
    }

    private static Rate Mbit(double m) => new((long)(m * 1_000_000));

    [Theory]
    [InlineData(1_000_000L)]
    [InlineData(10_000_000L)]
    [InlineData(100_000_000L)]
    [InlineData(1_000_000_000L)]
    [InlineData(10_000_000_000L)]
    public void One_class_holds_its_rate_within_one_percent_over_ten_seconds(long bitsPerSecond)
    {
        using TestFrames f = new();
        HtbQDisc q = new([new HtbClassSpec(10, 0, new Rate(bitsPerSecond))], defaultClass: 10);
        long bytes = TbfTests.Saturate(f, q, 1514, s_start, Duration.FromSeconds(10));
        double expected = bitsPerSecond / 8.0 * 10;
        Assert.InRange(bytes, expected * 0.99, expected * 1.01);
    }

    [Fact]
    public void Burst_lets_an_idle_class_send_its_bucket_at_once()
    {
        using TestFrames f = new();
        HtbQDisc q = new([new HtbClassSpec(10, 0, Mbit(1), Burst: 15_140, CBurst: 15_140)], defaultClass: 10);
        for (int i = 0; i < 30; i++)
        {
            q.Enqueue(f.Udp(1514), s_start);
        }
        // HTB, unlike TBF, lets a class send while its tokens are not negative before the charge (htb_class_mode with no
        // hysteresis): the bucket's 10 frames, and one more that takes the tokens below zero.
        Assert.Equal(11, TestFrames.Drain(q, s_start));
        Assert.Equal(s_start + Duration.FromMicros(12112), q.NextDequeueAt(s_start)); // back at zero one frame time later
        q.Reset();
    }

    [Fact]
    public void A_lone_class_borrows_from_its_parent_up_to_its_ceil()
    {
        using TestFrames f = new();
        long[] toCeil = Run(f, Tree(Mbit(10), (Mbit(2), Mbit(10), 0), (Mbit(8), Mbit(10), 0)), 1, Duration.FromSeconds(10));
        Assert.InRange(toCeil[0] * 8 / 10.0, 9.9e6, 10.1e6);
        long[] capped = Run(f, Tree(Mbit(10), (Mbit(2), Mbit(6), 0), (Mbit(8), Mbit(10), 0)), 1, Duration.FromSeconds(10));
        Assert.InRange(capped[0] * 8 / 10.0, 5.94e6, 6.06e6);
        HtbQDisc q = Tree(Mbit(10), (Mbit(2), Mbit(10), 0));
        Run(f, q, 1, Duration.FromSeconds(2));
        Assert.True(q.Class(10).Borrows > 0);
    }

    [Fact]
    public void Busy_classes_share_the_parent_in_proportion_to_their_rates()
    {
        using TestFrames f = new();
        long[] bytes = Run(f, Tree(Mbit(10), (Mbit(1), Mbit(10), 0), (Mbit(3), Mbit(10), 0)), 2, Duration.FromSeconds(10));
        double a = bytes[0] * 8 / 10.0, b = bytes[1] * 8 / 10.0;
        Assert.InRange(a + b, 9.9e6, 10.1e6);
        Assert.InRange(b / a, 3 * 0.97, 3 * 1.03);
    }

    [Fact]
    public void Spare_rate_goes_to_the_higher_priority_class_first()
    {
        using TestFrames f = new();
        long[] bytes = Run(f, Tree(Mbit(10), (Mbit(1), Mbit(10), 1), (Mbit(1), Mbit(10), 0)), 2, Duration.FromSeconds(10));
        double low = bytes[0] * 8 / 10.0, high = bytes[1] * 8 / 10.0;
        Assert.InRange(low, 0.97e6, 1.05e6); // only its own rate
        Assert.InRange(high, 8.9e6, 9.1e6);  // its rate and all the spare
    }

    [Fact]
    public void Unclassified_frames_go_to_the_default_class_or_else_the_unshaped_direct_queue()
    {
        using TestFrames f = new();
        HtbQDisc withDefault = new([new HtbClassSpec(1, 0, Mbit(1)), new HtbClassSpec(10, 1, Mbit(1))], [new QDiscFilter(new MarkMatch(5), 10)], defaultClass: 10);
        PacketBuffer marked = f.Udp(1514);
        marked.Mark = 5;
        withDefault.Enqueue(marked, s_start);
        withDefault.Enqueue(f.Udp(1514), s_start);
        Assert.Equal(2, withDefault.Class(10).Leaf!.BacklogPackets);
        withDefault.Reset();
        HtbQDisc direct = new([new HtbClassSpec(10, 0, Mbit(1))], [new QDiscFilter(new MarkMatch(5), 10)]);
        for (int i = 0; i < 50; i++)
        {
            direct.Enqueue(f.Udp(1514), s_start);
        }
        Assert.Equal(50, TestFrames.Drain(direct, s_start)); // not shaped
        Assert.Equal(50, direct.DirectPackets);
    }

    [Fact]
    public void DirectPackets_counts_what_the_direct_queue_took_not_what_its_limit_dropped()
    {
        using TestFrames f = new();
        HtbQDisc q = new([new HtbClassSpec(10, 0, Mbit(1))], [new QDiscFilter(new MarkMatch(5), 10)], directQueueLimit: 3);
        for (int i = 0; i < 5; i++)
        {
            q.Enqueue(f.Udp(1514), s_start);
        }
        Assert.Equal(3, q.DirectPackets);
        Assert.Equal(2, q.Child(q.ChildCount - 1).Statistics.Dropped); // the direct queue's own drops
        Assert.Equal(3, TestFrames.Drain(q, s_start));
    }

    [Fact]
    public void Unknown_classes_and_children_are_argument_errors_that_say_what_exists()
    {
        HtbQDisc q = new([new HtbClassSpec(1, 0, Mbit(2)), new HtbClassSpec(10, 1, Mbit(1)), new HtbClassSpec(20, 1, Mbit(1))], defaultClass: 10);
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => q.Class(30));
        Assert.StartsWith("This htb has no class 30; its classes are 1, 10, 20.", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Child(3)); // two leaves and the direct queue: 0 to 2
        Assert.Throws<ArgumentOutOfRangeException>(() => q.Child(-1));
        Assert.Same(q.Class(20).Leaf, q.Child(1));
    }

    [Fact]
    public void A_leaf_qdisc_runs_under_its_class()
    {
        using TestFrames f = new();
        HtbQDisc q = new([new HtbClassSpec(10, 0, Mbit(10), Leaf: () => new FqCodelQDisc())], defaultClass: 10);
        Assert.IsType<FqCodelQDisc>(q.Class(10).Leaf);
        long bytes = TbfTests.Saturate(f, q, 1514, s_start, Duration.FromSeconds(2), flowOf: n => n % 4);
        Assert.InRange(bytes * 8 / 2.0, 9.9e6, 10.1e6);
    }

    [Fact]
    public void Bad_trees_are_refused_with_the_reason()
    {
        Assert.Contains("not defined before it", Assert.Throws<ArgumentException>(() => new HtbQDisc([new HtbClassSpec(10, 1, Mbit(1))])).Message);
        Assert.Contains("below its rate", Assert.Throws<ArgumentException>(() => new HtbQDisc([new HtbClassSpec(10, 0, Mbit(2), Mbit(1))])).Message);
        Assert.Contains("has children", Assert.Throws<ArgumentException>(() =>
            new HtbQDisc([new HtbClassSpec(1, 0, Mbit(2)), new HtbClassSpec(10, 1, Mbit(1))], defaultClass: 1)).Message);
    }
}
