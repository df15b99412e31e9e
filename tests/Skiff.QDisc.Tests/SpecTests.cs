using Skiff.QDisc.Spec;

namespace Skiff.QDisc.Tests;

/// <summary>The tc-like specifications: units, defaults, and refusals that name the offending word.</summary>
public sealed class SpecTests
{
    [Theory]
    [InlineData("50mbit", 50_000_000)]
    [InlineData("1gbit", 1_000_000_000)]
    [InlineData("10Gbit", 10_000_000_000)]
    [InlineData("800kbit", 800_000)]
    [InlineData("1mbps", 8_000_000)]
    [InlineData("1500", 1500)]
    public void Rates_use_tc_units(string text, long bits) => Assert.Equal(bits, TcUnits.TryParseRate(text)!.Value.BitsPerSecond);

    [Theory]
    [InlineData("64kb", 65536)]
    [InlineData("1514", 1514)]
    [InlineData("1mb", 1048576)]
    [InlineData("10kbit", 1280)]
    public void Sizes_use_tc_units(string text, long bytes) => Assert.Equal(bytes, TcUnits.TryParseSize(text));

    [Theory]
    [InlineData("5ms", 5000)]
    [InlineData("100ms", 100_000)]
    [InlineData("1s", 1_000_000)]
    [InlineData("250us", 250)]
    public void Times_use_tc_units(string text, long micros) => Assert.Equal(micros, TcUnits.TryParseTime(text)!.Value.TotalMicros);

    [Fact]
    public void The_documented_specifications_build_what_they_say()
    {
        Assert.Equal("pfifo limit 1000p", QDiscSpec.Parse("pfifo limit 1000").Build().Describe());
        Assert.Equal("pfifo limit 1000p", QDiscSpec.Parse("pfifo").Build().Describe());
        Assert.Equal("bfifo limit 30000b", QDiscSpec.Parse("bfifo limit 30000").Build().Describe());
        Assert.StartsWith("pfifo_fast bands 3 priomap 1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1", QDiscSpec.Parse("pfifo_fast").Build().Describe());
        Assert.StartsWith("prio bands 4 priomap 3 3", QDiscSpec.Parse("prio bands 4 priomap 3 3 2 2 1 1 0 0 1 1 1 1 1 1 1 1").Build().Describe());
        FqCodelQDisc fq = Assert.IsType<FqCodelQDisc>(QDiscSpec.Parse("fq_codel").Build());
        Assert.Equal((10240, 1024, 1514, 5000L, 100_000L, true, 64, 32L << 20),
            (fq.Parameters.Limit, fq.Parameters.Flows, fq.Parameters.Quantum, fq.Parameters.Target.TotalMicros, fq.Parameters.Interval.TotalMicros,
             fq.Parameters.Ecn, fq.Parameters.DropBatch, fq.Parameters.MemoryLimit));
        CodelQDisc codel = Assert.IsType<CodelQDisc>(QDiscSpec.Parse("codel target 10ms noecn").Build());
        Assert.Equal((10_000L, false, 1000), (codel.Parameters.Target.TotalMicros, codel.Parameters.Ecn, codel.Limit));
        TbfQDisc tbf = Assert.IsType<TbfQDisc>(QDiscSpec.Parse("tbf rate 50mbit burst 64kb latency 50ms").Build());
        // tc: limit = rate x latency + burst = 6.25 MB/s x 0.05 s + 65536
        Assert.Equal((50_000_000L, 65536, 312_500 + 65536), (tbf.RateLimit.BitsPerSecond, tbf.BurstBytes, tbf.LimitBytes));
        TbfQDisc peak = Assert.IsType<TbfQDisc>(QDiscSpec.Parse("tbf rate 1mbit burst 10kb limit 30000 peakrate 2mbit mtu 1514").Build());
        Assert.Equal((2_000_000L, 1514, 1514), (peak.PeakRate!.Value.BitsPerSecond, peak.Mtu, peak.MaxFrameBytes));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("sfq", "'sfq' is not a qdisc")]
    [InlineData("pfifo limit many", "limit 'many'")]
    [InlineData("tbf rate 50mbit latency 50ms", "'burst'")]
    [InlineData("tbf rate fast burst 64kb latency 50ms", "rate 'fast'")]
    [InlineData("tbf rate 50mbit burst 64kb", "one of 'limit' and 'latency'")]
    [InlineData("tbf rate 50mbit burst 64kb latency 5ms limit 1000", "one of 'limit' and 'latency'")]
    [InlineData("tbf rate 50mbit burst 100 latency 5ms", "burst 100b")]
    [InlineData("tbf rate 1mbit burst 10kb latency 5ms peakrate 2mbit", "'mtu'")]
    [InlineData("fq_codel target soon", "target 'soon'")]
    [InlineData("codel flows 10", "'flows' is a parameter of fq_codel")]
    [InlineData("pfifo limit 10 extra", "'extra'")]
    [InlineData("prio bands 2 priomap 0 1 2 0 0 0 0 0 0 0 0 0 0 0 0 0", "band 2")]
    [InlineData("htb", "--qdisc-file")]
    public void Bad_specifications_are_refused_with_the_word_and_the_reason(string text, string expected)
    {
        QDiscSpecException e = Assert.Throws<QDiscSpecException>(() => QDiscSpec.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Shape_puts_a_rate_shaper_above_fq_codel_or_the_named_qdisc()
    {
        // Above 17 Tbit/s a millisecond's burst no longer fits an int; it is capped, not wrapped negative.
        Assert.Equal(int.MaxValue, Assert.IsType<TbfQDisc>(QDiscSpec.Shape(new Rate(900_000_000_000_000)).Build()).BurstBytes);
        TbfQDisc shaped = Assert.IsType<TbfQDisc>(QDiscSpec.Shape(new Rate(20_000_000)).Build());
        Assert.IsType<FqCodelQDisc>(shaped.Inner);
        TbfQDisc overPfifo = Assert.IsType<TbfQDisc>(QDiscSpec.Shape(new Rate(20_000_000), QDiscSpec.Parse("pfifo limit 1000")).Build());
        Assert.Equal("pfifo limit 1000p", overPfifo.Inner.Describe());
    }

    [Fact]
    public void A_qdisc_file_builds_an_htb_hierarchy_with_filters_and_leaf_qdiscs()
    {
        const string file = """
            # a 100 Mbit/s link: web traffic gets 60 % and may borrow the rest; bulk 40 %
            htb default 20
            class 1 rate 100mbit
            class 10 parent 1 rate 60mbit ceil 100mbit prio 0 qdisc fq_codel
            class 20 parent 1 rate 40mbit ceil 100mbit prio 1 qdisc pfifo limit 100
            filter 10 bpf 'tcp port 80'
            filter 10 mark 5
            filter 20 dscp 8
            """;
        HtbQDisc q = Assert.IsType<HtbQDisc>(QDiscSpec.ParseFile(file).Build());
        Assert.Equal(20, q.DefaultClass);
        Assert.Equal(3, q.Classes.Count);
        Assert.IsType<FqCodelQDisc>(q.Class(10).Leaf);
        Assert.Equal("pfifo limit 100p", q.Class(20).Leaf!.Describe());
        Assert.Equal((60_000_000L, 100_000_000L, 1), (q.Class(10).RateLimit.BitsPerSecond, q.Class(10).Ceil.BitsPerSecond, q.Class(20).Prio));
        Assert.Equal(7, q.Class(1).Level);
        Assert.Equal(0, q.Class(10).Level);
    }

    [Theory]
    [InlineData("htb default 30\nclass 10 rate 1mbit", "class 30, which is not defined")]
    [InlineData("htb\nclass 10 rate 1mbit\nfilter 10 colour red", "'colour' is not a filter")]
    [InlineData("htb\nclass 10 ceil 1mbit", "class 10 has no rate")]
    [InlineData("htb\nclass 10 parent 2 rate 1mbit", "parent 2 is not defined")]
    [InlineData("htb\nclass 10 rate 1mbit qdisc sfq", "'sfq' is not a qdisc")]
    [InlineData("htb\nqueue 10", "'queue' is not a line")]
    [InlineData("htb\nclass 10 rate 1mbit\nfilter 10 bpf 'tcp port eighty'", "'tcp port eighty' is refused")]
    [InlineData("htb\nclass 10 rate 1mbit\nfilter 10 mark 5/0x4", "mark '5/0x4' can never match: the value has bits outside the mask (0x1); write the value under its mask, e.g. 0x4/0x4.")]
    public void Bad_qdisc_files_are_refused_with_the_line_and_the_reason(string text, string expected)
    {
        QDiscSpecException e = Assert.Throws<QDiscSpecException>(() => QDiscSpec.ParseFile(text.Replace("\\n", "\n")));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
