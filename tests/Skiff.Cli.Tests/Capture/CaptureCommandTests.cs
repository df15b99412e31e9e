using System.Diagnostics;
using Skiff.Cli.Commands;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Engine.Capture;
using Skiff.Engine.Control;
using Skiff.Stack;
using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Cli.Tests.Capture;

/// <summary>
/// <c>skiff capture</c> against a running stack's control socket (an in-memory link; a peer stack pings it from the
/// test's thread): the stream tcpdump reads from a pipe, a file, Ctrl-C, and the control socket's stats still working.
/// </summary>
public sealed class CaptureCommandTests : IDisposable
{
    private static readonly Ipv4Address StackAddress = new(10, 78, 0, 1);
    private readonly string _directory = Directory.CreateTempSubdirectory("skiff-capture-").FullName;
    private readonly PacketPool _pool = new(4096);
    private readonly InMemoryDevice _peerDevice;
    private readonly Interface _peer;
    private readonly SkiffStack _stack;
    private readonly SkiffControlServer _server;
    private readonly CancellationTokenSource _stopPeer = new();
    private readonly Thread _pinger;
    private readonly string _socket;

    public CaptureCommandTests()
    {
        (InMemoryDevice device, _peerDevice) = InMemoryLink.CreatePair(_pool, 1024);
        _peer = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:02"), Addresses = [new Ipv4Cidr(new Ipv4Address(10, 78, 0, 2), 24)], SecretKey = 2 }, _pool);
        _stack = SkiffStack.CreateBuilder(new SkiffStackOptions { Mac = MacAddress.Parse("02:00:00:00:00:01"), Addresses = [new Ipv4Cidr(StackAddress, 24)] })
            .UseDevice(device).Build();
        _socket = Path.Combine(_directory, "app.sock");
        _server = _stack.StartControlServer(_socket);
        _pinger = new Thread(() =>
        {
            ushort seq = 0;
            Stopwatch clock = Stopwatch.StartNew();
            while (!_stopPeer.IsCancellationRequested)
            {
                Instant now = Instant.FromMillis((long)clock.Elapsed.TotalMilliseconds + 1);
                _peer.SendEchoRequest(now, StackAddress, 7, ++seq, 56);
                for (int i = 0; i < 10; i++)
                {
                    _peer.Poll(now, _peerDevice);
                    Thread.Sleep(1);
                    while (_peer.TryReceiveEchoReply(out _))
                    {
                    }
                }
            }
        });
        _pinger.Start();
    }

    [Fact]
    public async Task Capture_to_standard_output_reads_cleanly_in_tcpdump_from_a_pipe()
    {
        using Process tcpdump = Process.Start(new ProcessStartInfo("tcpdump", "-n -r -")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        Task<string> text = tcpdump.StandardOutput.ReadToEndAsync();
        Task<string> warnings = tcpdump.StandardError.ReadToEndAsync();
        StringWriter error = new();
        int code = CaptureCommand.Run(_socket, new SkiffCaptureOptions { Filter = "icmp", Count = 6 }, "-", TimeSpan.FromSeconds(60), TextWriter.Null, error, CancellationToken.None,
            () => tcpdump.StandardInput.BaseStream);
        Assert.True(code == 0, error.ToString());
        await tcpdump.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, tcpdump.ExitCode);
        string printed = await text;
        string warned = await warnings;
        string[] lines = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, lines.Length);
        Assert.All(lines, l => Assert.Contains("ICMP echo", l));
        Assert.Contains("10.78.0.2 > 10.78.0.1: ICMP echo request", printed);
        Assert.Contains("10.78.0.1 > 10.78.0.2: ICMP echo reply", printed);
        Assert.DoesNotContain("warning", warned, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("skiff capture: 6 frames written", error.ToString());
    }

    [Fact]
    public void Ctrl_c_ends_the_capture_with_statistics_while_the_stack_keeps_serving()
    {
        string file = Path.Combine(_directory, "c.pcapng");
        using CancellationTokenSource stop = new(TimeSpan.FromSeconds(1.5));
        StringWriter error = new();
        int code = CaptureCommand.Run(_socket, new SkiffCaptureOptions { Points = CapturePoints.All }, file, TimeSpan.Zero, TextWriter.Null, error, stop.Token);
        Assert.True(code == 0, error.ToString());
        using (ICaptureReader reader = CaptureReader.Open(File.OpenRead(file)))
        {
            int frames = 0;
            while (reader.TryReadNext(out CaptureRecord record, out WireError e))
            {
                frames++;
            }
            Assert.True(frames > 0);
            CaptureInterface port = Assert.Single(reader.Interfaces);
            Assert.Equal((ulong)frames, port.DeliveredPackets);
            Assert.Equal(port.ReceivedPackets, port.FilterAcceptedPackets); // no filter
            Assert.Equal(port.FilterAcceptedPackets, port.DeliveredPackets + port.DroppedPackets);
        }
        Assert.Equal(0, _server.ActiveCaptures);
        // The stack serves on, and the same socket answers skiff stats.
        CliRunner.Result stats = CliRunner.Run("stats", "--socket", _socket, "--json", "--once");
        Assert.Equal(0, stats.ExitCode);
        Assert.Contains("\"rxPackets\"", stats.Output);
        // Wireshark's own reader (Debian's wireshark-common, which scripts/test.sh installs) takes the file too.
        ExternalTools.Result capinfos = ExternalTools.Run(ExternalTools.Require("capinfos"), [file]);
        Assert.True(capinfos.ExitCode == 0, capinfos.Output + capinfos.Error);
        Assert.Contains("pcapng", capinfos.Output + capinfos.Error);
    }

    /// <summary>Through the control socket, as skiff capture attaches: 100 captures of one ping each leak no descriptor and leave no capture attached.</summary>
    [Fact]
    public void Attaching_through_the_control_socket_100_times_leaks_no_descriptor()
    {
        string file = Path.Combine(_directory, "one.pcapng");
        Assert.Equal(0, CaptureCommand.Run(_socket, new SkiffCaptureOptions { Filter = "icmp", Count = 1 }, file, TimeSpan.FromSeconds(60), TextWriter.Null, new StringWriter(), CancellationToken.None));
        int before = Directory.GetFiles("/proc/self/fd").Length;
        for (int i = 0; i < 100; i++)
        {
            StringWriter error = new();
            int code = CaptureCommand.Run(_socket, new SkiffCaptureOptions { Filter = "icmp", Count = 1 }, file, TimeSpan.FromSeconds(60), TextWriter.Null, error, CancellationToken.None);
            Assert.True(code == 0, $"capture {i}: {error}");
            Assert.Contains("skiff capture: 1 frames written", error.ToString());
        }
        SpinWait.SpinUntil(() => _server.ActiveCaptures == 0, TimeSpan.FromSeconds(10));
        Assert.Equal(0, _server.ActiveCaptures);
        // Other tests' and the runtime's descriptors come and go; a leak of one per capture would be 100 more.
        Assert.InRange(Directory.GetFiles("/proc/self/fd").Length, 0, before + 50);
    }

    [Fact]
    public void A_bad_filter_is_refused_by_the_process_with_a_sentence()
    {
        StringWriter error = new();
        int code = CaptureCommand.Run(_socket, new SkiffCaptureOptions { Filter = "tcp port banana" }, Path.Combine(_directory, "x.pcapng"), TimeSpan.Zero, TextWriter.Null, error, CancellationToken.None);
        Assert.Equal(1, code);
        Assert.Contains("skiff capture: the Skiff process answered:", error.ToString());
    }

    public void Dispose()
    {
        _stopPeer.Cancel();
        _pinger.Join();
        _server.Dispose();
        _stack.Dispose();
        _peer.DropAllQueued();
        _peerDevice.DiscardPending();
        _peer.Tcp.FreeAll();
        Directory.Delete(_directory, recursive: true);
    }
}
