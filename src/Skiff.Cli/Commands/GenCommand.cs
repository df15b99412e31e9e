using System.CommandLine;
using Skiff.Cli.Drivers;
using Skiff.Drivers.Linux;
using Skiff.Wire;

namespace Skiff.Cli.Commands;

/// <summary>
/// <c>skiff gen</c>: transmits UDP frames as fast as asked (testpmd's txonly) through a driver, varying the source
/// port over N flows, and prints pps each second (<see cref="TrafficGenerator"/>). Exit 0 when done (time, count or
/// Ctrl-C), 2 for bad arguments, 3 when the device cannot be opened.
/// </summary>
public static class GenCommand
{
    public static Command Create()
    {
        StackOptionSet device = new(withStack: false);
        Option<string> dstMac = new("--dst-mac") { Required = true, Description = "Destination MAC address of every frame." };
        Option<string> dstIp = new("--dst-ip") { Required = true, Description = "Destination IPv4 address of every frame." };
        Option<string> srcIp = new("--src-ip") { Description = "Source IPv4 address. Default 198.18.0.1 (the benchmarking range, RFC 2544).", DefaultValueFactory = _ => "198.18.0.1" };
        Option<string?> mac = new("--mac") { Description = "Source MAC address. Default: the interface's own (afpacket, afxdp) or a random local one (tap)." };
        Option<ushort> dstPort = new("--dst-port") { Description = "UDP destination port. Default 9 (discard).", DefaultValueFactory = _ => (ushort)9 };
        Option<int> size = new("--size") { Description = "Frame length in bytes without the FCS, as testpmd counts it (42 to 1514). Default 64.", DefaultValueFactory = _ => 64 };
        Option<int> flows = new("--flows") { Description = "Flows: UDP source ports 1024, 1025, ... used round-robin. Default 1.", DefaultValueFactory = _ => 1 };
        Option<long> rate = new Option<long>("--rate") { Description = "Frames per second; 0 for as fast as the device takes them. Default 0." }.InRange(0);
        Option<double> seconds = new Option<double>("--seconds") { Description = "Stop after this many seconds; 0 runs until Ctrl-C. Default 0." }.InRange(0);
        Option<long> count = new Option<long>("--count") { Description = "Stop after this many frames; 0 for no limit. Default 0." }.InRange(0);
        Option<string?> xdpLoop = new("--xdp-loop")
        {
            Description = "Instead of a driver's transmit, generate in the kernel with the XDP loop generator (the fastest this kernel allows, for benchmarks): " +
                "give a spare veth pair that is up, as LOOP,PEER; frames leave by --iface. --driver, --rate, --count and --flows do not apply.",
        };
        Command command = new("gen", CommandHelp.WithExamples("Transmit UDP frames as fast as asked over N flows and print pps each second (testpmd txonly).",
            "skiff gen --driver afxdp --iface eth1 --dst-mac 02:00:00:00:00:02 --dst-ip 192.0.2.10 --size 64 --flows 16 --seconds 10", "skiff gen --driver afpacket --iface veth0 --dst-mac 02:00:00:00:00:02 --dst-ip 192.0.2.10 --xdp-loop loop0,loop1 --seconds 10"));
        device.AddTo(command);
        foreach (Option o in new Option[] { dstMac, dstIp, srcIp, mac, dstPort, size, flows, rate, seconds, count, xdpLoop })
        {
            command.Options.Add(o);
        }
        command.SetAction(result =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            const string name = "skiff gen";
            if (!MacAddress.TryParse(result.GetValue(dstMac), out MacAddress destinationMac))
            {
                error.WriteLine($"{name}: --dst-mac '{result.GetValue(dstMac)}' is not a MAC address; write e.g. 02:00:0a:00:00:02.");
                return 2;
            }
            if (!Ipv4Address.TryParse(result.GetValue(dstIp), out Ipv4Address destination) || !Ipv4Address.TryParse(result.GetValue(srcIp), out Ipv4Address source))
            {
                error.WriteLine($"{name}: --dst-ip and --src-ip take IPv4 addresses; write e.g. 10.0.0.2.");
                return 2;
            }
            MacAddress? sourceMac = null;
            if (result.GetValue(mac) is string m)
            {
                if (!MacAddress.TryParse(m, out MacAddress parsed) || !parsed.IsUnicast)
                {
                    error.WriteLine($"{name}: --mac '{m}' is not a unicast MAC address; write e.g. 02:00:0a:00:00:01.");
                    return 2;
                }
                sourceMac = parsed;
            }
            using StopSignal stop = new();
            if (result.GetValue(xdpLoop) is string loop)
            {
                string iface = result.GetValue(device.Interface)!;
                string[] pair = loop.Split(',');
                if (pair.Length != 2 || pair.Any(string.IsNullOrWhiteSpace))
                {
                    error.WriteLine($"{name}: --xdp-loop '{loop}' must name the two ends of a spare veth pair as LOOP,PEER (ip link add LOOP type veth peer name PEER).");
                    return 2;
                }
                GenSettings loopSettings = new()
                {
                    SourceMac = sourceMac ?? ReadMac(iface) ?? StackHost.RandomLocalMac(),
                    DestinationMac = destinationMac,
                    SourceAddress = source,
                    DestinationAddress = destination,
                    DestinationPort = result.GetValue(dstPort),
                    FrameBytes = result.GetValue(size),
                    Duration = TimeSpan.FromSeconds(result.GetValue(seconds)),
                };
                return RunXdpLoop(iface, pair[0].Trim(), pair[1].Trim(), loopSettings, output, error, stop.Token);
            }
            using PacketPool pool = new(8192);
            using OpenedDevice? opened = DriverFactory.TryOpen(new DriverFactory.Request(result.GetValue(device.Driver)!, result.GetValue(device.Interface)!, pool), name, error);
            if (opened is null)
            {
                return DriverFactory.ExitDeviceUnavailable;
            }
            GenSettings settings = new()
            {
                SourceMac = sourceMac ?? opened.HardwareAddress ?? StackHost.RandomLocalMac(),
                DestinationMac = destinationMac,
                SourceAddress = source,
                DestinationAddress = destination,
                DestinationPort = result.GetValue(dstPort),
                FrameBytes = result.GetValue(size),
                Flows = result.GetValue(flows),
                RatePps = result.GetValue(rate),
                Duration = TimeSpan.FromSeconds(result.GetValue(seconds)),
                Count = result.GetValue(count),
            };
            return Run(opened.Device, opened.Description, settings, output, error, stop.Token);
        });
        return command;
    }

    /// <summary>
    /// The XDP loop generator (<see cref="XdpLoopFrameGenerator"/>) out of <paramref name="iface"/>, its frames circulating
    /// in the spare veth pair <paramref name="loop"/>/<paramref name="peer"/>; pinned to the calling thread's first CPU.
    /// Prints pps each second and the median. Exit 0, 2 for a bad frame size, 3 when the kernel refuses the setup.
    /// </summary>
    internal static int RunXdpLoop(string iface, string loop, string peer, GenSettings settings, TextWriter output, TextWriter error, CancellationToken stop)
    {
        byte[] frame;
        try
        {
            frame = TrafficGenerator.BuildFrame(settings);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"skiff gen: {e.Message}");
            return 2;
        }
        try
        {
            using XdpLoopFrameGenerator generator = new(iface, frame, loop, peer);
            output.WriteLine($"skiff gen: XDP loop generator, {settings.FrameBytes}-byte UDP frames {settings.SourceAddress} -> {settings.DestinationAddress}:{settings.DestinationPort} out of {iface}, circulating in {loop}/{peer}");
            List<double> rates = [];
            long total = generator.Run(settings.Duration, cpu: -1, (second, frames) =>
            {
                rates.Add(frames);
                output.WriteLine($"  {second,6} s  {frames,12:N0} pps");
                output.Flush();
            }, stop);
            output.WriteLine($"skiff gen: {total} frames sent by the XDP loop");
            if (rates.Count > 0)
            {
                output.WriteLine($"skiff gen: median {RxDropCommand.Median(rates):N0} pps over {rates.Count} s");
            }
            return 0;
        }
        catch (DriverException e)
        {
            error.WriteLine($"skiff gen: {e.Message}");
            return DriverFactory.ExitDeviceUnavailable;
        }
    }

    private static MacAddress? ReadMac(string iface)
    {
        try
        {
            return MacAddress.TryParse(File.ReadAllText($"/sys/class/net/{iface}/address").Trim(), out MacAddress mac) ? mac : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Runs the generator on an open device; returns the exit code.</summary>
    internal static int Run(IDevice device, string description, GenSettings settings, TextWriter output, TextWriter error, CancellationToken stop)
    {
        TrafficGenerator generator;
        try
        {
            generator = new TrafficGenerator(device, settings);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"skiff gen: {e.Message}");
            return 2;
        }
        output.WriteLine($"skiff gen: {settings.FrameBytes}-byte UDP frames {settings.SourceAddress} -> {settings.DestinationAddress}:{settings.DestinationPort} ({settings.SourceMac} -> {settings.DestinationMac}), {settings.Flows} flow(s), {(settings.RatePps > 0 ? settings.RatePps + " pps" : "full rate")} on {description}");
        List<double> rates = generator.Run(output, stop);
        if (rates.Count > 0)
        {
            output.WriteLine($"skiff gen: median {RxDropCommand.Median(rates):N0} pps over {rates.Count} s");
        }
        return 0;
    }
}
