using System.Diagnostics;
using System.Text.Json;
using Skiff.Engine.Metrics;
using Skiff.Stack.Udp;

namespace Skiff.Engine.Tests.Metrics;

/// <summary>
/// <c>dotnet-counters</c>, the tool docs/metrics.md tells users to run, reads the <c>Skiff</c> meter of a process
/// whose engines carry traffic: here this test process itself, two stacks on the in-memory link exchanging datagrams.
/// scripts/test.sh installs the tool into <c>$SKIFF_TEST_TOOLS</c> (default ~/.skiff-test-tools).
/// </summary>
public sealed class DotnetCountersTests
{
    private static string Tool()
    {
        string directory = Environment.GetEnvironmentVariable("SKIFF_TEST_TOOLS")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".skiff-test-tools");
        string path = Path.Combine(directory, "dotnet-counters");
        Assert.True(File.Exists(path), $"dotnet-counters is not in {directory}; run bash scripts/test.sh, which installs it "
            + $"(dotnet tool install dotnet-counters --tool-path {directory}).");
        return path;
    }

    [Fact]
    public async Task Dotnet_counters_collect_reads_the_Skiff_meter_while_traffic_flows()
    {
        string tool = Tool();
        string output = Path.Combine(Path.GetTempPath(), $"skiff-counters-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        await using EnginePair pair = new();
        await using SkiffUdpSocket sink = pair.B.BindUdp(9);
        await using SkiffUdpSocket sender = pair.A.BindUdp();
        using CancellationTokenSource stop = new();
        long sent = 0;
        Task traffic = Task.Run(async () =>
        {
            byte[] payload = new byte[100];
            byte[] into = new byte[2048];
            while (!stop.IsCancellationRequested)
            {
                await sender.SendToAsync(payload, new UdpEndpoint(EnginePair.AddressB, 9));
                await sink.ReceiveFromAsync(into).AsTask().WaitAsync(EnginePair.Timeout);
                sent++;
                await Task.Delay(5);
            }
        });
        try
        {
            ProcessStartInfo info = new(tool)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "collect", "-p", Environment.ProcessId.ToString(), "--counters", SkiffMetrics.MeterName,
                "--format", "json", "-o", output, "--refresh-interval", "1", "--duration", "00:00:00:06" })
            {
                info.ArgumentList.Add(arg);
            }
            using Process collect = Process.Start(info)!;
            Task<string> stdout = collect.StandardOutput.ReadToEndAsync();
            Task<string> stderr = collect.StandardError.ReadToEndAsync();
            if (!collect.WaitForExit(120_000))
            {
                collect.Kill(entireProcessTree: true);
                Assert.Fail("dotnet-counters collect did not finish within 120 s");
            }
            collect.WaitForExit();
            Assert.True(collect.ExitCode == 0, $"dotnet-counters exited {collect.ExitCode}: {await stdout}{await stderr}");
            Assert.True(File.Exists(output), $"dotnet-counters wrote no {output}: {await stdout}{await stderr}");

            // {"TargetProcess": ..., "Events": [{"timestamp", "provider", "name", "tags", "counterType", "value"}, ...]}
            using JsonDocument json = JsonDocument.Parse(await File.ReadAllTextAsync(output));
            List<(string Name, string Tags, double Value)> events = [];
            foreach (JsonElement e in json.RootElement.GetProperty("Events").EnumerateArray())
            {
                Assert.Equal(SkiffMetrics.MeterName, e.GetProperty("provider").GetString());
                events.Add((e.GetProperty("name").GetString()!, e.GetProperty("tags").GetString() ?? "", e.GetProperty("value").GetDouble()));
            }
            Assert.True(events.Count > 0, $"no events in {output}");
            // A counter is shown as its rate per refresh interval: B received datagrams in some interval.
            var rx = events.Where(e => e.Name.StartsWith(SkiffMetrics.RxPackets, StringComparison.Ordinal) && e.Tags.Contains("10.0.0.2", StringComparison.Ordinal)).ToList();
            Assert.True(rx.Count > 0, $"no {SkiffMetrics.RxPackets} for 10.0.0.2 among: {string.Join("; ", events.Select(e => e.Name + " " + e.Tags).Distinct())}");
            Assert.Contains(rx, e => e.Value > 0);
            Assert.Contains(events, e => e.Name.StartsWith(SkiffMetrics.PoolFramesLimit, StringComparison.Ordinal) && e.Value == 16384);
        }
        finally
        {
            stop.Cancel();
            await traffic.WaitAsync(EnginePair.Timeout);
            File.Delete(output);
        }
        Assert.True(sent > 0);
    }
}
