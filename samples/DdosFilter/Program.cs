using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using DdosFilter;
using Skiff;
using Skiff.Drivers.Linux;
using Skiff.Engine;
using Skiff.Engine.Control;
using Skiff.Forwarding;
using Skiff.Hooks;
using Skiff.Hooks.Bpf;
using Skiff.Stack;
using Skiff.Wire;

if (!DdosOptions.TryParse(args, out DdosOptions options, out string error))
{
    bool help = args.Contains("--help") || args.Contains("-h");
    (help ? Console.Out : Console.Error).WriteLine(help ? error : $"DdosFilter: {error}");
    return help ? 0 : 2;
}
if (!options.TryCompileRules(out List<BpfFilter> rules, out error))
{
    Console.Error.WriteLine($"DdosFilter: {error}");
    return 2;
}

// AF_XDP registers each socket's pool as its UMEM: one pool per port (frames crossing are copied once). AF_PACKET and
// TAP copy through the kernel anyway: one pool for both ports, so the forwarder never copies.
List<PacketPool> pools = [];
List<LinuxDevice> opened = [];
SkiffControlServer? control = null;
try
{
    PacketPool? shared = options.Driver == "afxdp" ? null : new PacketPool(16384);
    if (shared is not null)
    {
        pools.Add(shared);
    }
    foreach (string iface in new[] { options.Wire, options.Host })
    {
        PacketPool pool = shared ?? new PacketPool(8192);
        if (shared is null)
        {
            pools.Add(pool);
        }
        try
        {
            // AF_XDP steers only what it is told; 0.0.0.0 steers every frame of the queue to Skiff (as skiff fwd does).
            opened.Add(LinuxDevices.Open(options.Driver, iface, pool, steerAddresses: [IPAddress.Any]));
        }
        catch (DriverException e)
        {
            Console.Error.WriteLine($"DdosFilter: cannot open {options.Driver} on {iface}: {e.Message}");
            return 3;
        }
    }
    IDevice[] ports = [.. opened.Select(d => d.Device)];
    MacAddress[] macs = [.. opened.Select(d => d.HardwareAddress?.GetAddressBytes() is { Length: 6 } b ? MacAddress.Read(b) : new MacAddress(0x02_00_5e_00_00_00UL | (uint)Random.Shared.Next(1 << 16)))];

    // The loop's interface only counts (drops by cause, forwarded frames) for the meter and skiff stats: the forwarder
    // consumes every frame, so the stack never sees one.
    Interface counters = new(new InterfaceOptions { Mac = macs[0], Addresses = [Ipv4Cidr.Parse("192.0.2.1/32")], RxBurst = 64, LargeBufferCount = 1, GratuitousArp = false }, ports[0].Pool);
    Forwarder forwarder = new(ForwardingMode.Io, [new ForwardingPort { Mac = macs[0] }, new ForwardingPort { Mac = macs[1] }], [.. ports.Select(p => p.Pool)], counters.Counters, rxBurst: 64);
    using SkiffEngine engine = new(counters, ports, new SkiffEngineOptions
    {
        ThreadName = "ddos-filter",
        Idle = options.BusyPoll ? SkiffIdlePolicy.BusyPoll : new SkiffIdlePolicy(),
    }, forwarder);
    forwarder.Attach([engine.PortOutput(0), engine.PortOutput(1)]);

    // The wire's RX chain, in order: drop rules, per-source rate limit, SYN proxy. Frames from the host pass all three
    // (the SYN proxy translates the proxied flows' sequence numbers both ways).
    List<HookRunner> runners = [];
    foreach (BpfFilter rule in rules)
    {
        runners.Add(engine.RxHooks.Add($"drop {rule.Expression}", new WireOnlyHook<BpfDropHook>(new BpfDropHook(rule), 0), priority: 10));
    }
    SourceRateTable? table = null;
    if (options.Rate > 0)
    {
        table = new SourceRateTable(options.Sources, options.Rate, options.Burst);
        runners.Add(engine.RxHooks.Add("rate-limit", new SourceRateLimitHook(table, 0), priority: 20));
    }
    SynProxy? proxy = null;
    if (options.SynProxyPorts.Count > 0)
    {
        proxy = new SynProxy(options.SynProxyPorts, options.Flows, options.Mss);
        runners.Add(engine.RxHooks.Add("syn-proxy", new SynProxyHook(proxy), priority: 30));
        engine.AddStage(new SynProxyStage(proxy, engine.PortOutput(0), ports[0].Pool));
    }
    DdosMetrics.Register(table, proxy);

    if (options.StatsSocket != SkiffControlSockets.Off)
    {
        try
        {
            control = SkiffControlServer.Start(options.StatsSocket ?? SkiffControlSockets.Default(Environment.ProcessId), replaceStale: options.StatsSocket is null);
            control.Publishers = [engine.Metrics];
            control.Engines = [engine];
        }
        catch (SkiffControlException e)
        {
            Console.Error.WriteLine($"DdosFilter: {(options.StatsSocket is null ? "warning: no control socket, so skiff stats cannot connect" : "cannot open the control socket")}: {e.Message}");
            if (options.StatsSocket is not null)
            {
                return 2;
            }
        }
    }

    using ManualResetEventSlim stop = new();
    using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
    using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });

    engine.Start();
    // What the loop thread allocates from here on: with a flood running, anything per packet would show.
    long allocatedBefore = LoopAllocatedBytes(engine);
    long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
    Console.WriteLine($"DdosFilter: {options.Driver}, wire {opened[0].Description} ({macs[0]}), host {opened[1].Description} ({macs[1]})");
    foreach (string rule in options.Rules)
    {
        Console.WriteLine($"  drop rule: {rule}");
    }
    Console.WriteLine(table is null ? "  rate limit: off" : $"  rate limit: {table.Rate} packets/s per source, burst {table.Burst}, table of {table.Capacity} sources");
    Console.WriteLine(proxy is null ? "  syn proxy: off" : $"  syn proxy: ports {string.Join(",", proxy.ProtectedPorts)}, MSS {proxy.Mss}, table of {proxy.FlowCapacity} flows");
    if (control is not null)
    {
        Console.WriteLine($"  control socket: {control.Path}");
    }
    Console.WriteLine("DdosFilter: ready; Ctrl-C to stop");
    Console.Out.Flush();

    stop.Wait(options.Seconds > 0 ? TimeSpan.FromSeconds(options.Seconds) : Timeout.InfiniteTimeSpan);
    long allocated = LoopAllocatedBytes(engine) - allocatedBefore;
    long heapAfter = GC.GetTotalMemory(forceFullCollection: true);
    engine.Stop();
    Console.Write(Report(engine, runners, table, proxy, allocated, heapBefore, heapAfter));
    if (engine.Failure is Exception failure)
    {
        Console.Error.WriteLine($"DdosFilter: the loop failed: {failure}");
        return 1;
    }
    return 0;
}
finally
{
    control?.Dispose();
    opened.ForEach(d => d.Dispose());
    pools.ForEach(p => p.Dispose());
}

static long LoopAllocatedBytes(SkiffEngine engine)
{
    Task<long> bytes = engine.InvokeAsync(_ => GC.GetAllocatedBytesForCurrentThread());
    return bytes.Wait(TimeSpan.FromSeconds(5)) ? bytes.Result : -1;
}

static string Report(SkiffEngine engine, List<HookRunner> runners, SourceRateTable? table, SynProxy? proxy, long allocated, long heapBefore, long heapAfter)
{
    StringBuilder text = new();
    CultureInfo c = CultureInfo.InvariantCulture;
    text.Append(c, $"DdosFilter: forwarded {engine.Interface.Counters.ForwardedFrames} frames ({engine.Interface.Counters.ForwardCopies} copied between pools); ");
    text.Append(c, $"wire rx {engine.PortCountersOf(0).RxFrames} tx {engine.PortCountersOf(0).TxFrames}, host rx {engine.PortCountersOf(1).RxFrames} tx {engine.PortCountersOf(1).TxFrames}\n");
    foreach (HookRunner r in runners)
    {
        text.Append(c, $"  hook {r.Name}: pass {r.Counters[HookVerdict.Pass]} drop {r.Counters[HookVerdict.Drop]} tx {r.Counters[HookVerdict.Tx]} redirect {r.Counters[HookVerdict.Redirect]}\n");
    }
    if (table is not null)
    {
        text.Append(c, $"  sources: {table.Count} tracked of {table.Capacity}, {table.Inserted} inserted, {table.Evicted} evicted, {table.Limited} packets over rate\n");
    }
    if (proxy is not null)
    {
        text.Append(c, $"  syn proxy: cookies sent {proxy.CookiesSent}, accepted {proxy.CookiesAccepted}, rejected {proxy.CookiesRejected}; handshakes {proxy.Handshakes}; ");
        text.Append(c, $"flows {proxy.Flows} of {proxy.FlowCapacity}, evicted {proxy.FlowsEvicted}; no flow {proxy.NoFlow}, early {proxy.Early}; window updates {proxy.WindowUpdates} (lost {proxy.WindowUpdatesLost})\n");
    }
    text.Append("  drops:");
    bool any = false;
    foreach ((DropReason reason, long count) in engine.Interface.Counters.NonZeroDrops())
    {
        text.Append(c, $" {reason} {count}");
        any = true;
    }
    text.Append(any ? "\n" : " none\n");
    text.Append(c, $"  memory: the loop thread allocated {allocated} bytes while running; managed heap {heapBefore} -> {heapAfter} bytes (after a full collection)\n");
    return text.ToString();
}
