using System.CommandLine;
using Skiff.Cli.Drivers;

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
        Option<int> queues = new("--queues") { Description = "Queues (one device and thread each; AF_PACKET fanout, TAP multi-queue). Default 1.", DefaultValueFactory = _ => 1 };
        Option<double> seconds = new("--seconds") { Description = "Stop after this many seconds; 0 runs until Ctrl-C. Default 0." };
        Command command = new("rxdrop", "Receive and drop every frame, printing pps each second and the median at the end (DPDK rxonly).");
        device.AddTo(command);
        command.Options.Add(queues);
        command.Options.Add(seconds);
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
            if (result.GetValue(seconds) < 0)
            {
                error.WriteLine("skiff rxdrop: --seconds cannot be negative.");
                return 2;
            }
            if (result.GetValue(device.Driver) == "afxdp")
            {
                output.WriteLine("skiff rxdrop: note: afxdp steers only the addresses Skiff owns to Skiff, and rxdrop owns none; use --driver afpacket to drop everything.");
            }
            using StopSignal stop = new();
            using PacketPool pool = new(16384);
            List<OpenedDevice> opened = [];
            try
            {
                for (int q = 0; q < n; q++)
                {
                    OpenedDevice? d = DriverFactory.TryOpen(new DriverFactory.Request(result.GetValue(device.Driver)!, result.GetValue(device.Interface)!, pool, q, n), "skiff rxdrop", error);
                    if (d is null)
                    {
                        return DriverFactory.ExitDeviceUnavailable;
                    }
                    opened.Add(d);
                }
                output.WriteLine($"skiff rxdrop: dropping every frame on {opened[0].Description}, {n} queue(s); Ctrl-C to stop");
                return Run([.. opened.Select(o => o.Device)], TimeSpan.FromSeconds(result.GetValue(seconds)), output, stop.Token);
            }
            finally
            {
                foreach (OpenedDevice d in opened)
                {
                    d.Dispose();
                }
            }
        });
        return command;
    }

    /// <summary>Drops on open devices until the duration passes or <paramref name="stop"/>; prints the median. Exit 0.</summary>
    internal static int Run(IReadOnlyList<IDevice> devices, TimeSpan duration, TextWriter output, CancellationToken stop)
    {
        RxDropper dropper = new(devices);
        List<double> rates = dropper.Run(output, duration, stop);
        output.WriteLine($"skiff rxdrop: {dropper.Received} frames; median {(rates.Count == 0 ? 0 : Median(rates)):N0} pps over {rates.Count} s");
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
