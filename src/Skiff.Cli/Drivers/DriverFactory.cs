using System.Net;
using Skiff.Drivers.Linux;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// Opens a device by its <c>--driver</c> name: <c>tap</c> (<see cref="TapDevice"/>), <c>afpacket</c>
/// (<see cref="AfPacketDevice"/>) or <c>afxdp</c>. A failure is a sentence on the error writer saying what to do
/// (run as root, pick another driver, check the interface name); it never throws for a missing privilege or interface.
/// </summary>
internal static class DriverFactory
{
    /// <summary>The names <c>--driver</c> accepts.</summary>
    public static readonly string[] Names = ["afxdp", "afpacket", "tap"];

    /// <summary>Exit code of a command whose device could not be opened.</summary>
    public const int ExitDeviceUnavailable = 3;

    /// <summary>What to open.</summary>
    /// <param name="Driver">One of <see cref="Names"/>.</param>
    /// <param name="InterfaceName">The interface (for tap: the TAP interface to create or attach to).</param>
    /// <param name="Pool">Where received frames go and transmitted frames come from.</param>
    /// <param name="Queue">The queue this device serves (AF_XDP queue id; stamped on frames).</param>
    /// <param name="QueueCount">How many devices share the interface (more than one: AF_PACKET fanout, TAP multi-queue).</param>
    /// <param name="SteerAddresses">The addresses Skiff owns; AF_XDP steers only frames for them (and ARP about them) to Skiff.</param>
    public sealed record Request(string Driver, string InterfaceName, PacketPool Pool, int Queue = 0, int QueueCount = 1, IReadOnlyList<Ipv4Address>? SteerAddresses = null);

    /// <summary>Opens the device, or writes why not to <paramref name="error"/> (prefixed with <paramref name="command"/>) and returns null.</summary>
    public static OpenedDevice? TryOpen(Request request, string command, TextWriter error)
    {
        try
        {
            switch (request.Driver)
            {
                case "tap":
                {
                    TapDevice tap = new(new TapOptions { Name = request.InterfaceName, MultiQueue = request.QueueCount > 1 }, request.Pool);
                    return new OpenedDevice(tap, null, tap.ToString(), tap);
                }
                case "afpacket":
                {
                    AfPacketDevice device = new(new AfPacketOptions
                    {
                        InterfaceName = request.InterfaceName,
                        QueueId = (ushort)request.Queue,
                        FanoutMode = request.QueueCount > 1 ? AfPacketFanoutMode.Hash : null,
                        FanoutGroupId = (ushort)(Environment.ProcessId & 0xFFFF),
                    }, request.Pool);
                    MacAddress mac = MacAddress.Read(device.HardwareAddress);
                    return new OpenedDevice(device, mac, device.ToString(), device);
                }
                case "afxdp":
                {
                    AfXdpDevice device = new(new AfXdpOptions
                    {
                        InterfaceName = request.InterfaceName,
                        QueueId = request.Queue,
                        SteerAddresses = [.. (request.SteerAddresses ?? []).Select(a => IPAddress.Parse(a.ToString()))],
                    }, request.Pool);
                    string description = $"af_xdp:{request.InterfaceName} queue {request.Queue} ({device.AttachMode}, {(device.IsZeroCopy ? "zero-copy" : "copy")})";
                    return new OpenedDevice(device, ReadSysfsMac(request.InterfaceName), description, device);
                }
                default:
                    error.WriteLine($"{command}: unknown driver '{request.Driver}'; choose one of {string.Join(", ", Names)}.");
                    return null;
            }
        }
        catch (DriverException e)
        {
            error.WriteLine($"{command}: cannot open {request.Driver} on {request.InterfaceName}: {e.Message}");
            return null;
        }
        catch (Exception e) when (e is ArgumentException or UnauthorizedAccessException or DllNotFoundException or PlatformNotSupportedException)
        {
            error.WriteLine($"{command}: cannot open {request.Driver} on {request.InterfaceName}: {e.Message} Check the interface name and run as root (or with CAP_NET_RAW/CAP_NET_ADMIN).");
            return null;
        }
    }

    /// <summary>
    /// The interface's MAC from sysfs, or null. sysfs shows the namespace it was mounted in (<c>ip netns exec</c>
    /// remounts it), so a thread that only entered a namespace may not find the interface there: callers fall back.
    /// </summary>
    private static MacAddress? ReadSysfsMac(string interfaceName)
    {
        try
        {
            string text = File.ReadAllText($"/sys/class/net/{interfaceName}/address").Trim();
            return MacAddress.TryParse(text, out MacAddress mac) && mac.IsUnicast && mac != MacAddress.Zero ? mac : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
