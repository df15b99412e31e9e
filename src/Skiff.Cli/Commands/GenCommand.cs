using System.CommandLine;
using Skiff.Cli.Drivers;
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
        Option<long> rate = new("--rate") { Description = "Frames per second; 0 for as fast as the device takes them. Default 0." };
        Option<double> seconds = new("--seconds") { Description = "Stop after this many seconds; 0 runs until Ctrl-C. Default 0." };
        Option<long> count = new("--count") { Description = "Stop after this many frames; 0 for no limit. Default 0." };
        Command command = new("gen", "Transmit UDP frames as fast as asked over N flows and print pps each second (testpmd txonly).");
        device.AddTo(command);
        foreach (Option o in new Option[] { dstMac, dstIp, srcIp, mac, dstPort, size, flows, rate, seconds, count })
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
            if (result.GetValue(rate) < 0 || result.GetValue(seconds) < 0 || result.GetValue(count) < 0)
            {
                error.WriteLine($"{name}: --rate, --seconds and --count cannot be negative.");
                return 2;
            }
            using StopSignal stop = new();
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
