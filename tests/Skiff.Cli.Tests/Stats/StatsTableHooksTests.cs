using System.Text.Json;
using Skiff.Cli.Stats;
using Skiff.Engine.Metrics;

namespace Skiff.Cli.Tests.Stats;

/// <summary><c>skiff stats</c>' table shows each hook's verdicts, per queue and summed, with rates.</summary>
public sealed class StatsTableHooksTests
{
    private static SkiffMetricsSnapshot Snapshot(int queue, long drops, long passes) => SkiffMetricsSnapshot.ReadJson(JsonDocument.Parse($$"""
        {"queue":{{queue}},"address":"10.0.0.2","sequence":1,"publishedAtMicros":1000000,"rxPackets":10,"rxBytes":600,"txPackets":0,"txBytes":0,
         "tcpActiveOpens":0,"tcpPassiveOpens":0,"tcpRetransmissions":0,"tcpConnections":0,"poolFramesInUse":0,"poolFrames":16384,
         "drops":{"Filter":{{drops}}},
         "hooks":[{"point":"rx","name":"drop: icmp","pass":{{passes}},"drop":{{drops}},"tx":0,"redirect":0,"abort":0}]}
        """).RootElement)!;

    [Fact]
    public void Each_hook_has_its_rows_with_the_verdicts_it_gave()
    {
        StatsReport before = new(7, [Snapshot(0, 4, 1), Snapshot(1, 0, 2)], "");
        StatsReport now = new(7, [Snapshot(0, 10, 1), Snapshot(1, 6, 2)], "");
        string table = StatsTable.Format(now, before, "/tmp/s.sock", DateTimeOffset.UnixEpoch);
        string[] lines = table.Split('\n');
        Assert.Contains("rx hook drop: icmp", lines);
        string drop = Assert.Single(lines, l => l.StartsWith("  drop ", StringComparison.Ordinal));
        Assert.Matches(@"^\s+drop\s+10\s+\S+\s+6\s+\S+\s+16\s", drop); // per queue and all queues
        Assert.Contains(lines, l => l.StartsWith("  pass ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.StartsWith("  abort", StringComparison.Ordinal)); // never given
        Assert.Contains(lines, l => l.TrimStart().StartsWith("Filter", StringComparison.Ordinal));
    }
}
