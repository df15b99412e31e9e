using System.Globalization;
using System.Text;
using Skiff.Devices;
using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Simulation;

/// <summary>
/// smoltcp's idea: a deterministic simulation (manual clock, seeded faults, fixed keys) whose
/// throughput-and-retransmissions-by-loss table is kept as a text snapshot, so any change in TCP
/// behaviour shows up as a diff in review. Regenerate with SKIFF_UPDATE_SNAPSHOTS=1 after a deliberate change.
/// </summary>
public class ThroughputByLossTable
{
    private const long TransferBytes = 4L << 20;
    private const string SnapshotName = "throughput-by-loss.txt";

    [Fact]
    public void MatchesTheSnapshot()
    {
        string table = BuildTable();
        if (Environment.GetEnvironmentVariable("SKIFF_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(SourceSnapshotPath(), table);
            return;
        }
        // The snapshot is copied next to the test binaries (the csproj does it): deterministic CI builds
        // map source paths to /_/, so the source tree cannot be found from [CallerFilePath] there.
        string path = Path.Combine(AppContext.BaseDirectory, "Snapshots", SnapshotName);
        Assert.True(File.Exists(path), $"No snapshot at {path}; run once with SKIFF_UPDATE_SNAPSHOTS=1 to create it.");
        string expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(expected == table,
            $"TCP behaviour changed: the simulation table differs from {SnapshotName}. If the change is intended, " +
            $"rerun with SKIFF_UPDATE_SNAPSHOTS=1 and commit the new table.\nNow:\n{table}");
    }

    [Fact]
    public void IsDeterministic() => Assert.Equal(Row(CongestionControlKind.Cubic, 2.0), Row(CongestionControlKind.Cubic, 2.0));

    /// <summary>The snapshot in the source tree: walk up from the test binaries to the directory holding Skiff.slnx.</summary>
    private static string SourceSnapshotPath()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Skiff.slnx")))
            {
                return Path.Combine(dir.FullName, "tests", "Skiff.Stack.Tests", "Simulation", "Snapshots", SnapshotName);
            }
        }
        throw new InvalidOperationException("Cannot find the repository (Skiff.slnx) above the test binaries; run the update from a checkout.");
    }

    internal static string BuildTable()
    {
        StringBuilder text = new();
        text.Append("# 4 MiB one way over a simulated 100 Mbit/s link, 5 ms each way (10 ms RTT), 100-frame queue,\n");
        text.Append("# loss on both directions (seed 42), SACK on, MSS 1460 with timestamps. Simulated time, not wall time.\n");
        text.Append("cc       loss%   seconds   Mbit/s   retransmits   fast   timeouts   probes   undone\n");
        foreach (CongestionControlKind cc in new[] { CongestionControlKind.Cubic, CongestionControlKind.NewReno })
        {
            foreach (double loss in new[] { 0.0, 0.5, 1.0, 2.0, 5.0, 10.0 })
            {
                text.Append(Row(cc, loss)).Append('\n');
            }
        }
        return text.ToString();
    }

    private static string Row(CongestionControlKind cc, double lossPercent)
    {
        ImpairmentOptions Link(ulong seed) => new()
        {
            Seed = seed,
            LossProbability = lossPercent / 100,
            Delay = Duration.FromMillis(5),
            RateBytesPerSecond = 100_000_000 / 8,
            QueueLimitFrames = 100,
        };
        StackPair pair = new(Link(42), Link(43), gratuitousArp: false, arp: IntegrityTests.StaticArp);
        pair.PrimeArp();
        TcpConfig config = new() { CongestionControl = cc };
        TcpListener listener = pair.B.Tcp.Listen(9000, config: config);
        Instant start = pair.Now;
        SocketHandle ch = pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.AddressB, 9000, config);
        SocketHandle sh = default;
        Assert.True(pair.RunUntil(() => pair.B.Tcp.TryAccept(listener, out sh), Duration.FromSeconds(60)));
        TcpSocket client = pair.A.Tcp.Get(ch);
        TcpSocket server = pair.B.Tcp.Get(sh);
        byte[] chunk = new byte[65536];
        long sent = 0, received = 0;
        bool done = pair.RunUntil(() =>
        {
            while (sent < TransferBytes && client.CanSend)
            {
                sent += client.Send(chunk.AsSpan(0, (int)Math.Min(chunk.Length, TransferBytes - sent)));
            }
            while (server.TryPeek(out ReadOnlySpan<byte> data))
            {
                received += data.Length;
                server.Consume(data.Length);
            }
            return received == TransferBytes;
        }, Duration.FromSeconds(3600));
        Assert.True(done, $"{cc} at {lossPercent}% loss did not finish within an hour of simulated time");
        double seconds = (pair.Now - start).TotalSeconds;
        TcpConnectionCounters c = client.Counters;
        pair.Dispose();
        return string.Create(CultureInfo.InvariantCulture,
            $"{(cc == CongestionControlKind.Cubic ? "cubic" : "newreno"),-8} {lossPercent,5:0.0}   {seconds,7:0.000}   {TransferBytes * 8 / seconds / 1e6,6:0.00}   {c.Retransmissions,11}   {c.FastRetransmits,4}   {c.Timeouts,8}   {c.TailLossProbes,6}   {c.SpuriousRecoveriesUndone + c.SpuriousTimeoutsUndone,6}");
    }
}
