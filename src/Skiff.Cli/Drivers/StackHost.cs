using Skiff.Engine;
using Skiff.Engine.Rss;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// A Skiff <see cref="Stack.Interface"/> over a device on an engine loop: what <c>serve</c>, <c>send</c> and <c>fetch</c>
/// run on. With several cores, the device is spread over one engine per core by software RSS (each with its own
/// interface, one secret for all); core 0's engine runs on the command's thread (<see cref="Loop"/>), the others on
/// their own. Open it from settings (a driver) or from a device (tests use the in-memory link).
/// </summary>
internal sealed class StackHost : IDisposable
{
    private readonly OpenedDevice[] _opened;
    private readonly PacketPool[] _pools;
    private readonly SkiffEngine[] _engines;

    /// <summary>
    /// Hosts <paramref name="iface"/> over <paramref name="device"/> on one engine (not started: <see cref="Loop"/> runs it on
    /// the command's thread); disposing stops the engine, closes <paramref name="opened"/>, then frees <paramref name="pool"/>.
    /// </summary>
    public StackHost(Interface iface, IDevice device, OpenedDevice? opened = null, PacketPool? pool = null)
        : this([iface], [device], opened is null ? [] : [opened], pool is null ? [] : [pool])
    {
    }

    /// <summary>
    /// One engine per interface: over <paramref name="devices"/>[0] spread by software RSS when there is one device, or
    /// one device per core joined by a <see cref="QueueMesh"/> (AF_XDP queues, an AF_PACKET fanout group).
    /// </summary>
    private StackHost(Interface[] interfaces, IDevice[] devices, OpenedDevice[] opened, PacketPool[] pools, SkiffIdlePolicy? idle = null)
    {
        Device = devices[0];
        _opened = opened;
        _pools = pools;
        int cores = interfaces.Length;
        if (devices.Length > 1)
        {
            Mesh = new QueueMesh(devices, interfaces[0].Options.Tcp.EphemeralPortFirst, interfaces[0].Options.Tcp.EphemeralPortLast);
        }
        else if (cores > 1)
        {
            Rss = new SoftwareRss(devices[0], new FlowSteering(cores));
        }
        _engines = new SkiffEngine[cores];
        for (int i = 0; i < cores; i++)
        {
            IDevice queue = Mesh?.Queue(i) ?? Rss?.Queue(i) ?? devices[0];
            _engines[i] = new SkiffEngine(interfaces[i], queue, new SkiffEngineOptions { Queue = i, ThreadName = $"skiff-cli-{i}", Idle = idle ?? new SkiffIdlePolicy() });
            Rss?.SetWaker(i, _engines[i].Wake);
            Mesh?.SetWaker(i, _engines[i].Wake);
        }
        Loop = new PollLoop(_engines[0]);
    }

    /// <summary>Core 0's interface.</summary>
    public Interface Interface => _engines[0].Interface;

    /// <summary>The device (core 0's queue, with one device per core).</summary>
    public IDevice Device { get; }

    /// <summary>Core 0's engine (its RX and TX hooks, its metrics); <see cref="Loop"/> runs it.</summary>
    public SkiffEngine Engine => _engines[0];

    /// <summary>Every core's engine, by queue.</summary>
    public IReadOnlyList<SkiffEngine> Engines => _engines;

    /// <summary>The software RSS spreading the device over the cores, or null (one core, or one device per core).</summary>
    public SoftwareRss? Rss { get; }

    /// <summary>The mesh joining one device queue per core, or null (one core, or software RSS).</summary>
    public QueueMesh? Mesh { get; }

    public PollLoop Loop { get; }

    /// <summary>The banner line describing the device.</summary>
    public string DeviceDescription => _opened.Length > 0 ? _opened[0].Description : Device.ToString() ?? "device";

    /// <summary>How the cores share the device, for the banner: "2 cores (AF_PACKET fanout)"; empty with one core.</summary>
    public string CoresDescription { get; private set; } = "";

    /// <summary>
    /// Opens the driver and builds one interface per core; on failure writes a sentence to <paramref name="error"/> and
    /// returns null. With several cores, <paramref name="spreading"/> picks software RSS or the device's own queues.
    /// </summary>
    public static StackHost? TryOpen(StackSettings settings, string command, TextWriter error, int cores = 1, SkiffIdlePolicy? idle = null,
        CoreSpreading spreading = CoreSpreading.Auto)
    {
        string? why = null;
        bool queues = cores > 1 && UseDeviceQueues(settings, cores, spreading, out why);
        // AF_XDP registers each queue's pool as its socket's UMEM: a pool per queue. The other drivers copy into one shared pool.
        bool poolPerQueue = queues && settings.Driver == "afxdp";
        PacketPool[] pools = [.. Enumerable.Range(0, poolPerQueue ? cores : 1).Select(_ => new PacketPool(poolPerQueue ? 8192 : 16384))];
        OpenedDevice[]? opened = queues
            ? DriverFactory.TryOpenQueues(settings.Driver, settings.InterfaceName, poolPerQueue ? pools : [.. Enumerable.Repeat(pools[0], cores)],
                [settings.Address.Address], command, error)
            : DriverFactory.TryOpen(new DriverFactory.Request(settings.Driver, settings.InterfaceName, pools[0], SteerAddresses: [settings.Address.Address],
                SteerIpv6: Ipv6Steering(settings)), command, error)
                is OpenedDevice one ? [one] : null;
        if (opened is null)
        {
            Array.ForEach(pools, p => p.Dispose());
            return null;
        }
        IDevice first = opened[0].Device;
        MacAddress mac = settings.Mac ?? opened[0].HardwareAddress ?? RandomLocalMac();
        try
        {
            InterfaceOptions options = new()
            {
                Mac = mac,
                Addresses = [settings.Address],
                Gateway = settings.Gateway,
                // The device's MTU, but no more than a pool frame holds.
                MtuBytes = Math.Clamp(first.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, pools[0].FrameBytes - pools[0].HeadroomBytes - 18),
                // One secret for every core: SYN cookies and ISNs are the host's, whichever core a segment reaches.
                SecretKey = Interface.NewSecretKey(),
                Ipv6 = settings.Ipv6 is { Count: > 0 } v6 ? new Skiff.Stack.Ipv6.Ipv6Options { Addresses = v6 } : null,
            };
            Interface[] interfaces = new Interface[cores];
            for (int i = 0; i < cores; i++)
            {
                // Only core 0 announces the address; IPv6 (phase 1 of issue 16) runs on core 0 alone.
                InterfaceOptions core = i == 0 ? options : options with { GratuitousArp = false, Ipv6 = null };
                if (queues)
                {
                    // The device's hash is unknown: the mesh partitions ephemeral ports (port % cores) and passes each port's segments to its core.
                    int k = i;
                    core = core with { Tcp = core.Tcp with { EphemeralPortFilter = t => t.LocalPort % cores == k } };
                }
                interfaces[i] = new Interface(core, opened[queues ? i : 0].Device.Pool);
                interfaces[i].DuplicateAddressDetected += (address, owner) => error.WriteLine(
                    $"{command}: {address} is already used by {owner} on the link (duplicate address detection, RFC 4862); Skiff does not use it. Give --ip6 another address.");
            }
            StackHost host = new(interfaces, [.. opened.Select(o => o.Device)], opened, pools, idle);
            host.CoresDescription = cores == 1 ? "" : queues
                ? $"{cores} cores ({(settings.Driver == "afxdp" ? $"AF_XDP queues 0-{cores - 1}" : settings.Driver == "afpacket" ? "an AF_PACKET fanout group" : "TAP queues")})"
                : $"{cores} cores (software RSS{(why is null ? "" : $": {why}")})";
            return host;
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"{command}: {e.Message}");
            Array.ForEach(opened, o => o.Dispose());
            Array.ForEach(pools, p => p.Dispose());
            return null;
        }
    }

    /// <summary>
    /// What AF_XDP must steer for IPv6: the --ip6 addresses and the link-local one (from --mac or the interface's MAC, read
    /// from sysfs before the device opens), their solicited-node groups and all-nodes. Empty without --ip6.
    /// </summary>
    private static Ipv6Address[] Ipv6Steering(StackSettings settings)
    {
        if (settings.Ipv6 is not { Count: > 0 } v6 || settings.Driver != "afxdp")
        {
            return [];
        }
        List<Ipv6Address> unicast = [.. v6.Select(p => p.Address)];
        string sysfs = $"/sys/class/net/{settings.InterfaceName}/address";
        if (settings.Mac is MacAddress m || (File.Exists(sysfs) && MacAddress.TryParse(File.ReadAllText(sysfs).Trim(), out m)))
        {
            unicast.Add(Skiff.Stack.Ipv6.Ipv6Options.LinkLocalFor(m));
        }
        return [.. unicast, .. unicast.Select(a => a.SolicitedNode), Ipv6Address.AllNodes];
    }

    /// <summary>
    /// Whether <paramref name="cores"/> cores get a device queue each: always for <see cref="CoreSpreading.Device"/>, never
    /// for <see cref="CoreSpreading.Software"/>; <see cref="CoreSpreading.Auto"/> takes an AF_PACKET fanout group, and AF_XDP
    /// queues when the interface has that many receive queues (else <paramref name="why"/> says why software RSS it is).
    /// </summary>
    private static bool UseDeviceQueues(StackSettings settings, int cores, CoreSpreading spreading, out string? why)
    {
        why = null;
        switch (spreading)
        {
            case CoreSpreading.Device:
                return true;
            case CoreSpreading.Software:
                return false;
        }
        switch (settings.Driver)
        {
            case "afpacket":
                return true;
            case "afxdp":
                int available;
                try
                {
                    available = Skiff.Drivers.Linux.LinuxDevices.ReceiveQueueCount(settings.InterfaceName);
                }
                catch (Skiff.Drivers.Linux.DriverException)
                {
                    return false; // opening the device says what is wrong with the interface
                }
                if (available >= cores)
                {
                    return true;
                }
                why = $"{settings.InterfaceName} has {available} receive queue{(available == 1 ? "" : "s")}";
                return false;
            default:
                why = "a TAP interface is one queue unless created multi-queue";
                return false;
        }
    }

    /// <summary>A random locally administered unicast MAC (02:xx:xx:xx:xx:xx).</summary>
    public static MacAddress RandomLocalMac() => new(0x0200_0000_0000UL | (ulong)Random.Shared.NextInt64(1, 1L << 40));

    public void Dispose()
    {
        // Core 0 last: it carries the other cores' final frames. Stopping returns every frame the stacks hold while the device is still open.
        for (int i = _engines.Length - 1; i >= 0; i--)
        {
            _engines[i].Stop();
        }
        Rss?.DrainAll();
        Mesh?.DrainAll();
        Array.ForEach(_opened, o => o.Dispose());
        Array.ForEach(_pools, p => p.Dispose());
    }
}

/// <summary>How <c>skiff serve --cores N</c> spreads a device over its cores (<c>--rss</c>).</summary>
internal enum CoreSpreading
{
    /// <summary>The device's own queues where they exist (an AF_PACKET fanout group; AF_XDP with enough receive queues), else software RSS.</summary>
    Auto,

    /// <summary>One device, its frames spread by Skiff's software RSS on core 0.</summary>
    Software,

    /// <summary>One device queue per core: AF_XDP queues 0..N-1, an AF_PACKET fanout group, or TAP multi-queue.</summary>
    Device,
}
