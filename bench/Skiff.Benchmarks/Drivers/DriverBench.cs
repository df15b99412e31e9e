using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Skiff.Drivers.Linux;

namespace Skiff.Benchmarks.Drivers;

/// <summary>
/// Driver benchmarks run by bench/drivers.sh (root, inside a network namespace):
/// <c>rxdrop --driver afxdp|afpacket --iface IF --seconds S [--ip A] [--fill-frames N]</c> receives and drops every frame, busy-polling,
/// printing pps each second and the median;
/// <c>gen --iface IF --dst-mac M --dst-ip A --seconds S [--src-ip A] [--size 64] [--cpu 0] [--generator clone|live]</c> sends
/// UDP frames from a thread pinned to --cpu, printing its own rate each second and the median: by default with
/// <see cref="XdpLoopFrameGenerator"/> (<c>--loop-iface IF --loop-peer-iface PEER [--copies 16] [--in-flight 4]</c>), with
/// <see cref="TcCloneFrameGenerator"/> (<c>--generator clone --trigger-iface IF [--clones 64]</c>), or with <see cref="XdpLiveFrameGenerator"/>
/// (<c>--generator live [--batch 64] [--repeat 16384] [--hold-iface IF]</c>; kernels that refuse live frames answer EPERM).
/// Exit 0 when done, 2 for bad arguments, 3 when the device or generator cannot be opened.
/// </summary>
internal static class DriverBench
{
    public static int Run(string mode, string[] args)
    {
        Dictionary<string, string> o = [];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                Console.Error.WriteLine($"{mode}: expected an --option, got '{args[i]}'.");
                return 2;
            }
            o[args[i][2..]] = args[i + 1];
        }
        if (args.Length % 2 != 0)
        {
            Console.Error.WriteLine($"{mode}: option {args[^1]} needs a value.");
            return 2;
        }
        if (!o.TryGetValue("iface", out string? iface))
        {
            Console.Error.WriteLine($"{mode}: give the interface with --iface IF.");
            return 2;
        }
        double seconds = o.TryGetValue("seconds", out string? s) ? double.Parse(s, CultureInfo.InvariantCulture) : 10;
        try
        {
            return mode switch
            {
                "rxdrop" => RxDrop(o.GetValueOrDefault("driver", "afxdp"), iface, seconds, o),
                _ => Generate(iface, seconds, o),
            };
        }
        catch (DriverException e)
        {
            Console.Error.WriteLine($"{mode}: {e.Message}");
            return 3;
        }
    }

    private static int Generate(string iface, double seconds, Dictionary<string, string> o)
    {
        if (!o.TryGetValue("dst-mac", out string? m) || !UdpFrame.TryParseMac(m, out byte[] dstMac)
            || !o.TryGetValue("dst-ip", out string? a) || !IPAddress.TryParse(a, out IPAddress? dst))
        {
            Console.Error.WriteLine("gen: give --dst-mac aa:bb:cc:dd:ee:ff and --dst-ip A.B.C.D (the receiver's).");
            return 2;
        }
        IPAddress src = IPAddress.Parse(o.GetValueOrDefault("src-ip", "198.18.0.1"));
        int size = int.Parse(o.GetValueOrDefault("size", "64"), CultureInfo.InvariantCulture);
        int batch = int.Parse(o.GetValueOrDefault("batch", "64"), CultureInfo.InvariantCulture);
        int cpu = int.Parse(o.GetValueOrDefault("cpu", "0"), CultureInfo.InvariantCulture);
        byte[] frame = UdpFrame.Build(UdpFrame.InterfaceMac(iface), dstMac, src, dst, 1024, 9, size);
        string generator = o.GetValueOrDefault("generator", "loop");
        // SIGINT/SIGTERM stop the loop between two system calls, so the summary is printed and the program unloaded.
        using CancellationTokenSource stop = new();
        using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        List<long> perSecond = [];
        Action<int, long> print = (sec, n) =>
        {
            perSecond.Add(n);
            Console.WriteLine($"gen second {sec}: {n} pps");
        };
        long total;
        switch (generator)
        {
            case "loop":
                if (!o.TryGetValue("loop-iface", out string? loop) || !o.TryGetValue("loop-peer-iface", out string? loopPeer))
                {
                    Console.Error.WriteLine("gen: the loop generator needs a spare veth pair, both ends up: give them with --loop-iface IF --loop-peer-iface PEER.");
                    return 2;
                }
                int copies = int.Parse(o.GetValueOrDefault("copies", "16"), CultureInfo.InvariantCulture);
                int inFlight = int.Parse(o.GetValueOrDefault("in-flight", "4"), CultureInfo.InvariantCulture);
                using (XdpLoopFrameGenerator xdpLoop = new(iface, frame, loop, loopPeer, copies, inFlight))
                {
                    Console.WriteLine($"gen: XDP loop generator out of {iface} (ifindex {xdpLoop.IfIndex}), {size} B to {m} {dst}:9, {inFlight} frames in flight in {loop}/{loopPeer}, {copies} copies per pass, loop started from CPU {cpu}");
                    total = xdpLoop.Run(TimeSpan.FromSeconds(seconds), cpu, print, stop.Token);
                }
                break;
            case "clone":
                if (!o.TryGetValue("trigger-iface", out string? trigger))
                {
                    Console.Error.WriteLine("gen: the clone generator needs a spare interface that is up: give it with --trigger-iface IF.");
                    return 2;
                }
                int clones = int.Parse(o.GetValueOrDefault("clones", "64"), CultureInfo.InvariantCulture);
                using (TcCloneFrameGenerator clone = new(iface, frame, trigger, clones))
                {
                    Console.WriteLine($"gen: tc clone generator out of {iface} (ifindex {clone.IfIndex}), {size} B to {m} {dst}:9, {clones} clones per frame written to {trigger}, thread pinned to CPU {cpu}");
                    total = clone.Run(TimeSpan.FromSeconds(seconds), cpu, print, stop.Token);
                    Console.WriteLine($"gen: {clone.TriggersSent} frames written to {trigger}; the target refused {clone.FramesRefused} clones");
                }
                break;
            case "live":
                int repeat = int.Parse(o.GetValueOrDefault("repeat", "16384"), CultureInfo.InvariantCulture);
                string? hold = o.GetValueOrDefault("hold-iface");
                using (XdpLiveFrameGenerator live = new(iface, frame, batch, repeat, hold))
                {
                    Console.WriteLine($"gen: XDP live frames out of {iface} (ifindex {live.IfIndex}), {size} B to {m} {dst}:9, batch {batch}, {live.RepeatPerCall} per call, thread pinned to CPU {cpu}{(hold is null ? "" : $", program held in the XDP dispatcher by {hold}")}");
                    total = live.Run(TimeSpan.FromSeconds(seconds), cpu, print, stop.Token);
                }
                break;
            default:
                Console.Error.WriteLine($"gen: --generator is loop (XDP devmap broadcast), clone (tc bpf_clone_redirect) or live (XDP live frames), not '{generator}'.");
                return 2;
        }
        Console.WriteLine($"gen total: {total} frames; median: {Median(perSecond)} pps");
        return 0;
    }

    private static int RxDrop(string driver, string iface, double seconds, Dictionary<string, string> o)
    {
        IDevice device;
        Func<string> stats;
        switch (driver)
        {
            case "afxdp":
                if (!o.TryGetValue("ip", out string? a) || !IPAddress.TryParse(a, out IPAddress? ip))
                {
                    Console.Error.WriteLine("rxdrop: afxdp steers only Skiff's addresses to Skiff: give the frames' destination with --ip A.B.C.D.");
                    return 2;
                }
                int? fillFrames = o.TryGetValue("fill-frames", out string? f) ? int.Parse(f, CultureInfo.InvariantCulture) : null;
                AfXdpDevice x = new(new AfXdpOptions { InterfaceName = iface, SteerAddresses = [ip], FillFrames = fillFrames, Log = Console.WriteLine });
                device = x;
                stats = () => x.GetStatistics().ToString();
                break;
            case "afpacket":
                AfPacketDevice p = new(new AfPacketOptions { InterfaceName = iface });
                device = p;
                stats = () => p.ReadStatistics().ToString();
                break;
            default:
                Console.Error.WriteLine($"rxdrop: --driver is afxdp or afpacket, not '{driver}'.");
                return 2;
        }
        try
        {
            Console.WriteLine($"rxdrop {driver} on {iface}: busy-polling, {seconds} s");
            List<long> perSecond = DropLoop(device, driver, seconds);
            Console.WriteLine($"rxdrop {driver} stats: {stats()}");
            Console.WriteLine($"rxdrop {driver} gc: gen0 {GC.CollectionCount(0)} gen1 {GC.CollectionCount(1)} gen2 {GC.CollectionCount(2)}");
            // The first second includes start-up (JIT, ring fill): leave it out of the median when there are more.
            Console.WriteLine($"rxdrop {driver} median: {Median(perSecond.Count > 2 ? perSecond[1..] : perSecond)} pps");
        }
        finally
        {
            ((IDisposable)device).Dispose();
        }
        return 0;
    }

    /// <summary>Receives bursts of 64 and frees them at once, printing pps each second.</summary>
    private static List<long> DropLoop(IDevice device, string name, double seconds)
    {
        PacketBuffer[] burst = new PacketBuffer[64];
        PacketPool pool = device.Pool;
        List<long> perSecond = [];
        long frequency = Stopwatch.Frequency;
        long begin = Stopwatch.GetTimestamp();
        long end = begin + (long)(seconds * frequency);
        long nextTick = begin + frequency;
        long count = 0;
        long atTick = 0;
        // Time spent in bursts that returned frames (receive + free), for the per-frame cost: it leaves out empty
        // polls and, mostly, the time the thread was not scheduled, so it holds on a loaded machine.
        long busyTicks = 0;
        long before = Stopwatch.GetTimestamp();
        while (true)
        {
            int n = device.ReceiveBurst(burst, default);
            long now;
            if (n > 0)
            {
                // Frames of an AF_PACKET device come from its own pool, AF_XDP's from the UMEM: both are device.Pool.
                pool.FreeBurst(burst.AsSpan(0, n));
                count += n;
                now = Stopwatch.GetTimestamp();
                busyTicks += now - before;
            }
            else
            {
                now = Stopwatch.GetTimestamp();
            }
            before = now;
            if (now >= nextTick)
            {
                perSecond.Add(count - atTick);
                Console.WriteLine($"rxdrop {name} second {perSecond.Count}: {count - atTick} pps");
                atTick = count;
                nextTick += frequency;
                if (now >= end)
                {
                    break;
                }
            }
        }
        Console.WriteLine($"rxdrop {name} cost: {(count == 0 ? 0 : busyTicks * 1e9 / frequency / count):F1} ns per frame in non-empty bursts (receive + free), {count} frames");
        return perSecond;
    }

    private static long Median(List<long> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }
        List<long> sorted = [.. values];
        sorted.Sort();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
