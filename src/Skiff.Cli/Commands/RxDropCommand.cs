using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Engine.Capture;
using Skiff.Hooks;
using Skiff.Hooks.Bpf;
using Skiff.Wire;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff rxdrop</c>: receives and drops every frame (DPDK's rxonly) on one or more queues, printing pps each second
/// and the median at the end (<see cref="RxDropper"/>). Exit 0 when done, 2 for bad arguments, 3 when a device cannot be opened.
/// </summary>
public static class RxDropCommand
{
    public static Command Create()
    {
        StackOptionSet device = new(withStack: false);
        Option<int> queues = new("--queues") { Description = "Queues (one device and thread each; AF_XDP sockets sharing one XDP program, AF_PACKET fanout, TAP multi-queue). Default 1.", DefaultValueFactory = _ => 1 };
        Option<string[]> steer = new("--ip") { Description = "afxdp only (required there): an IPv4 address whose frames, and ARP about it, the XDP program steers to Skiff to drop; repeat for more. Everything else stays with the kernel.", AllowMultipleArgumentsPerToken = false };
        Option<double> seconds = new Option<double>("--seconds") { Description = "Stop after this many seconds; 0 runs until Ctrl-C. Default 0." }.InRange(0);
        Option<string[]> filter = new("--filter")
        {
            Description = "Run an RX hook that keeps only frames matching this tcpdump expression (the rest are dropped as Filter) before the drop stage; repeatable. Measures the hook chain's cost, e.g. --filter 'ip or not ip'.",
            AllowMultipleArgumentsPerToken = false,
        };
        Option<string?> capture = new("--capture")
        {
            Description = "Attach a live capture of the RX point inside rxdrop, as skiff capture would, whose filter is this tcpdump expression ('' for every frame); "
                + "its pcapng is written to nowhere. Measures what a capture costs the loop: a filter that matches nothing, or every frame at --capture-snaplen.",
        };
        Option<int> captureSnap = new Option<int>("--capture-snaplen") { Description = "The capture's snap length in bytes. Default 128.", DefaultValueFactory = _ => 128 }
            .InRange(1, SkiffCaptureOptions.DefaultSnapLength);
        Command command = new("rxdrop", CommandHelp.WithExamples("Receive and drop every frame, printing pps each second and the median at the end (DPDK rxonly).",
            "skiff rxdrop --driver afpacket --iface eth1 --seconds 10", "skiff rxdrop --driver afxdp --iface eth1 --ip 192.0.2.10 --queues 2 --filter 'ip or not ip'",
            "skiff rxdrop --driver afxdp --iface eth1 --ip 192.0.2.10 --seconds 10 --capture 'tcp port 7'"));
        device.AddTo(command);
        command.Options.Add(queues);
        command.Options.Add(steer);
        command.Options.Add(seconds);
        command.Options.Add(filter);
        command.Options.Add(capture);
        command.Options.Add(captureSnap);
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            int n = result.GetValue(queues);
            if (n is < 1 or > 64)
            {
                error.WriteLine($"skiff rxdrop: --queues must be from 1 to 64, not {n}.");
                return 2;
            }
            string driver = result.GetValue(device.Driver)!;
            string[] steerText = result.GetValue(steer) ?? [];
            List<Ipv4Address> steered = [];
            foreach (string text in steerText)
            {
                if (!Ipv4Address.TryParse(text, out Ipv4Address address) || !address.IsUnicast)
                {
                    error.WriteLine($"skiff rxdrop: --ip '{text}' is not a unicast IPv4 address; write e.g. 10.0.0.2.");
                    return 2;
                }
                steered.Add(address);
            }
            if (driver == "afxdp" && steered.Count == 0)
            {
                error.WriteLine("skiff rxdrop: afxdp steers to Skiff only the addresses it is given and leaves the rest to the kernel: give the frames' destination with --ip A.B.C.D, or use --driver afpacket to see every frame.");
                return 2;
            }
            if (driver != "afxdp" && steered.Count > 0)
            {
                error.WriteLine($"skiff rxdrop: --ip chooses what AF_XDP steers; {driver} sees every frame of the interface, so leave --ip out.");
                return 2;
            }
            List<BpfFilter> filters = [];
            foreach (string expression in result.GetValue(filter) ?? [])
            {
                try
                {
                    filters.Add(BpfFilter.Compile(expression));
                }
                catch (BpfCompileException e)
                {
                    error.WriteLine($"skiff rxdrop: --filter '{expression}': {e.Message}");
                    return 2;
                }
            }
            string? captureFilter = result.GetValue(capture);
            SkiffCaptureOptions? captureOptions = captureFilter is null ? null
                : new SkiffCaptureOptions { Points = CapturePoints.Rx, SnapLength = result.GetValue(captureSnap), Filter = captureFilter.Length == 0 ? null : captureFilter };
            if (captureFilter is { Length: > 0 })
            {
                try
                {
                    BpfFilter.Compile(captureFilter);
                }
                catch (BpfCompileException e)
                {
                    error.WriteLine($"skiff rxdrop: --capture '{captureFilter}': {e.Message}");
                    return 2;
                }
            }
            using StopSignal stop = new();
            // AF_XDP registers each queue's pool as its socket's UMEM: a pool per queue. The others copy into one shared pool.
            List<PacketPool> pools = [.. Enumerable.Range(0, driver == "afxdp" ? n : 1).Select(_ => new PacketPool(driver == "afxdp" ? 8192 : 16384))];
            IReadOnlyList<PacketPool> perQueue = driver == "afxdp" ? pools : [.. Enumerable.Repeat(pools[0], n)];
            OpenedDevice[]? opened = null;
            try
            {
                opened = DriverFactory.TryOpenQueues(driver, result.GetValue(device.Interface)!, perQueue, steered, "skiff rxdrop", error);
                if (opened is null)
                {
                    return DriverFactory.ExitDeviceUnavailable;
                }
                string what = steered.Count == 0 ? "every frame" : $"every frame to {string.Join(", ", steered)}";
                output.WriteLine($"skiff rxdrop: dropping {what} on {opened[0].Description}, {n} queue(s); Ctrl-C to stop");
                if (filters.Count > 0)
                {
                    output.WriteLine($"  RX hooks: {string.Join(", ", filters.Select(f => $"keep '{f.Expression}'"))}");
                }
                if (captureOptions is not null)
                {
                    output.WriteLine($"  capture: rx point, filter '{captureOptions.Filter ?? ""}', snap length {captureOptions.SnapLength}, written to nowhere");
                }
                return Run([.. opened.Select(o => o.Device)], TimeSpan.FromSeconds(result.GetValue(seconds)), output, stop.Token, filters, captureOptions);
            }
            finally
            {
                foreach (OpenedDevice d in opened ?? [])
                {
                    d.Dispose();
                }
                pools.ForEach(p => p.Dispose());
            }
        });
        return command;
    }

    /// <summary>Drops on open devices until the duration passes or <paramref name="stop"/>; prints the median. Exit 0.</summary>
    internal static int Run(IReadOnlyList<IDevice> devices, TimeSpan duration, TextWriter output, CancellationToken stop, IReadOnlyList<BpfFilter>? filters = null,
        SkiffCaptureOptions? capture = null)
    {
        SkiffCapture? attached = null;
        RxDropper dropper = new(devices)
        {
            Attach = capture is null ? null : engines => attached = SkiffCapture.Start(engines, Stream.Null, capture),
            HooksToAdd = engine =>
            {
                foreach (BpfFilter f in filters ?? [])
                {
                    engine.RxHooks.Add($"keep: {f.Expression}", new BpfPassHook(f));
                }
            },
        };
        List<double> rates = dropper.Run(output, duration, stop);
        string perQueue = devices.Count == 1 ? "" : $" ({string.Join(", ", Enumerable.Range(0, devices.Count).Select(q => $"queue {q}: {dropper.ReceivedOn(q)}"))})";
        output.WriteLine($"skiff rxdrop: {dropper.Received} frames{perQueue}; median {(rates.Count == 0 ? 0 : Median(rates)):N0} pps over {rates.Count} s");
        if (attached is not null)
        {
            SkiffCaptureCounters c = attached.Counters;
            output.WriteLine($"  capture: {c.Received} frames seen, {c.FilteredOut} filtered out, {c.Lost} lost (its ring full), {c.Written} written");
        }
        return 0;
    }

    /// <summary>The median of <paramref name="values"/> (the mean of the middle two for an even count). Precondition: not empty.</summary>
    internal static double Median(List<double> values)
    {
        double[] sorted = [.. values];
        Array.Sort(sorted);
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
