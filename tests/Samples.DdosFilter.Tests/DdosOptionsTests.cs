using DdosFilter;

namespace Samples.DdosFilter.Tests;

public sealed class DdosOptionsTests
{
    [Fact]
    public void A_full_command_line_parses()
    {
        Assert.True(DdosOptions.TryParse(["--driver", "afpacket", "--wire", "eth0", "--host", "veth1", "--drop", "udp src port 11211",
            "--drop", " udp src port 53 and greater 600 ", "--rate", "2000", "--syn-proxy", "80", "--syn-proxy", "443", "--mss", "1400",
            "--sources", "1024", "--flows", "4096", "--seconds", "2.5", "--stats-socket", "none", "--busy-poll"], out DdosOptions o, out string error), error);
        Assert.Equal(("afpacket", "eth0", "veth1"), (o.Driver, o.Wire, o.Host));
        Assert.Equal(["udp src port 11211", "udp src port 53 and greater 600"], o.Rules);
        Assert.Equal((2000L, 2000L, 1024, 4096, (ushort)1400, 2.5, "none", true), (o.Rate, o.Burst, o.Sources, o.Flows, o.Mss, o.Seconds, o.StatsSocket, o.BusyPoll));
        Assert.Equal([(ushort)80, (ushort)443], o.SynProxyPorts);
        Assert.True(o.TryCompileRules(out var filters, out error), error);
        Assert.Equal(2, filters.Count);
    }

    [Fact]
    public void A_rules_file_holds_one_expression_per_line_with_comments()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "# memcached and DNS reflection\nudp src port 11211\n\n  udp src port 53 and greater 600   # big answers\n#tcp port 23\n");
            Assert.True(DdosOptions.TryParse(["--wire", "a", "--host", "b", "--drop", "icmp", "--rules", file], out DdosOptions o, out string error), error);
            Assert.Equal(["icmp", "udp src port 11211", "udp src port 53 and greater 600"], o.Rules);
            Assert.Equal(10_000, o.Burst); // the rate's default
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--wire a", "Give both interfaces")]
    [InlineData("--wire a --host a", "both a")]
    [InlineData("--wire a --host b --rate -1", "--rate '-1' is not")]
    [InlineData("--wire a --host b --syn-proxy 70000", "--syn-proxy '70000' is not a TCP port")]
    [InlineData("--wire a --host b --driver dpdk", "--driver 'dpdk' is not one of")]
    [InlineData("--wire a --host b --sources 2", "--sources '2' is not a table size")]
    [InlineData("--wire a --host b --seconds NaN", "--seconds 'NaN'")]
    [InlineData("--wire a --host b --bogus 1", "Unknown option --bogus")]
    [InlineData("--wire a --host b udp", "Unexpected argument 'udp'")]
    [InlineData("--wire a --host b --rules /nonexistent/rules", "does not exist")]
    [InlineData("--wire a --host b --drop", "--drop needs a value")]
    public void Bad_command_lines_are_refused_with_a_sentence(string line, string expected)
    {
        Assert.False(DdosOptions.TryParse(line.Split(' '), out _, out string error));
        Assert.Contains(expected, error);
    }

    [Fact]
    public void An_empty_drop_rule_is_refused_rather_than_dropping_everything()
    {
        Assert.False(DdosOptions.TryParse(["--wire", "a", "--host", "b", "--drop", " "], out _, out string error));
        Assert.Contains("would drop every frame", error);
    }

    [Fact]
    public void An_invalid_expression_is_refused_with_libpcaps_reason()
    {
        Assert.True(DdosOptions.TryParse(["--wire", "a", "--host", "b", "--drop", "udp port", "--drop", "icmp"], out DdosOptions o, out _));
        Assert.False(o.TryCompileRules(out _, out string error));
        Assert.Contains("The drop rule 'udp port' was not accepted", error);
        Assert.Contains("syntax error", error);
    }
}
