using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;
using Skiff.Cli.Stats;
using Skiff.Engine;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Engine.Control;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff serve</c>: Skiff owns an address on an interface, answers ARP and ping, and serves TCP echo, TCP
/// discard, UDP echo and HTTP/1.1 as the flags ask (<see cref="ServeApp"/>). Ctrl-C prints the counters and exits 0.
/// Its metrics are published as the engine's are (the <c>Skiff</c> meter) and served on a stats control socket for
/// <c>skiff stats</c> (<see cref="SkiffControlServer"/>). Exit 2 for bad arguments, 3 when the device cannot be opened.
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
        Option<string[]> drop = new("--drop")
        {
            Description = "Drop received frames that match this tcpdump expression before the stack (repeatable); counted as drop cause Filter. Example: --drop icmp --drop 'udp port 53'.",
            AllowMultipleArgumentsPerToken = false,
        };
        Option<bool> echoHook = new("--echo-hook") { Description = "Answer ping in an RX hook (XDP_TX style) before the stack, instead of in the stack's ICMP." };
        Option<bool> busyPoll = new("--busy-poll") { Description = "Never sleep between polls (DPDK's way): the lowest latency, and each engine loop keeps its core busy." };
        Option<int> yieldMicros = new("--yield-us")
        {
            Description = "When idle, yield the core (instead of blocking in poll(2)) until this many microseconds have passed since the last frame; 0: only 128 yields. " +
                "Default 1000: a TCP stream's short pauses then cost no blocking wake-up (bench/tcp-stream.sh: 0.86x to 1.06x of the previous serve loop).",
            DefaultValueFactory = _ => 1000,
        };
        Option<int> cores = new("--cores") { Description = "Engine loops (cores) to serve on, one device queue or a software-RSS share each (--rss). Default 1.", DefaultValueFactory = _ => 1 };
        Option<string> rss = new("--rss")
        {
            Description = "How --cores spreads the device: 'device' gives each core a queue of its own (AF_XDP queues 0..N-1, an AF_PACKET fanout group, " +
                "TAP multi-queue), 'software' spreads one queue by Skiff's software RSS, 'auto' takes the device's queues where it has enough. Default auto.",
            DefaultValueFactory = _ => "auto",
        };
        rss.AcceptOnlyFromAmong("auto", "software", "device");
        Option<int> headerTimeout = new("--header-timeout")
        {
            Description = "Close an HTTP connection that has not sent a whole request head this many seconds after it was accepted (Kestrel's RequestHeadersTimeout). Default 30.",
            DefaultValueFactory = _ => 30,
        };
        Option<int?> maxPerSource = new("--max-per-source") { Description = "Serve at most this many connections from one source address at once; more are reset. Default no limit." };
        Option<string?> statsSocket = new("--stats-socket")
        {
            Description = $"The control socket skiff stats reads. Default: {SkiffControlSockets.FilePrefix}PID{SkiffControlSockets.FileSuffix} in $XDG_RUNTIME_DIR, else in /tmp; '{SkiffControlSockets.Off}' for no socket.",
        };
        Command command = new("serve", CommandHelp.WithExamples("Own an address on an interface: answer ARP and ping, serve echo, discard and HTTP until Ctrl-C.",
            "skiff serve --driver afxdp --iface eth1 --ip 192.0.2.10/24 --http 80 --tcp-echo 7", "skiff serve --driver afpacket --iface eth1 --ip 192.0.2.10/24 --http 80 --cores 2 --drop 'udp port 53'", "skiff serve --driver tap --iface skiff0 --ip 10.9.0.1/24 --udp-echo 7 --echo-hook"));
        stack.AddTo(command);
        command.Options.Add(tcpEcho);
        command.Options.Add(tcpDiscard);
        command.Options.Add(udpEcho);
        command.Options.Add(http);
        command.Options.Add(drop);
        command.Options.Add(echoHook);
        command.Options.Add(cores);
        command.Options.Add(rss);
        command.Options.Add(busyPoll);
        command.Options.Add(yieldMicros);
        command.Options.Add(headerTimeout);
        command.Options.Add(maxPerSource);
        command.Options.Add(statsSocket);
        stack.QDiscs.AddTo(command);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            StackSettings? settings = stack.Read(result, "skiff serve", error);
            if (settings is null)
            {
                return 2;
            }
            Skiff.QDisc.Spec.QDiscSpec? qdisc = stack.QDiscs.Read(result, "skiff serve", error, out bool qdiscOk);
            if (!qdiscOk)
            {
                return 2;
            }
            int headerSeconds = result.GetValue(headerTimeout);
            int? perSource = result.GetValue(maxPerSource);
            if (headerSeconds is < 1 or > 3600 || perSource is < 1)
            {
                error.WriteLine("skiff serve: give --header-timeout as 1 to 3600 seconds and --max-per-source as at least 1 connection.");
                return 2;
            }
            ServeOptions options = new()
            {
                QDisc = qdisc,
                HeaderTimeout = Duration.FromSeconds(headerSeconds),
                MaxConnectionsPerSource = perSource,
                TcpEchoPort = result.GetValue(tcpEcho),
                TcpDiscardPort = result.GetValue(tcpDiscard),
                UdpEchoPort = result.GetValue(udpEcho),
                HttpPort = result.GetValue(http),
            };
            ServeHooks hooks = new(result.GetValue(drop) ?? [], result.GetValue(echoHook));
            int coreCount = result.GetValue(cores);
            if (coreCount is < 1 or > 64)
            {
                error.WriteLine($"skiff serve: --cores {coreCount} is out of range; give 1 to 64 (one engine loop per core).");
                return 2;
            }
            if (!hooks.TryCompile("skiff serve", error))
            {
                return 2;
            }
            int yieldUs = result.GetValue(yieldMicros);
            if (yieldUs is < 0 or > 1_000_000)
            {
                error.WriteLine($"skiff serve: --yield-us {yieldUs} is out of range; give 0 to 1000000 microseconds.");
                return 2;
            }
            SkiffIdlePolicy idle = result.GetValue(busyPoll) ? SkiffIdlePolicy.BusyPoll : new SkiffIdlePolicy { YieldMicros = yieldUs };
            using StopSignal stop = new();
            CoreSpreading spreading = result.GetValue(rss) switch { "software" => CoreSpreading.Software, "device" => CoreSpreading.Device, _ => CoreSpreading.Auto };
            return Run(settings, options, result.GetValue(statsSocket), output, error, stop.Token, hooks, coreCount, idle, spreading);
        });
        return command;
    }

    /// <summary>
    /// Opens the stats socket (<paramref name="statsSocket"/>: a path, null for the default, <see cref="SkiffControlSockets.Off"/>
    /// for none) and the device, and serves until <paramref name="stop"/> is cancelled; returns the exit code.
    /// </summary>
    internal static int Run(StackSettings settings, ServeOptions options, string? statsSocket, TextWriter output, TextWriter error, CancellationToken stop,
        ServeHooks? hooks = null, int cores = 1, SkiffIdlePolicy? idle = null, CoreSpreading spreading = CoreSpreading.Auto)
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
        SkiffControlServer? stats = null;
        if (statsSocket != SkiffControlSockets.Off)
        {
            try
            {
                // The default path carries our pid: a file there was left by a dead process that had it.
                stats = SkiffControlServer.Start(statsSocket ?? SkiffControlSockets.Default(Environment.ProcessId), replaceStale: statsSocket is null);
            }
            catch (SkiffControlException e) when (statsSocket is null)
            {
                error.WriteLine($"skiff serve: warning: no stats socket, so skiff stats cannot connect: {e.Message}");
            }
            catch (SkiffControlException e)
            {
                error.WriteLine($"skiff serve: {e.Message}");
                return 2;
            }
        }
        using (stats)
        {
            using StackHost? host = StackHost.TryOpen(settings, "skiff serve", error, cores, idle, spreading);
            if (host is null)
            {
                return DriverFactory.ExitDeviceUnavailable;
            }
            return Serve(host, options, stats, output, stop, hooks);
        }
    }

    /// <summary>
    /// Serves on an open host until <paramref name="stop"/> is cancelled, then prints the counters (summed over the
    /// cores). Exit 0. Core 0's engine runs on this thread, the others on their own; each core serves with its own
    /// <see cref="ServeApp"/> as an engine stage, and publishes its metrics snapshot to the <c>Skiff</c> meter and to
    /// <paramref name="stats"/>, if given.
    /// </summary>
    internal static int Serve(StackHost host, ServeOptions options, SkiffControlServer? stats, TextWriter output, CancellationToken stop, ServeHooks? hooks = null)
    {
        IReadOnlyList<SkiffEngine> engines = host.Engines;
        ServeApp[] apps = new ServeApp[engines.Count];
        for (int i = 0; i < engines.Count; i++)
        {
            apps[i] = new ServeApp(engines[i].Interface, options);
            apps[i].Start();
            engines[i].AddStage(new ServeStage(apps[i]));
            if (options.QDisc is not null)
            {
                engines[i].SetEgressQDisc(0, options.QDisc.Build()); // each core its own qdisc, as each Linux TX queue has
            }
            hooks?.AddTo(engines[i]);
        }
        SkiffEngine main = engines[0];
        SkiffMetrics.Register(main.Metrics); // the other cores register when they start
        try
        {
            if (stats is not null)
            {
                stats.Publishers = [.. engines.Select(e => e.Metrics)];
                stats.Engines = engines; // skiff capture attaches here
            }
            Interface iface = main.Interface;
            output.WriteLine($"skiff serve: {iface.Addresses[0]} at {iface.Mac} on {host.DeviceDescription}{(engines.Count > 1 ? $", {host.CoresDescription}" : "")}");
            output.WriteLine($"  answering ARP and ping{Describe(options)}{hooks?.Describe()}; Ctrl-C to stop");
            if (options.QDisc is not null)
            {
                output.WriteLine($"  egress qdisc: {main.EgressQDiscOf(0)!.Describe()}");
            }
            if (stats is not null)
            {
                output.WriteLine($"  counters: skiff stats --socket {stats.Path}");
                output.WriteLine($"  capture:  skiff capture --socket {stats.Path} -w FILE [EXPRESSION]");
            }
            output.Flush();
            for (int i = 1; i < engines.Count; i++)
            {
                engines[i].Start();
            }
            main.RunOnCallingThread(null, stop);
            for (int i = 1; i < engines.Count; i++)
            {
                ServeApp app = apps[i];
                engines[i].InvokeAsync(_ => { app.Stop(); return true; }).Wait();
            }
            apps[0].Stop();
            // Let the releases' FINs and RSTs leave before the device closes (core 0 carries the other cores' frames).
            host.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(100), CancellationToken.None);
            for (int i = engines.Count - 1; i >= 1; i--)
            {
                engines[i].Stop();
            }
            main.Metrics.PublishNow(main.Now);
            WriteCounters(output, engines, apps);
            return 0;
        }
        finally
        {
            SkiffMetrics.Unregister(main.Metrics);
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

    internal static void WriteCounters(TextWriter output, IReadOnlyList<SkiffEngine> engines, IReadOnlyList<ServeApp> apps)
    {
        ServeCounters c = ServeCounters.Sum(apps.Select(a => a.Counters));
        long rx = 0, rxBytes = 0, tx = 0, txBytes = 0, arp = 0, ping = 0, icmpErrors = 0;
        long[] drops = new long[Enum.GetValues<DropReason>().Length];
        foreach (SkiffEngine e in engines)
        {
            Skiff.Engine.Pipeline.PortCounters port = e.PortCountersOf(0);
            rx += port.RxFrames;
            rxBytes += port.RxBytes;
            tx += port.TxFrames;
            txBytes += port.TxBytes;
            InterfaceCounters ic = e.Interface.Counters;
            arp += ic.ArpRepliesSent;
            ping += ic.IcmpEchoRepliesSent;
            icmpErrors += ic.IcmpErrorsSent;
            foreach ((DropReason reason, long count) in ic.NonZeroDrops())
            {
                drops[(int)reason] += count;
            }
        }
        output.WriteLine("skiff serve: stopped");
        output.WriteLine($"  engine: {string.Join(", ", engines.Select(e => $"queue {e.Options.Queue} {e.Iterations} iterations, {e.Parks} parks"))}");
        output.WriteLine($"  frames: rx {rx} ({rxBytes} bytes), tx {tx} ({txBytes} bytes)");
        output.WriteLine($"  arp replies {arp}, ping replies {ping}, icmp errors {icmpErrors}");
        foreach (SkiffEngine e in engines)
        {
            foreach (Skiff.Hooks.HookChain chain in new[] { e.RxHooks.Current, e.TxHooks.Current })
            {
                foreach (Skiff.Hooks.HookRunner h in chain.Runners)
                {
                    output.WriteLine($"  hook {h.Name} (queue {e.Options.Queue}): pass {h.Counters[Skiff.Hooks.HookVerdict.Pass]}, drop {h.Counters[Skiff.Hooks.HookVerdict.Drop]}, " +
                        $"tx {h.Counters[Skiff.Hooks.HookVerdict.Tx]}, redirect {h.Counters[Skiff.Hooks.HookVerdict.Redirect]}, abort {h.Counters[Skiff.Hooks.HookVerdict.Abort]}");
                }
            }
        }
        output.WriteLine($"  tcp: {c.ConnectionsAccepted} connections accepted, {c.ConnectionsRefused} refused (limit), {c.ConnectionsEvicted} evicted without a request, " +
            $"{c.ConnectionsRefusedPerSource} refused (per source), {c.HeaderTimeouts} header timeouts, {c.ConnectionsTimedOut} idle timeouts");
        output.WriteLine($"  echo {c.EchoBytes} bytes, discard {c.DiscardBytes} bytes, udp echo {c.UdpEchoDatagrams} datagrams ({c.UdpEchoRefused} refused)");
        output.WriteLine($"  http: {c.HttpRequests} requests, {c.HttpResponses2xx} 2xx, {c.HttpResponses4xx} 4xx, {c.HttpResponses5xx} 5xx, {c.HttpBodyBytes} body bytes");
        output.WriteLine($"  gc: {GC.CollectionCount(0)} gen0, {GC.CollectionCount(1)} gen1, {GC.CollectionCount(2)} gen2 collections, {GC.GetTotalAllocatedBytes()} bytes allocated by the process");
        List<string> dropped = [];
        for (int i = 0; i < drops.Length; i++)
        {
            if (drops[i] != 0)
            {
                dropped.Add($"{(DropReason)i} {drops[i]}");
            }
        }
        output.WriteLine($"  drops: {(dropped.Count == 0 ? "none" : string.Join(", ", dropped))}");
        foreach (SkiffEngine e in engines)
        {
            if (e.EgressQDiscOf(0) is Skiff.QDisc.QueueDiscipline q)
            {
                output.WriteLine($"  qdisc {q.Kind} (queue {e.Options.Queue}): {q.Statistics.ToString().Replace("\n", ";", StringComparison.Ordinal)}");
            }
        }
    }
}
