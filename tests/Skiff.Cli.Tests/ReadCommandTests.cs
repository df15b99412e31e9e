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
}
