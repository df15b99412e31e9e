using System.Net.Sockets;
using System.Text;
using Skiff.Cli.Stats;
using Skiff.Devices;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Stack.Udp;
using Skiff.Wire;
using Skiff.Engine.Control;

namespace Skiff.Cli.Tests.Stats;

/// <summary>
/// The stats control socket: a round trip of real values, and the robustness serve relies on (bounded clients,
/// misbehaving clients end only themselves, the file goes away).
/// </summary>
public sealed class SkiffControlServerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("skiff-stats-").FullName;
    private readonly PacketPool _poolA = new(512);
    private readonly PacketPool _poolB = new(512);
    private readonly Interface _a;
    private readonly Interface _b;
    private readonly InMemoryDevice _linkA;
    private readonly InMemoryDevice _linkB;
    private readonly SkiffMetricsPublisher _publisher;
    private readonly CancellationTokenSource _stopLoop = new();
    private Thread? _loop;

    public SkiffControlServerTests()
    {
        (_linkA, _linkB) = InMemoryLink.CreatePair(_poolA, _poolB, 512);
        _a = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:01"), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], SecretKey = 1 }, _poolA);
        _b = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:02"), Addresses = [Ipv4Cidr.Parse("10.0.0.2/24")], SecretKey = 2 }, _poolB);
        _publisher = new SkiffMetricsPublisher(_b, queue: 1);
    }

    private string SocketPath(string name = "s.sock") => Path.Combine(_directory, name);

    /// <summary>Some traffic into B (one datagram to a closed port), then B's loop on its own thread, publishing as serve's does.</summary>
    private void StartLoop()
    {
        UdpSocket client = _a.Udp.Bind(0);
        Assert.True(client.TrySend(new byte[10], new UdpEndpoint(new Ipv4Address(10, 0, 0, 2), 4000)));
        Instant now = Instant.FromMillis(1);
        for (int i = 0; i < 100 && _b.Counters.Drops(DropReason.UdpNoSocket) == 0; i++)
        {
            _a.Poll(now, _linkA);
            _b.Poll(now, _linkB);
            now += Duration.FromMillis(1);
        }
        Assert.Equal(1, _b.Counters.Drops(DropReason.UdpNoSocket));
        _loop = new Thread(() =>
        {
            Instant t = now;
            while (!_stopLoop.IsCancellationRequested)
            {
                _publisher.Publish(t);
                t += Duration.FromMillis(1);
                Thread.Sleep(1);
            }
        }) { IsBackground = true };
        _loop.Start();
    }

    private static Socket Connect(string path)
    {
        Socket s = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        s.Connect(new UnixDomainSocketEndPoint(path));
        return s;
    }

    private static string ReadLine(Socket s)
    {
        StringBuilder line = new();
        byte[] one = new byte[1];
        while (s.Receive(one) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }
        return line.ToString();
    }

    /// <summary>True when the server closed <paramref name="s"/> (an orderly close, or a reset when it closed with a receive pending).</summary>
    private static bool IsClosed(Socket s)
    {
        try
        {
            return s.Receive(new byte[16]) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    private static bool WaitFor(Func<bool> condition)
    {
        long end = Environment.TickCount64 + 10_000;
        while (!condition())
        {
            if (Environment.TickCount64 > end)
            {
                return false;
            }
            Thread.Sleep(5);
        }
        return true;
    }

    [Fact]
    public void A_snapshot_request_returns_the_loops_published_counters()
    {
        StartLoop();
        using SkiffControlServer server = SkiffControlServer.Start(SocketPath(), replaceStale: false);
        server.Publishers = [_publisher];
        using StatsClient client = StatsClient.Connect(server.Path, TimeSpan.FromSeconds(10));
        StatsReport first = client.Request();
        StatsReport second = client.Request();
        Assert.Equal(Environment.ProcessId, first.Pid);
        SkiffMetricsSnapshot q = Assert.Single(first.Queues);
        Assert.Equal(1, q.Queue);
        Assert.Equal("10.0.0.2", q.Address);
        Assert.Equal(_b.Counters.RxFrames, q.RxPackets); // B's counters do not move any more: only the publisher runs
        Assert.Equal(_b.Counters.RxBytes, q.RxBytes);
        Assert.Equal(_b.Counters.TxFrames, q.TxPackets);
        Assert.Equal(_b.Counters.TxBytes, q.TxBytes);
        Assert.Equal(1, q.Drops(DropReason.UdpNoSocket));
        Assert.Equal(_b.Counters.TotalDrops, q.TotalDrops);
        Assert.Equal(512, q.PoolFrames);
        // Each request asks the loop for a fresh publish.
        Assert.True(Assert.Single(second.Queues).Sequence > q.Sequence);
        Assert.True(Assert.Single(second.Queues).PublishedAtMicros > q.PublishedAtMicros);
        Assert.Equal(2, server.Answered);
    }

    [Fact]
    public void The_applications_own_instruments_in_the_Skiff_meter_come_with_the_snapshot_and_print_under_app()
    {
        // What a sample does for its counters (DdosFilter's rate-limited sources, DnsServer's answers): observable
        // instruments on SkiffMetrics.Meter, read when a listener collects. The meter is the process's, so the names are unique.
        string name = $"skiff.test.{Guid.NewGuid():N}";
        long answers = 41;
        SkiffMetrics.Meter.CreateObservableCounter(name + ".answers", () => answers, "{answer}", "Answers.");
        SkiffMetrics.Meter.CreateObservableGauge(name + ".entries", () => new[]
        {
            new System.Diagnostics.Metrics.Measurement<long>(3, new KeyValuePair<string, object?>("table", "flows")),
            new System.Diagnostics.Metrics.Measurement<long>(5, new KeyValuePair<string, object?>("table", "sources")),
        });
        StartLoop();
        using SkiffControlServer server = SkiffControlServer.Start(SocketPath(), replaceStale: false);
        server.Publishers = [_publisher];
        using StatsClient client = StatsClient.Connect(server.Path, TimeSpan.FromSeconds(10));
        answers = 42;
        StatsReport report = client.Request();
        AppValue counted = Assert.Single(report.App, v => v.Name == name + ".answers");
        Assert.Equal((42.0, "", "{answer}"), (counted.Value, counted.Tags, counted.Unit));
        Assert.Equal(["table=flows 3", "table=sources 5"], report.App.Where(v => v.Name == name + ".entries").Select(v => $"{v.Tags} {v.Value}"));
        // The engine's own instruments are the table's rows, not the app's.
        Assert.DoesNotContain(report.App, v => v.Name.StartsWith("skiff.rx.", StringComparison.Ordinal) || v.Name == SkiffMetrics.Drops);
        string table = StatsTable.Format(report, null, server.Path, DateTimeOffset.UnixEpoch);
        Assert.Contains("app (the process's own instruments in the Skiff meter)", table);
        Assert.Matches($@"\n  {System.Text.RegularExpressions.Regex.Escape(name)}\.answers +42 \{{answer\}}\n", table);
        Assert.Contains($"  {name}.entries{{table=sources}}", table);
        answers = 50;
        Assert.Equal(50, Assert.Single(client.Request().App, v => v.Name == name + ".answers").Value);
    }

    [Fact]
    public void Clients_beyond_the_bound_are_told_so_and_the_others_go_on()
    {
        StartLoop();
        using SkiffControlServer server = SkiffControlServer.Start(SocketPath(), replaceStale: false, maxClients: 2);
        server.Publishers = [_publisher];
        using Socket one = Connect(server.Path);
        using Socket two = Connect(server.Path);
        Assert.True(WaitFor(() => server.Clients == 2));
        using (Socket three = Connect(server.Path))
        {
            Assert.Contains("2 stats clients are connected already", ReadLine(three));
            Assert.True(IsClosed(three));
        }
        Assert.Equal(1, server.Refused);
        one.Send("snapshot\n"u8);
        Assert.StartsWith("{\"pid\":", ReadLine(one));
        two.Dispose();
        Assert.True(WaitFor(() => server.Clients == 1));
        using StatsClient four = StatsClient.Connect(server.Path, TimeSpan.FromSeconds(10));
        Assert.Single(four.Request().Queues);
    }

    [Fact]
    public void Misbehaving_clients_end_only_themselves()
    {
        StartLoop();
        using SkiffControlServer server = SkiffControlServer.Start(SocketPath(), replaceStale: false, maxClients: 4, idleTimeout: TimeSpan.FromMilliseconds(300));
        server.Publishers = [_publisher];
        // Half a request, then gone.
        using (Socket s = Connect(server.Path))
        {
            s.Send("snap"u8);
        }
        // Asks and leaves without reading the answer; resets the connection.
        using (Socket s = Connect(server.Path))
        {
            s.Send("snapshot\nsnapshot\nsnapshot\n"u8);
            s.LingerState = new LingerOption(true, 0);
        }
        // An unknown request is answered with a sentence; the connection stays usable.
        using (Socket s = Connect(server.Path))
        {
            s.Send("hello\n"u8);
            Assert.Contains("Unknown request 'hello'; send 'snapshot'", ReadLine(s));
            s.Send("snapshot\n"u8);
            Assert.StartsWith("{\"pid\":", ReadLine(s));
        }
        // A line longer than a request can be: an error, then closed.
        using (Socket s = Connect(server.Path))
        {
            s.Send(new byte[StatsProtocol.MaxRequestBytes + 10]);
            Assert.Contains("A request is at most", ReadLine(s));
            Assert.True(IsClosed(s));
        }
        // Silent: closed after the idle timeout.
        using (Socket s = Connect(server.Path))
        {
            Assert.True(IsClosed(s));
        }
        Assert.True(WaitFor(() => server.Clients == 0), $"{server.Clients} clients still open");
        using StatsClient client = StatsClient.Connect(server.Path, TimeSpan.FromSeconds(10));
        Assert.Equal(_b.Counters.RxFrames, Assert.Single(client.Request().Queues).RxPackets);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void The_socket_file_is_removed_on_dispose_and_a_live_one_is_never_taken_over()
    {
        string path = SocketPath();
        SkiffControlServer server = SkiffControlServer.Start(path, replaceStale: true);
        Assert.True(File.Exists(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        SkiffControlException live = Assert.Throws<SkiffControlException>(() => SkiffControlServer.Start(path, replaceStale: true));
        Assert.Contains("Another process already serves stats on", live.Message);
        using (Socket connected = Connect(path))
        {
            server.Dispose();
            Assert.True(IsClosed(connected)); // clients are closed too
        }
        Assert.False(File.Exists(path));
        SkiffControlException gone = Assert.Throws<SkiffControlException>(() => StatsClient.Connect(path, TimeSpan.FromSeconds(1)));
        Assert.Contains("is skiff serve running?", gone.Message);
    }

    [Fact]
    public void A_stale_socket_file_is_replaced_only_when_allowed()
    {
        string path = SocketPath();
        // A socket file nobody listens on, as a killed serve leaves behind (.NET unlinks its own on dispose; Python does not).
        ExternalTools.Result python = ExternalTools.Run("python3", ["-c", $"import socket; socket.socket(socket.AF_UNIX).bind('{path}')"]);
        Assert.True(python.ExitCode == 0, python.Error);
        Assert.True(File.Exists(path));
        SkiffControlException refused = Assert.Throws<SkiffControlException>(() => StatsClient.Connect(path, TimeSpan.FromSeconds(1)));
        Assert.Contains("Nothing listens on", refused.Message);
        SkiffControlException kept = Assert.Throws<SkiffControlException>(() => SkiffControlServer.Start(path, replaceStale: false));
        Assert.Contains("nothing listens on it; remove it if it is a stale socket", kept.Message);
        using SkiffControlServer server = SkiffControlServer.Start(path, replaceStale: true);
        using StatsClient client = StatsClient.Connect(path, TimeSpan.FromSeconds(10));
        Assert.Empty(client.Request().Queues); // no publisher set yet
    }

    [Fact]
    public async Task Live_skiff_stats_reports_every_second_until_serve_goes_away()
    {
        StartLoop();
        SkiffControlServer server = SkiffControlServer.Start(SocketPath(), replaceStale: false);
        server.Publishers = [_publisher];
        StringWriter text = new(), error = new();
        TextWriter output = TextWriter.Synchronized(text);
        string Printed()
        {
            lock (output)
            {
                return text.ToString();
            }
        }
        long start = Environment.TickCount64;
        Task<int> run = Task.Run(() => Skiff.Cli.Commands.StatsCommand.Run(server.Path, once: false, json: false, redraw: false, output, error, CancellationToken.None));
        Assert.True(WaitFor(() => Printed().Split("skiff stats: pid").Length - 1 >= 3), Printed() + error);
        long elapsed = Environment.TickCount64 - start;
        server.Dispose();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
        string[] tables = Printed().Split("skiff stats: pid", StringSplitOptions.RemoveEmptyEntries);
        Assert.True(elapsed >= 1900, $"three reports after {elapsed} ms: not one a second");
        Assert.Equal("-", Row(tables[0], "rx packets"));   // no earlier report to rate against
        Assert.Equal("0", Row(tables[1], "rx packets"));   // nothing arrives any more
        Assert.EndsWith($"skiff stats: skiff serve has stopped ({server.Path} closed).\n", Printed());
    }

    private static string Row(string table, string label) =>
        table.Split('\n').Single(l => l.StartsWith(label + "  ", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[^1];

    [Fact]
    public void Bad_paths_are_sentences()
    {
        SkiffControlException missing = Assert.Throws<SkiffControlException>(() => SkiffControlServer.Start(Path.Combine(_directory, "no", "such", "dir.sock"), replaceStale: false));
        Assert.Contains("does not exist; create it or give another --stats-socket path", missing.Message);
        SkiffControlException longPath = Assert.Throws<SkiffControlException>(() => SkiffControlServer.Start(Path.Combine(_directory, new string('x', 120) + ".sock"), replaceStale: false));
        Assert.Contains("longer than a Unix socket address allows", longPath.Message);
    }

    public void Dispose()
    {
        _stopLoop.Cancel();
        _loop?.Join();
        _linkA.DiscardPending();
        _linkB.DiscardPending();
        _poolA.Dispose();
        _poolB.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
