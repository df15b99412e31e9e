using System.Net;
using System.Net.NetworkInformation;

namespace Skiff.Drivers.Linux;

/// <summary>
/// Opens a Linux device by its driver name: <c>afxdp</c> (<see cref="AfXdpDevice"/>), <c>afpacket</c>
/// (<see cref="AfPacketDevice"/>) or <c>tap</c> (<see cref="TapDevice"/>). What the <c>skiff</c> command's
/// <c>--driver</c> option and the Kestrel transport open. Every failure, a missing privilege, interface or kernel
/// feature included, is a <see cref="DriverException"/> whose message is a sentence saying what to do.
/// </summary>
public static class LinuxDevices
{
    /// <summary>The driver names <see cref="Open"/> accepts, fastest first.</summary>
    public static IReadOnlyList<string> DriverNames { get; } = ["afxdp", "afpacket", "tap"];

    /// <summary>
    /// Opens <paramref name="driver"/> on <paramref name="interfaceName"/> (for tap: the TAP interface to create or
    /// attach to) over <paramref name="pool"/>, in the calling thread's network namespace.
    /// </summary>
    /// <param name="driver">One of <see cref="DriverNames"/>.</param>
    /// <param name="interfaceName">The interface.</param>
    /// <param name="pool">Where received frames go and transmitted frames come from; must outlive the device.</param>
    /// <param name="queue">The queue this device serves (AF_XDP queue id; stamped on frames). Default 0.</param>
    /// <param name="queueCount">How many devices share the interface (more than one: AF_PACKET fanout, TAP multi-queue; AF_XDP queues are opened together with <see cref="OpenQueues"/>). Default 1.</param>
    /// <param name="steerAddresses">The addresses Skiff owns; AF_XDP steers only frames for them (and ARP about them) to Skiff. Default none.</param>
    /// <returns>The open device; dispose it to close it (the pool stays the caller's).</returns>
    /// <exception cref="DriverException">The driver name is unknown or the device could not be opened; the message says what to do.</exception>
    public static LinuxDevice Open(string driver, string interfaceName, PacketPool pool, int queue = 0, int queueCount = 1,
        IReadOnlyList<IPAddress>? steerAddresses = null)
    {
        ArgumentNullException.ThrowIfNull(driver);
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(pool);
        try
        {
            switch (driver)
            {
                case "tap":
                {
                    TapDevice tap = new(new TapOptions { Name = interfaceName, MultiQueue = queueCount > 1 }, pool);
                    return new LinuxDevice(tap, null, tap.ToString());
                }
                case "afpacket":
                {
                    AfPacketDevice device = new(new AfPacketOptions
                    {
                        InterfaceName = interfaceName,
                        QueueId = (ushort)queue,
                        FanoutMode = queueCount > 1 ? AfPacketFanoutMode.Hash : null,
                        FanoutGroupId = (ushort)(Environment.ProcessId & 0xFFFF),
                    }, pool);
                    return new LinuxDevice(device, new PhysicalAddress(device.HardwareAddress.ToArray()), device.ToString());
                }
                case "afxdp":
                {
                    if (queueCount > 1)
                    {
                        throw new DriverException($"AF_XDP queues of one interface share one XDP program: open all {queueCount} together with LinuxDevices.OpenQueues (AfXdpDevice.OpenQueues).");
                    }
                    AfXdpDevice device = new(new AfXdpOptions
                    {
                        InterfaceName = interfaceName,
                        QueueId = queue,
                        SteerAddresses = steerAddresses ?? [],
                    }, pool);
                    string description = $"af_xdp:{interfaceName} queue {queue} ({device.AttachMode}, {(device.IsZeroCopy ? "zero-copy" : "copy")})";
                    return new LinuxDevice(device, ReadSysfsMac(interfaceName), description);
                }
                default:
                    throw new DriverException($"There is no driver named '{driver}'; choose one of {string.Join(", ", DriverNames)}.");
            }
        }
        catch (Exception e) when (e is ArgumentException or UnauthorizedAccessException or DllNotFoundException or PlatformNotSupportedException)
        {
            throw new DriverException($"{e.Message} Check the interface name and run as root (or with CAP_NET_RAW/CAP_NET_ADMIN).");
        }
    }

    /// <summary>
    /// Opens <paramref name="pools"/>.Count queues of one interface, queue <c>i</c> over <c>pools[i]</c>: AF_XDP sockets
    /// sharing one XDP program that steers each receiving queue to its socket (<see cref="AfXdpDevice.OpenQueues"/>;
    /// every queue needs a pool of its own, its UMEM), the members of one AF_PACKET fanout group (hash), or TAP
    /// multi-queue devices. One queue is <see cref="Open"/>. On failure every queue opened so far is closed.
    /// </summary>
    /// <exception cref="DriverException">The driver name is unknown or a queue could not be opened; the message says what to do.</exception>
    public static LinuxDevice[] OpenQueues(string driver, string interfaceName, IReadOnlyList<PacketPool> pools, IReadOnlyList<IPAddress>? steerAddresses = null)
    {
        ArgumentNullException.ThrowIfNull(driver);
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(pools);
        if (pools.Count == 0)
        {
            throw new ArgumentException("Give at least one pool: one per queue.", nameof(pools));
        }
        if (driver != "afxdp" || pools.Count == 1)
        {
            List<LinuxDevice> opened = [];
            try
            {
                for (int q = 0; q < pools.Count; q++)
                {
                    opened.Add(Open(driver, interfaceName, pools[q], q, pools.Count, steerAddresses));
                }
            }
            catch
            {
                opened.ForEach(d => d.Dispose());
                throw;
            }
            return [.. opened];
        }
        if (pools.Distinct().Count() != pools.Count)
        {
            throw new DriverException("AF_XDP registers each queue's pool as that socket's UMEM: give every queue a pool of its own.");
        }
        AfXdpDevice[] devices;
        try
        {
            devices = AfXdpDevice.OpenQueues(new AfXdpOptions { InterfaceName = interfaceName, SteerAddresses = steerAddresses ?? [] }, pools.Count, pools);
        }
        catch (Exception e) when (e is ArgumentException or UnauthorizedAccessException or DllNotFoundException or PlatformNotSupportedException)
        {
            throw new DriverException($"{e.Message} Check the interface name and run as root (or with CAP_NET_RAW/CAP_NET_ADMIN).");
        }
        PhysicalAddress? mac = ReadSysfsMac(interfaceName);
        return [.. devices.Select((d, q) => new LinuxDevice(d, mac, $"af_xdp:{interfaceName} queue {q} of {pools.Count} ({d.AttachMode}, {(d.IsZeroCopy ? "zero-copy" : "copy")})"))];
    }

    /// <summary>
    /// How many receive queues <paramref name="interfaceName"/> has (its receive plus combined channels, ETHTOOL_GCHANNELS),
    /// asked in the calling thread's network namespace: what <see cref="OpenQueues"/> can bind AF_XDP sockets to.
    /// 1 when the driver does not report channels (it has one queue as far as Skiff can tell).
    /// </summary>
    /// <exception cref="DriverException">There is no such interface here; the message says what to check.</exception>
    public static unsafe int ReceiveQueueCount(string interfaceName)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        byte[] name = System.Text.Encoding.UTF8.GetBytes(interfaceName);
        if (name.Length is 0 or > 15)
        {
            throw new DriverException($"'{interfaceName}' is not an interface name (1 to 15 bytes); check the name with `ip link`.");
        }
        int fd = Interop.Libc.Socket(Interop.Tun.AF_INET, Interop.Tun.SOCK_DGRAM | Interop.Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw DriverException.FromLastError("socket(AF_INET, SOCK_DGRAM) to ask for the interface's queues", "Check that this process may open sockets.");
        }
        try
        {
            Interop.Ethtool.Channels channels = new() { Cmd = Interop.Ethtool.ETHTOOL_GCHANNELS };
            Interop.Ethtool.IfReqData ifr = default;
            name.CopyTo(new Span<byte>(ifr.Name, 16));
            ifr.Data = &channels;
            if (Interop.Libc.Ioctl(fd, Interop.Ethtool.SIOCETHTOOL, &ifr) == 0)
            {
                return (int)Math.Max(1, channels.RxCount + channels.CombinedCount);
            }
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == ENODEV)
            {
                throw new DriverException($"There is no interface '{interfaceName}' in this network namespace; check the name with `ip link`.");
            }
            return 1; // EOPNOTSUPP and friends: the driver keeps no channels, so it has one queue.
        }
        finally
        {
            Interop.Libc.Close(fd);
        }
    }

    private const int ENODEV = 19;

    /// <summary>
    /// The interface's MAC from sysfs, or null. sysfs shows the namespace it was mounted in (<c>ip netns exec</c>
    /// remounts it), so a thread that only entered a namespace may not find the interface there: callers fall back.
    /// </summary>
    private static PhysicalAddress? ReadSysfsMac(string interfaceName)
    {
        try
        {
            string text = File.ReadAllText($"/sys/class/net/{interfaceName}/address").Trim();
            if (!PhysicalAddress.TryParse(text, out PhysicalAddress? mac))
            {
                return null;
            }
            byte[] bytes = mac.GetAddressBytes();
            // A usable station address: six bytes, unicast (I/G bit clear), not all zero.
            return bytes.Length == 6 && (bytes[0] & 1) == 0 && bytes.Any(b => b != 0) ? mac : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
