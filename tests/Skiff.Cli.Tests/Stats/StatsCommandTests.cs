using System.Globalization;
using Skiff.Cli.Commands;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;
using Skiff.Cli.Stats;
using Skiff.Devices;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Wire;
using Skiff.Engine.Control;

namespace Skiff.Cli.Tests.Stats;

/// <summary><c>skiff stats</c> against <c>skiff serve</c>'s own serving code over the in-memory link, and how it finds a socket.</summary>
public sealed class StatsCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("skiff-stats-").FullName;

    /// <summary>The total of a row of <c>skiff stats</c>'s table (first queue), and its rate ("-" when unknown).</summary>
    private static (long Total, string Rate) Row(string table, string label)
    {
        string line = table.Split('\n').Single(l => l.StartsWith(label + "  ", StringComparison.Ordinal));
        string[] cells = line[label.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(cells[0], CultureInfo.InvariantCulture), cells.Length > 1 ? cells[1] : "");
    }

    [Fact]
    public void Stats_once_shows_the_counters_of_a_running_serve()
    {
        using PacketPool poolA = new(8192), poolB = new(8192);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(poolA, poolB, 4096);
        using StackHost client = new(new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:0a:00:00:01"), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], SecretKey = 1 }, poolA), a);
        using StackHost server = new(new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:0a:00:00:02"), Addresses = [Ipv4Cidr.Parse("10.0.0.2/24")], SecretKey = 2 }, poolB), b);
        string path = Path.Combine(_directory, "serve.sock");
        using SkiffControlServer stats = SkiffControlServer.Start(path, replaceStale: false);
        using CancellationTokenSource stop = new();
        StringWriter serveOutput = new();
        int serveExit = -1;
        Thread serve = new(() => serveExit = ServeCommand.Serve(server, new ServeOptions { TcpEchoPort = 7 }, stats, serveOutput, stop.Token)) { IsBackground = true };
        serve.Start();
        try
        {
            const int bytes = 1 << 20;
            StringWriter sendOutput = new();
            Assert.True(new EchoSender(client, sendOutput).Run(new Ipv4Address(10, 0, 0, 2), 7, bytes, seed: 3, default) == 0, sendOutput.ToString());

            CliRunner.Result json = CliRunner.Run("stats", "--socket", path, "--once", "--json");
            Assert.True(json.ExitCode == 0, json.Error);
            StatsReport report = StatsProtocol.Parse(Assert.Single(json.Lines));
            SkiffMetricsSnapshot q = Assert.Single(report.Queues);
            Assert.Equal(Environment.ProcessId, report.Pid);
            Assert.Equal("10.0.0.2", q.Address);
            Assert.Equal(1, q.TcpPassiveOpens);
            Assert.Equal(0, q.TcpActiveOpens);
            Assert.True(q.RxBytes > bytes, $"serve received {q.RxBytes} bytes of frames for {bytes} bytes of echo");
            Assert.True(q.TxBytes > bytes, $"serve sent {q.TxBytes} bytes of frames for {bytes} bytes of echo");
            Assert.Equal(8192, q.PoolFrames);

            CliRunner.Result table = CliRunner.Run("stats", "--socket", path, "--once");
            Assert.True(table.ExitCode == 0, table.Error);
            Assert.StartsWith($"skiff stats: pid {Environment.ProcessId}, {path}, ", table.Output);
            Assert.Contains("queue 0 10.0.0.2", table.Output);
            (long rxPackets, string rxRate) = Row(table.Output, "rx packets");
            Assert.True(rxPackets >= q.RxPackets, $"{rxPackets} packets now, {q.RxPackets} before");
            Assert.True(long.TryParse(rxRate, CultureInfo.InvariantCulture, out _), $"the rate is '{rxRate}'");
            Assert.Equal(1, Row(table.Output, "tcp opens passive").Total);
            Assert.True(Row(table.Output, "tx bytes").Total >= q.TxBytes);

            stop.Cancel();
            serve.Join();
            Assert.Equal(0, serveExit);
            string printed = serveOutput.ToString();
            Assert.Contains($"  counters: skiff stats --socket {path}", printed);
            // serve's own final counters are at least what stats saw.
            string frames = printed.Split('\n').Single(l => l.StartsWith("  frames: rx ", StringComparison.Ordinal));
            long finalRx = long.Parse(frames["  frames: rx ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
            Assert.True(finalRx >= rxPackets, $"serve printed rx {finalRx}, stats showed {rxPackets}");
        }
        finally
        {
            stop.Cancel();
            serve.Join();
            a.DiscardPending();
            b.DiscardPending();
        }
    }

    [Fact]
    public void Stats_finds_the_only_live_serve_socket_and_otherwise_says_what_to_do()
    {
        StringWriter error = new();
        Assert.Null(StatsCommand.Find([_directory], error));
        Assert.Contains($"no running skiff serve was found (no skiff-serve-PID.sock in {_directory}); start skiff serve, or give its socket with --socket PATH.", error.ToString());

        int dead = 4_000_000;
        while (Directory.Exists($"/proc/{dead}"))
        {
            dead++;
        }
        File.WriteAllBytes(Path.Combine(_directory, SkiffControlSockets.FileName(dead)), []);
        File.WriteAllBytes(Path.Combine(_directory, "skiff-serve-notapid.sock"), []);
        Assert.Null(StatsCommand.Find([_directory], new StringWriter()));

        string mine = Path.Combine(_directory, SkiffControlSockets.FileName(Environment.ProcessId));
        File.WriteAllBytes(mine, []);
        Assert.Equal(mine, StatsCommand.Find([_directory], new StringWriter()));

        string init = Path.Combine(_directory, SkiffControlSockets.FileName(1));
        File.WriteAllBytes(init, []);
        error = new StringWriter();
        Assert.Null(StatsCommand.Find([_directory], error));
        Assert.Contains("2 skiff serve processes are running; choose one with --socket PATH:", error.ToString());
        Assert.Contains(mine, error.ToString());
        Assert.Contains(init, error.ToString());
    }

    [Fact]
    public void A_socket_that_is_not_there_is_a_sentence_and_exit_1()
    {
        CliRunner.Result r = CliRunner.Run("stats", "--socket", Path.Combine(_directory, "none.sock"), "--once");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"skiff stats: No stats socket at {Path.Combine(_directory, "none.sock")}; is skiff serve running? Its banner prints the socket's path.", r.Error.Trim());
    }

    [Fact]
    public void Serve_refuses_a_stats_socket_path_it_cannot_use_with_exit_2()
    {
        CliRunner.Result r = CliRunner.Run("serve", "--driver", "afpacket", "--iface", "skiff-no-such-if0", "--ip", "10.0.0.2/24", "--http", "80",
            "--stats-socket", Path.Combine(_directory, "missing", "s.sock"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("does not exist; create it or give another --stats-socket path.", r.Error);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
