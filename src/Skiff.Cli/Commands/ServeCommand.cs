using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;
using Skiff.Cli.Stats;
using Skiff.Engine.Metrics;
using Skiff.Stack;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff serve</c>: Skiff owns an address on an interface, answers ARP and ping, and serves TCP echo, TCP
/// discard, UDP echo and HTTP/1.1 as the flags ask (<see cref="ServeApp"/>). Ctrl-C prints the counters and exits 0.
/// Its metrics are published as the engine's are (the <c>Skiff</c> meter) and served on a stats control socket for
/// <c>skiff stats</c> (<see cref="StatsServer"/>). Exit 2 for bad arguments, 3 when the device cannot be opened.
/// </summary>
public static class ServeCommand
{
    public static Command Create()
    {
        StackOptionSet stack = new(withStack: true);
        Option<ushort?> tcpEcho = new("--tcp-echo") { Description = "Serve TCP echo (RFC 862) on this port." };
        Option<ushort?> tcpDiscard = new("--tcp-discard") { Description = "Serve TCP discard (RFC 863) on this port." };
        Option<ushort?> udpEcho = new("--udp-echo") { Description = "Serve UDP echo on this port." };
        Option<ushort?> http = new("--http") { Description = "Serve HTTP/1.1 on this port: GET / (a page) and GET /bytes/N (N seeded bytes)." };
        Option<string?> statsSocket = new("--stats-socket")
        {
            Description = $"The control socket skiff stats reads. Default: {StatsSocketPaths.FilePrefix}PID{StatsSocketPaths.FileSuffix} in $XDG_RUNTIME_DIR, else in /tmp; '{StatsSocketPaths.Off}' for no socket.",
        };
        Command command = new("serve", "Own an address on an interface: answer ARP and ping, serve echo, discard and HTTP until Ctrl-C.");
        stack.AddTo(command);
        command.Options.Add(tcpEcho);
        command.Options.Add(tcpDiscard);
        command.Options.Add(udpEcho);
        command.Options.Add(http);
        command.Options.Add(statsSocket);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            StackSettings? settings = stack.Read(result, "skiff serve", error);
            if (settings is null)
            {
                return 2;
            }
            ServeOptions options = new()
            {
                TcpEchoPort = result.GetValue(tcpEcho),
                TcpDiscardPort = result.GetValue(tcpDiscard),
                UdpEchoPort = result.GetValue(udpEcho),
                HttpPort = result.GetValue(http),
            };
            using StopSignal stop = new();
            return Run(settings, options, result.GetValue(statsSocket), output, error, stop.Token);
        });
        return command;
    }

    /// <summary>
    /// Opens the stats socket (<paramref name="statsSocket"/>: a path, null for the default, <see cref="StatsSocketPaths.Off"/>
    /// for none) and the device, and serves until <paramref name="stop"/> is cancelled; returns the exit code.
    /// </summary>
    internal static int Run(StackSettings settings, ServeOptions options, string? statsSocket, TextWriter output, TextWriter error, CancellationToken stop)
    {
        foreach (ushort? port in new[] { options.TcpEchoPort, options.TcpDiscardPort, options.UdpEchoPort, options.HttpPort })
        {
            if (port == 0)
            {
                error.WriteLine("skiff serve: port 0 cannot be served; give ports from 1 to 65535.");
                return 2;
            }
        }
        ushort?[] tcpPorts = [options.TcpEchoPort, options.TcpDiscardPort, options.HttpPort];
        if (tcpPorts.Where(p => p.HasValue).GroupBy(p => p).Any(g => g.Count() > 1))
        {
            error.WriteLine("skiff serve: two TCP services were given the same port; give each its own.");
            return 2;
        }
        StatsServer? stats = null;
        if (statsSocket != StatsSocketPaths.Off)
        {
            try
            {
                // The default path carries our pid: a file there was left by a dead process that had it.
                stats = StatsServer.Start(statsSocket ?? StatsSocketPaths.Default(Environment.ProcessId), replaceStale: statsSocket is null);
            }
            catch (StatsException e) when (statsSocket is null)
            {
                error.WriteLine($"skiff serve: warning: no stats socket, so skiff stats cannot connect: {e.Message}");
            }
            catch (StatsException e)
            {
                error.WriteLine($"skiff serve: {e.Message}");
                return 2;
            }
        }
        using (stats)
        {
            using StackHost? host = StackHost.TryOpen(settings, "skiff serve", error);
            if (host is null)
            {
                return DriverFactory.ExitDeviceUnavailable;
            }
            return Serve(host, options, stats, output, stop);
        }
    }

    /// <summary>
    /// Serves on an open host until <paramref name="stop"/> is cancelled, then prints the counters. Exit 0. The loop
    /// publishes its metrics snapshot (queue 0) to the <c>Skiff</c> meter and to <paramref name="stats"/>, if given.
    /// </summary>
    internal static int Serve(StackHost host, ServeOptions options, StatsServer? stats, TextWriter output, CancellationToken stop)
    {
        Interface iface = host.Interface;
        ServeApp app = new(iface, options);
        app.Start();
        SkiffMetricsPublisher metrics = new(iface, queue: 0);
        SkiffMetrics.Register(metrics);
        try
        {
            if (stats is not null)
            {
                stats.Publishers = [metrics];
            }
            output.WriteLine($"skiff serve: {iface.Addresses[0]} at {iface.Mac} on {host.DeviceDescription}");
            output.WriteLine($"  answering ARP and ping{Describe(options)}; Ctrl-C to stop");
            if (stats is not null)
            {
                output.WriteLine($"  counters: skiff stats --socket {stats.Path}");
            }
            output.Flush();
            host.Loop.Run(now =>
            {
                metrics.Publish(now);
                return new PollLoop.StepResult(app.Service(now), false);
            }, stop);
            app.Stop();
            // Let the releases' FINs and RSTs leave before the device closes.
            host.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(100), CancellationToken.None);
            metrics.PublishNow(host.Loop.Clock.Now);
            WriteCounters(output, iface, app.Counters);
            return 0;
        }
        finally
        {
            SkiffMetrics.Unregister(metrics);
        }
    }

    private static string Describe(ServeOptions o)
    {
        List<string> parts = [];
        if (o.TcpEchoPort is ushort e)
        {
            parts.Add($"TCP echo on {e}");
        }
        if (o.TcpDiscardPort is ushort d)
        {
            parts.Add($"TCP discard on {d}");
        }
        if (o.UdpEchoPort is ushort u)
        {
            parts.Add($"UDP echo on {u}");
        }
        if (o.HttpPort is ushort h)
        {
            parts.Add($"HTTP on {h}");
        }
        return parts.Count == 0 ? "" : ", " + string.Join(", ", parts);
    }

    internal static void WriteCounters(TextWriter output, Interface iface, ServeCounters c)
    {
        InterfaceCounters ic = iface.Counters;
        output.WriteLine("skiff serve: stopped");
        output.WriteLine($"  frames: rx {ic.RxFrames} ({ic.RxBytes} bytes), tx {ic.TxFrames} ({ic.TxBytes} bytes)");
        output.WriteLine($"  arp replies {ic.ArpRepliesSent}, ping replies {ic.IcmpEchoRepliesSent}, icmp errors {ic.IcmpErrorsSent}");
        output.WriteLine($"  tcp: {c.ConnectionsAccepted} connections accepted, {c.ConnectionsRefused} refused (limit), {c.ConnectionsTimedOut} idle timeouts");
        output.WriteLine($"  echo {c.EchoBytes} bytes, discard {c.DiscardBytes} bytes, udp echo {c.UdpEchoDatagrams} datagrams ({c.UdpEchoRefused} refused)");
        output.WriteLine($"  http: {c.HttpRequests} requests, {c.HttpResponses2xx} 2xx, {c.HttpResponses4xx} 4xx, {c.HttpResponses5xx} 5xx, {c.HttpBodyBytes} body bytes");
        output.WriteLine($"  gc: {GC.CollectionCount(0)} gen0, {GC.CollectionCount(1)} gen1, {GC.CollectionCount(2)} gen2 collections, {GC.GetTotalAllocatedBytes()} bytes allocated by the process");
        List<string> drops = [];
        foreach ((DropReason reason, long count) in ic.NonZeroDrops())
        {
            drops.Add($"{reason} {count}");
        }
        output.WriteLine($"  drops: {(drops.Count == 0 ? "none" : string.Join(", ", drops))}");
    }
}
