using System.Text.Json;

namespace Skiff.Cli.Tests;

public class ReadCommandTests
{
    private static readonly int SampleFrames = SampleCapture.Frames().Count;

    [Fact]
    public void CommittedSample_IsWhatTheGeneratorMakes()
    {
        string path = Path.Combine(CliRunner.RepositoryRoot(), "tests", "data", "sample.pcapng");
        byte[] generated = SampleCapture.Build();
        if (Environment.GetEnvironmentVariable("SKIFF_REGENERATE_SAMPLE") == "1")
        {
            File.WriteAllBytes(path, generated);
        }
        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with SKIFF_REGENERATE_SAMPLE=1 dotnet test tests/Skiff.Cli.Tests --filter CommittedSample");
        Assert.Equal(generated, File.ReadAllBytes(path));
    }

    [Fact]
    public void Sample_PrintsEveryProtocolTcpdumpStyle()
    {
        string path = CliRunner.TempFile(SampleCapture.Build(), ".pcapng");
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path);
            Assert.Equal(0, result.ExitCode);
            Assert.Equal("", result.Error);
            string[] lines = result.Lines;
            Assert.Equal(SampleFrames + 2, lines.Length);
            Assert.Equal("22:13:20.000000 ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28", lines[0]);
            Assert.Equal("22:13:20.001000 ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:0b, length 28", lines[1]);
            Assert.Equal("22:13:20.002000 IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0", lines[2]);
            Assert.Equal("22:13:20.003000 IP 10.0.0.2.80 > 10.0.0.1.5000: Flags [S.], seq 9000, ack 1001, win 65160, options [mss 1460,sackOK,TS val 2 ecr 1,nop,wscale 7], length 0", lines[3]);
            Assert.Equal("22:13:20.005000 IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [P.], seq 1001:1019, ack 9001, win 502, options [nop,nop,TS val 4 ecr 2], length 18", lines[5]);
            Assert.Equal("22:13:20.007000 IP 10.0.0.1.40000 > 10.0.0.2.9: UDP, length 21", lines[7]);
            Assert.StartsWith("22:13:20.008000 IP 10.0.0.2 > 10.0.0.1: ICMP port unreachable", lines[8]);
            Assert.Contains("(for 10.0.0.1 > 10.0.0.2 UDP port 9)", lines[8]);
            Assert.Equal("22:13:20.009000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 64", lines[9]);
            Assert.Equal("22:13:20.010000 IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 7, seq 1, length 64", lines[10]);
            Assert.Contains("IP6 fd00::a > ff02::1:ff00:b: ICMP6, neighbor solicitation, who has fd00::b, source link-address 02:00:00:00:00:0a", lines[11]);
            Assert.Contains("IP6 fd00::b > fd00::a: ICMP6, neighbor advertisement, tgt is fd00::b, Flags [solicited, override], target link-address 02:00:00:00:00:0b", lines[12]);
            Assert.Contains("IP6 fd00::a > fd00::b: ICMP6, echo request, id 9, seq 1, length 64", lines[13]);
            Assert.Contains("IP6 fd00::b > fd00::a: ICMP6, echo reply, id 9, seq 1, length 64", lines[14]);
            Assert.Equal("22:13:20.015000 vlan 10, p 0, IP 10.0.0.1.40001 > 10.0.0.2.53: UDP, length 21", lines[15]);
            Assert.Equal("22:13:20.016000 IP 10.0.0.1 > 10.0.0.2: [malformed TCP: bad header length]", lines[16]);
            Assert.Equal("22:13:20.017000 IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 1480 (frag 4660:1480@0+)", lines[17]);
            Assert.Equal("22:13:20.018000 IP 10.0.0.1 > 10.0.0.2: ICMP (frag 4660:520@1480)", lines[18]);
            Assert.Equal($"summary: {SampleFrames} frames, 1 malformed, 0 capture errors", lines[^2]);
            Assert.Equal("by protocol: ARP 2, ICMP 4, ICMP6 4, IPv4-frag 1, TCP 6, UDP 2", lines[^1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ClassicPcap_OfTheSameFrames_ReadsTheSame()
    {
        string ng = CliRunner.TempFile(SampleCapture.Build(pcapng: true), ".pcapng");
        string classic = CliRunner.TempFile(SampleCapture.Build(pcapng: false), ".pcap");
        try
        {
            Assert.Equal(CliRunner.Run("read", ng).Output, CliRunner.Run("read", classic).Output);
        }
        finally
        {
            File.Delete(ng);
            File.Delete(classic);
        }
    }

    [Fact]
    public void MalformedFrame_IsReported_AndReadingContinues()
    {
        string path = CliRunner.TempFile(SampleCapture.Build(), ".pcapng");
        try
        {
            string[] lines = CliRunner.Run("read", path).Lines;
            int malformed = Array.FindIndex(lines, l => l.Contains("[malformed"));
            Assert.Equal(SampleCapture.MalformedFrameNumber - 1, malformed);
            Assert.Equal(1, lines.Count(l => l.Contains("[malformed")));
            Assert.True(malformed < SampleFrames - 1, "the malformed frame must not be the last, or continuing is not tested");
            Assert.Contains("ICMP", lines[malformed + 1]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Count_StopsAfterNFrames()
    {
        string path = CliRunner.TempFile(SampleCapture.Build(), ".pcapng");
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path, "--count", "3");
            Assert.Equal(0, result.ExitCode);
            Assert.Equal(5, result.Lines.Length);
            Assert.Contains("Flags [S]", result.Lines[2]);
            Assert.Equal("summary: 3 frames, 0 malformed, 0 capture errors", result.Lines[3]);
            Assert.Equal("by protocol: ARP 2, TCP 1", result.Lines[4]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Json_OneObjectPerFrame_ThenASummary()
    {
        string path = CliRunner.TempFile(SampleCapture.Build(), ".pcapng");
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path, "--json");
            Assert.Equal(0, result.ExitCode);
            string[] lines = result.Lines;
            Assert.Equal(SampleFrames + 1, lines.Length);
            using (JsonDocument syn = JsonDocument.Parse(lines[2]))
            {
                JsonElement e = syn.RootElement;
                Assert.Equal(3, e.GetProperty("frame").GetInt32());
                Assert.Equal("TCP", e.GetProperty("protocol").GetString());
                Assert.Equal("10.0.0.1", e.GetProperty("src").GetString());
                Assert.Equal(80, e.GetProperty("dport").GetInt32());
                Assert.Equal(SampleCapture.StartNanos + 2_000_000, e.GetProperty("timestamp_ns").GetInt64());
                Assert.Equal("2023-11-14T22:13:20.0020000Z", e.GetProperty("time").GetString());
                Assert.StartsWith("IP 10.0.0.1.5000 > 10.0.0.2.80: Flags [S]", e.GetProperty("summary").GetString());
                Assert.False(e.TryGetProperty("malformed", out _));
            }
            using (JsonDocument vlan = JsonDocument.Parse(lines[15]))
            {
                Assert.Equal(10, vlan.RootElement.GetProperty("vlan").GetInt32());
            }
            using (JsonDocument bad = JsonDocument.Parse(lines[SampleCapture.MalformedFrameNumber - 1]))
            {
                JsonElement m = bad.RootElement.GetProperty("malformed");
                Assert.Equal("TCP", m.GetProperty("layer").GetString());
                Assert.Equal("BadHeaderLength", m.GetProperty("error").GetString());
            }
            using JsonDocument summary = JsonDocument.Parse(lines[^1]);
            JsonElement s = summary.RootElement.GetProperty("summary");
            Assert.Equal(SampleFrames, s.GetProperty("frames").GetInt32());
            Assert.Equal(1, s.GetProperty("malformed").GetInt32());
            Assert.True(s.GetProperty("complete").GetBoolean());
            Assert.Equal(6, s.GetProperty("protocols").GetProperty("TCP").GetInt32());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TruncatedFile_ListsWhatItCan_WarnsAndExitsZero()
    {
        byte[] whole = SampleCapture.Build();
        string path = CliRunner.TempFile(whole[..(whole.Length - 52 - 40)], ".pcapng"); // cut inside the last packet block
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path);
            Assert.Equal(0, result.ExitCode);
            Assert.Contains(result.Lines, l => l.StartsWith("warning: the capture file has a truncated block after frame 18; stopped reading there"));
            Assert.Contains($"summary: {SampleFrames - 1} frames, 1 malformed, 1 capture errors", result.Output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void NotACapture_ExitsTwo_WithAClearError()
    {
        string path = CliRunner.TempFile("this is a text file, not a capture\n"u8.ToArray(), ".txt");
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path);
            Assert.Equal(2, result.ExitCode);
            Assert.Equal("", result.Output);
            Assert.Contains("not a pcap or pcapng capture file", result.Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingFile_ExitsTwo_WithAClearError()
    {
        CliRunner.Result result = CliRunner.Run("read", "/nonexistent/skiff/none.pcap");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("cannot open '/nonexistent/skiff/none.pcap'", result.Error);
        Assert.Contains("Check the path", result.Error);
    }

    [Fact]
    public void ZeroCount_IsRefused()
    {
        string path = CliRunner.TempFile(SampleCapture.Build(), ".pcapng");
        try
        {
            CliRunner.Result result = CliRunner.Run("read", path, "--count", "0");
            Assert.Equal(2, result.ExitCode);
            Assert.Contains("--count must be a positive number", result.Error);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string DataFile(string name) => Path.Combine(CliRunner.RepositoryRoot(), "tests", "data", name);

    /// <summary>The timestamps (UTC time of day, as skiff prints them) of the frames tcpdump -nn -tt -r prints for the expression.</summary>
    private static List<string> TcpdumpTimes(string file, string expression)
    {
        ExternalTools.Result result = ExternalTools.Run("tcpdump", ["-nn", "-tt", "-r", file, .. expression.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);
        Assert.True(result.ExitCode == 0, $"tcpdump -r {file} {expression} exited {result.ExitCode}: {result.Error}");
        List<string> times = [];
        foreach (string line in result.Output.Split('\n'))
        {
            // "1704067200.003000 IP 10.0.0.1.40000 > ...": seconds.microseconds since the epoch
            int space = line.IndexOf(' ');
            if (space > 0 && char.IsAsciiDigit(line[0]) && decimal.TryParse(line[..space], System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out decimal seconds))
            {
                times.Add(Skiff.Cli.Commands.ReadCommand.FormatTime((long)(seconds * 1_000_000_000m), nanosecond: false));
            }
        }
        return times;
    }

    [PrivilegedTheory("tcpdump")]
    [InlineData("filters.pcap", "tcp port 80")]
    [InlineData("filters.pcap", "udp and not port 53")]
    [InlineData("filters.pcap", "arp or icmp")]
    [InlineData("filters.pcap", "vlan 10 and udp")]
    [InlineData("filters.pcap", "tcp[tcpflags] & tcp-syn != 0 and (dst net 10.0.0.0/8 or src host 192.168.1.1) and not port 22")]
    [InlineData("filters.pcap", "ip6 and not icmp6")]
    [InlineData("filters.pcap", "ip[6:2] & 0x1fff != 0")]
    [InlineData("filters.pcap", "ether broadcast and ip")]
    [InlineData("filters.pcap", "greater 200 and ip")]
    [InlineData("sample.pcapng", "tcp")]
    [InlineData("sample.pcapng", "host 10.0.0.2 and not arp")]
    [InlineData("sample.pcapng", "icmp6 or vlan")]
    public void Filter_PrintsExactlyTheFramesTcpdumpPrints(string name, string expression)
    {
        string file = DataFile(name);
        List<string> expected = TcpdumpTimes(file, expression);
        string[] args = ["read", file, .. expression.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
        CliRunner.Result result = CliRunner.Run(args);
        Assert.True(result.ExitCode == 0, result.Error);
        string[] lines = result.Lines;
        List<string> printed = lines[..^2].Select(l => l[..l.IndexOf(' ')]).ToList();
        Assert.Equal(expected, printed);
        Assert.NotEmpty(expected); // each expression matches something, or the comparison shows little
        int total = CliRunner.Run("read", file).Lines.Length - 2;
        Assert.True(expected.Count < total, $"'{expression}' matches every frame of {name}");
        Assert.StartsWith($"summary: {expected.Count} of {total} frames matched '{expression}', ", lines[^2]);
    }

    [Fact]
    public void Filter_IsTheRemainingArgumentsJoined_LikeTcpdump()
    {
        string file = DataFile("sample.pcapng");
        CliRunner.Result split = CliRunner.Run("read", file, "tcp", "and", "dst", "port", "80");
        CliRunner.Result whole = CliRunner.Run("read", file, "tcp and dst port 80");
        Assert.Equal(0, split.ExitCode);
        Assert.Equal(whole.Output, split.Output);
        // frames 3, 5, 6 and 17 go to port 80: the SYN, the ACK, the request and the malformed segment (its ports are intact)
        Assert.Equal(4 + 2, split.Lines.Length);
        Assert.All(split.Lines[..3], l => Assert.Contains("10.0.0.1.5000 > 10.0.0.2.80:", l));
        Assert.Contains("[malformed TCP", split.Lines[3]);
        Assert.Equal($"summary: 4 of {SampleFrames} frames matched 'tcp and dst port 80', 1 malformed, 0 capture errors", split.Lines[4]);
        Assert.Equal("by protocol: TCP 4", split.Lines[5]);
    }

    [Fact]
    public void Filter_WithCount_CountsMatchingFrames()
    {
        CliRunner.Result result = CliRunner.Run("read", DataFile("sample.pcapng"), "icmp", "--count", "2");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2 + 2, result.Lines.Length);
        Assert.All(result.Lines[..2], l => Assert.Contains("ICMP", l));
        Assert.StartsWith("summary: 2 of 10 frames matched 'icmp'", result.Lines[2]); // the ICMP port unreachable (frame 9) and the echo request (frame 10)
    }

    [Fact]
    public void Filter_InJson_NumbersFramesByTheirPlaceInTheFile_AndSummarisesTheMatch()
    {
        CliRunner.Result result = CliRunner.Run("read", DataFile("sample.pcapng"), "--json", "vlan");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, result.Lines.Length);
        using (JsonDocument frame = JsonDocument.Parse(result.Lines[0]))
        {
            Assert.Equal(16, frame.RootElement.GetProperty("frame").GetInt32());
            Assert.Equal(10, frame.RootElement.GetProperty("vlan").GetInt32());
        }
        using JsonDocument summary = JsonDocument.Parse(result.Lines[1]);
        JsonElement s = summary.RootElement.GetProperty("summary");
        Assert.Equal(SampleFrames, s.GetProperty("frames").GetInt32());
        Assert.Equal(1, s.GetProperty("matched").GetInt32());
        Assert.Equal("vlan", s.GetProperty("filter").GetString());
    }

    [Fact]
    public void BadFilter_ExitsTwo_WithLibpcapsMessage_BeforeAnyOutput()
    {
        CliRunner.Result result = CliRunner.Run("read", DataFile("sample.pcapng"), "tcp", "port");
        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.Contains("'tcp port' is not valid: ", result.Error);
        Assert.Contains("syntax error", result.Error); // libpcap's own words
    }

    [Fact]
    public void TruncatedFrames_AreFilteredOnWhatWasCaptured_AsTcpdumpDoes()
    {
        // filters.pcap frame 55 is a TCP SYN to port 80 cut inside its TCP header: the ports were captured, the flags were not.
        string file = DataFile("filters.pcap");
        string[] ports = CliRunner.Run("read", file, "tcp dst port 80").Lines;
        string[] flags = CliRunner.Run("read", file, "tcp[13] & 2 != 0 and tcp dst port 80").Lines;
        Assert.Contains(ports, l => l.StartsWith("00:00:00.054000 "));
        Assert.DoesNotContain(flags, l => l.StartsWith("00:00:00.054000 "));
        Assert.Contains(flags, l => l.StartsWith("00:00:00.003000 "));
    }
}
