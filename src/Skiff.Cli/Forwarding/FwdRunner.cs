using System.Globalization;
using System.Text;
using Skiff.Cli.Serve;
using Skiff.Engine.Control;
using Skiff.Engine;
using Skiff.Forwarding;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Cli.Forwarding;

/// <summary>
/// Runs <c>skiff fwd</c> on open devices: one engine loop per core, each serving queue q of every port with its own
/// <see cref="Forwarder"/> (shared nothing; the routes are shared read-only), the <c>--drop</c> hooks in front, until
/// stopped; then prints what each port moved and why frames were dropped.
/// </summary>
internal sealed class FwdRunner
{
    /// <summary>Opened queues: <c>devices[port][queue]</c>.</summary>
    public required IReadOnlyList<IReadOnlyList<IDevice>> Devices { get; init; }

    public required ForwardingMode Mode { get; init; }

    public required IReadOnlyList<ForwardingPort> Ports { get; init; }

    public RoutingTable? Routes { get; init; }

    public ServeHooks? Hooks { get; init; }

    public SkiffIdlePolicy Idle { get; init; } = new();

    public SkiffControlServer? Stats { get; init; }

    /// <summary>The egress qdisc of every port: each port of each loop gets its own, as each Linux TX queue has. Null: none.</summary>
    public Skiff.QDisc.Spec.QDiscSpec? QDisc { get; init; }

    /// <summary>Forwards until <paramref name="stop"/> or <paramref name="duration"/> (zero: no limit); prints the counters. Exit 0, or 1 when a loop failed.</summary>
    public int Run(TimeSpan duration, TextWriter output, TextWriter error, CancellationToken stop)
    {
        int cores = Devices[0].Count;
        SkiffEngine[] engines = new SkiffEngine[cores];
        Forwarder[] forwarders = new Forwarder[cores];
        for (int q = 0; q < cores; q++)
        {
            IDevice[] ports = [.. Devices.Select(d => d[q])];
            // The loop's own interface only counts (drops by cause, forwarded frames) for the meter and skiff stats; with a
            // consumer of its own the engine never hands it a frame.
            Ipv4Cidr counted = Ports[0].Address ?? Ipv4Cidr.Parse("192.0.2.1/32");
            Interface counters = new(new InterfaceOptions { Mac = Ports[0].Mac, Addresses = [counted], RxBurst = 64, LargeBufferCount = 1, GratuitousArp = false }, ports[0].Pool);
            Forwarder forwarder = new(Mode, Ports, [.. ports.Select(p => p.Pool)], counters.Counters, Routes, rxBurst: 64);
            SkiffEngine engine = new(counters, ports, new SkiffEngineOptions { Queue = q, ThreadName = $"skiff-fwd-{q}", Idle = Idle }, forwarder);
            forwarder.Attach([.. Enumerable.Range(0, ports.Length).Select(engine.PortOutput)]);
            if (Mode == ForwardingMode.L3)
            {
                engine.AddStage(new ForwarderStage(forwarder));
            }
            Hooks?.AddTo(engine);
            for (int p = 0; p < ports.Length && QDisc is not null; p++)
            {
                engine.SetEgressQDisc(p, QDisc.Build());
            }
            engines[q] = engine;
            forwarders[q] = forwarder;
        }
        if (Stats is not null)
        {
            Stats.Publishers = [.. engines.Select(e => e.Metrics)];
        }
        foreach (SkiffEngine engine in engines)
        {
            engine.Start();
        }
        output.WriteLine($"skiff fwd: forwarding on {cores} core(s); Ctrl-C to stop");
        output.Flush();
        TimeSpan wait = duration > TimeSpan.Zero ? duration : Timeout.InfiniteTimeSpan;
        stop.WaitHandle.WaitOne(wait);
        // Read the routers' own counters on their loops before stopping them.
        string[] routers = new string[Mode == ForwardingMode.L3 ? cores : 0];
        for (int q = 0; q < routers.Length; q++)
        {
            Forwarder f = forwarders[q];
            Task<string> described = engines[q].InvokeAsync(_ => DescribeRouter(f));
            routers[q] = described.Wait(TimeSpan.FromSeconds(5)) ? described.Result : "";
        }
        int exit = 0;
        foreach (SkiffEngine engine in engines)
        {
            engine.Stop();
            if (engine.Failure is Exception failure)
            {
                error.WriteLine($"skiff fwd: the loop of queue {engine.Options.Queue} failed: {failure.Message}");
                exit = 1;
            }
        }
        foreach (Forwarder f in forwarders)
        {
            f.FreeAll();
        }
        output.Write(Describe(engines, routers));
        output.Flush();
        return exit;
    }

    private string Describe(SkiffEngine[] engines, string[] routers)
    {
        StringBuilder text = new();
        long forwarded = engines.Sum(e => e.Interface.Counters.ForwardedFrames);
        long copies = engines.Sum(e => e.Interface.Counters.ForwardCopies);
        text.Append(CultureInfo.InvariantCulture, $"skiff fwd: forwarded {forwarded} frames, {copies} copied between pools\n");
        for (int p = 0; p < Ports.Count; p++)
        {
            int port = p;
            long rx = engines.Sum(e => e.PortCountersOf(port).RxFrames);
            long tx = engines.Sum(e => e.PortCountersOf(port).TxFrames);
            text.Append(CultureInfo.InvariantCulture, $"  port {p}: rx {rx} tx {tx}\n");
            if (QDisc is not null)
            {
                // tc -s qdisc's line, summed over the loops (read after they stopped).
                Skiff.QDisc.QDiscStatistics[] s = [.. engines.Select(e => e.EgressQDiscOf(port)!.Statistics)];
                text.Append(CultureInfo.InvariantCulture,
                    $"    qdisc {QDisc.Text}: sent {s.Sum(x => x.SentBytes)} bytes {s.Sum(x => x.SentPackets)} pkt (dropped {s.Sum(x => x.Dropped)}, overlimits {s.Sum(x => x.Overlimits)} requeues {s.Sum(x => x.Requeues)}) backlog {s.Sum(x => x.BacklogPackets)}p\n");
            }
        }
        Dictionary<DropReason, long> drops = [];
        foreach (SkiffEngine e in engines)
        {
            foreach ((DropReason reason, long count) in e.Interface.Counters.NonZeroDrops())
            {
                drops[reason] = drops.GetValueOrDefault(reason) + count;
            }
        }
        text.Append("  drops:").Append(drops.Count == 0 ? " none" : string.Concat(drops.Select(d => $" {d.Key} {d.Value}"))).Append('\n');
        foreach (string r in routers)
        {
            text.Append(r);
        }
        return text.ToString();
    }

    /// <summary>The router's own traffic on each port: ping replies, ICMP errors, ARP, and the interface's drops. Loop thread.</summary>
    private static string DescribeRouter(Forwarder forwarder)
    {
        StringBuilder text = new();
        for (int p = 0; p < forwarder.PortCount; p++)
        {
            Interface iface = forwarder.InterfaceOf(p);
            InterfaceCounters c = iface.Counters;
            text.Append(CultureInfo.InvariantCulture,
                $"  router port {p} ({iface.PrimaryAddress}): ping replies {c.IcmpEchoRepliesSent}, ICMP errors {c.IcmpErrorsSent}, ARP requests {c.ArpRequestsSent}, ARP replies {c.ArpRepliesSent}, rate-limited {c.Drops(DropReason.IcmpRateLimited)}, unresolved {c.Drops(DropReason.NeighborUnresolved)}\n");
        }
        return text.ToString();
    }
}
