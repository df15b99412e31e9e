using System.Net;
using Skiff.Drivers.Linux;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Opens a device by its <c>--driver</c> name through <see cref="LinuxDevices.Open"/>. A failure is a sentence on
/// the error writer saying what to do (run as root, pick another driver, check the interface name); it never throws
/// for a missing privilege or interface.
/// </summary>
internal static class DriverFactory
{
    /// <summary>The names <c>--driver</c> accepts.</summary>
    public static readonly string[] Names = [.. LinuxDevices.DriverNames];

    /// <summary>Exit code of a command whose device could not be opened.</summary>
    public const int ExitDeviceUnavailable = 3;

    /// <summary>What to open.</summary>
    /// <param name="Driver">One of <see cref="Names"/>.</param>
    /// <param name="InterfaceName">The interface (for tap: the TAP interface to create or attach to).</param>
    /// <param name="Pool">Where received frames go and transmitted frames come from.</param>
    /// <param name="Queue">The queue this device serves (AF_XDP queue id; stamped on frames).</param>
    /// <param name="QueueCount">How many devices share the interface (more than one: AF_PACKET fanout, TAP multi-queue).</param>
    /// <param name="SteerAddresses">The addresses Skiff owns; AF_XDP steers only frames for them (and ARP about them) to Skiff.</param>
    /// <param name="SteerIpv6">The IPv6 destinations AF_XDP steers to Skiff: its addresses, their solicited-node groups, all-nodes.</param>
    public sealed record Request(string Driver, string InterfaceName, PacketPool Pool, int Queue = 0, int QueueCount = 1, IReadOnlyList<Ipv4Address>? SteerAddresses = null,
        IReadOnlyList<Ipv6Address>? SteerIpv6 = null);

    /// <summary>Opens the device, or writes why not to <paramref name="error"/> (prefixed with <paramref name="command"/>) and returns null.</summary>
    public static OpenedDevice? TryOpen(Request request, string command, TextWriter error)
    {
        if (!Names.Contains(request.Driver))
        {
            error.WriteLine($"{command}: unknown driver '{request.Driver}'; choose one of {string.Join(", ", Names)}.");
            return null;
        }
        try
        {
            LinuxDevice device = LinuxDevices.Open(request.Driver, request.InterfaceName, request.Pool, request.Queue, request.QueueCount,
                [.. (request.SteerAddresses ?? []).Select(a => IPAddress.Parse(a.ToString())), .. (request.SteerIpv6 ?? []).Select(a => IPAddress.Parse(a.ToString()))]);
            return new OpenedDevice(device);
        }
        catch (DriverException e)
        {
            error.WriteLine($"{command}: cannot open {request.Driver} on {request.InterfaceName}: {e.Message}");
            return null;
        }
    }

    /// <summary>
    /// Opens one queue per pool of <paramref name="driver"/> on <paramref name="interfaceName"/> through
    /// <see cref="LinuxDevices.OpenQueues"/> (AF_XDP: one shared program, a pool each), or writes why not and returns null.
    /// </summary>
    public static OpenedDevice[]? TryOpenQueues(string driver, string interfaceName, IReadOnlyList<PacketPool> pools,
        IReadOnlyList<Ipv4Address>? steerAddresses, string command, TextWriter error)
    {
        if (!Names.Contains(driver))
        {
            error.WriteLine($"{command}: unknown driver '{driver}'; choose one of {string.Join(", ", Names)}.");
            return null;
        }
        try
        {
            LinuxDevice[] devices = LinuxDevices.OpenQueues(driver, interfaceName, pools,
                [.. (steerAddresses ?? []).Select(a => IPAddress.Parse(a.ToString()))]);
            return [.. devices.Select(d => new OpenedDevice(d))];
        }
        catch (DriverException e)
        {
            error.WriteLine($"{command}: cannot open {pools.Count} {driver} queue(s) on {interfaceName}: {e.Message}");
            return null;
        }
    }
}
