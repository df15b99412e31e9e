using System.Net;
using Skiff.Drivers.Linux;
using Skiff.Engine;
using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Samples.LoadBalancer;

/// <summary>Everything the load balancer is started with (the command line's options).</summary>
public sealed record LoadBalancerSettings
{
    /// <summary>afxdp, afpacket or tap.</summary>
    public string Driver { get; init; } = "afxdp";

    /// <summary>The interface Skiff takes over (clients and backends are reached through it).</summary>
    public string InterfaceName { get; init; } = "";

    /// <summary>The load balancer's own address and prefix: the source of health checks and of IP-in-IP packets.</summary>
    public required Ipv4Cidr Address { get; init; }

    /// <summary>The MAC to use; null: the interface's own.</summary>
    public MacAddress? Mac { get; init; }

    /// <summary>The default gateway (the next hop to backends off the link), or null.</summary>
    public Ipv4Address? Gateway { get; init; }

    /// <summary>The balancing itself (VIP, backends, mode, tables); its LocalAddress and LocalMac are filled in when the host opens.</summary>
    public required BalancerOptions Balancer { get; init; }

    /// <summary>The health checks.</summary>
    public HealthCheckOptions HealthCheck { get; init; } = new();

    /// <summary>Frames in the packet pool. Default 16384.</summary>
    public int PoolFrames { get; init; } = 16384;
}

/// <summary>
/// The load balancer on one Skiff engine: a Skiff stack on the interface owns the balancer's address and the VIP (it
/// answers ARP and ping for both, and carries the health checks), the <see cref="Balancer"/> is the first RX hook, and
/// the <see cref="HealthChecker"/> is a stage of the same loop. Built from Skiff's public API only: a driver from
/// <see cref="LinuxDevices.Open"/>, an <see cref="Interface"/>, a <see cref="SkiffEngine"/>.
/// </summary>
public sealed class LoadBalancerHost : IDisposable
{
    private readonly LinuxDevice? _device;
    private readonly PacketPool? _pool;

    /// <summary>Builds the load balancer over <paramref name="device"/> (not owned); the engine is not started.</summary>
    public LoadBalancerHost(LoadBalancerSettings settings, IDevice device, MacAddress mac, IClock? clock = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(device);
        Settings = settings;
        int mtu = Math.Clamp(device.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, device.Pool.FrameBytes - device.Pool.HeadroomBytes - 18);
        Interface = new Interface(new InterfaceOptions
        {
            Mac = mac,
            // The VIP as a /32 of the stack: it answers ARP and ping for it; the hook takes VIP:port before the stack sees it.
            Addresses = [settings.Address, new Ipv4Cidr(settings.Balancer.Vip, 32)],
            Gateway = settings.Gateway,
            MtuBytes = mtu,
        }, device.Pool);
        Balancer = new Balancer(settings.Balancer with { LocalAddress = settings.Address.Address, LocalMac = mac, MtuBytes = mtu });
        HealthChecker = new HealthChecker(Interface, Balancer, settings.HealthCheck with { Gateway = settings.HealthCheck.Gateway ?? settings.Gateway });
        Engine = new SkiffEngine(Interface, device, new SkiffEngineOptions { ThreadName = "skiff-lb", Clock = clock });
        Hook = Engine.RxHooks.Add("maglev", new BalancerHook(Balancer));
        Engine.AddStage(HealthChecker);
    }

    private LoadBalancerHost(LoadBalancerSettings settings, LinuxDevice device, PacketPool pool, MacAddress mac)
        : this(settings, device.Device, mac)
    {
        _device = device;
        _pool = pool;
    }

    /// <summary>
    /// Opens <see cref="LoadBalancerSettings.Driver"/> on the interface in the calling thread's network namespace and
    /// builds the load balancer on it (not started). AF_XDP steers the balancer's address and the VIP to Skiff.
    /// </summary>
    /// <exception cref="DriverException">The device could not be opened; the message says what to do.</exception>
    public static LoadBalancerHost Open(LoadBalancerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        PacketPool pool = new(settings.PoolFrames);
        LinuxDevice? device = null;
        try
        {
            device = LinuxDevices.Open(settings.Driver, settings.InterfaceName, pool, steerAddresses:
                [IPAddress.Parse(settings.Address.Address.ToString()), IPAddress.Parse(settings.Balancer.Vip.ToString())]);
            MacAddress mac = settings.Mac
                ?? (device.HardwareAddress?.GetAddressBytes() is { Length: 6 } bytes ? MacAddress.Read(bytes) : ReadMac(settings.InterfaceName))
                ?? throw new DriverException($"The MAC address of {settings.InterfaceName} is unknown here; give --mac.");
            return new LoadBalancerHost(settings, device, pool, mac);
        }
        catch
        {
            device?.Dispose();
            pool.Dispose();
            throw;
        }
    }

    public LoadBalancerSettings Settings { get; }

    /// <summary>The stack that owns the balancer's address and the VIP.</summary>
    public Interface Interface { get; }

    public Balancer Balancer { get; }

    public HealthChecker HealthChecker { get; }

    public SkiffEngine Engine { get; }

    /// <summary>The balancer's RX hook (its verdict counters).</summary>
    public HookRunner<BalancerHook> Hook { get; }

    /// <summary>The device's description (driver, mode), or empty for a device given by the caller.</summary>
    public string DeviceDescription => _device?.Description ?? "";

    /// <summary>Starts the engine's loop on a thread of its own.</summary>
    public void Start() => Engine.Start();

    /// <summary>A snapshot of the backends for a status line: address, up, usable, frames forwarded. Read from any thread.</summary>
    public IReadOnlyList<(Ipv4Address Address, bool Healthy, bool Usable, long Forwarded)> Backends() =>
        [.. Balancer.Options.Backends.Select((b, i) => (b, Balancer.IsHealthy(i), Balancer.IsUsable(i), Balancer.Counters.Forwarded[i]))];

    /// <summary>
    /// Opens the control socket <c>skiff stats</c> and <c>skiff capture</c> attach to (at <paramref name="path"/>, or
    /// <c>skiff-serve-PID.sock</c> where they look by themselves) and puts the balancer's counters in the Skiff meter
    /// (<see cref="LoadBalancerMetrics"/>), which <c>skiff stats</c> shows under "app". The caller disposes it.
    /// </summary>
    /// <exception cref="Skiff.Engine.Control.SkiffControlException">The socket cannot be made; the message says why.</exception>
    public Skiff.Engine.Control.SkiffControlServer StartControlServer(string? path = null)
    {
        Skiff.Engine.Control.SkiffControlServer server = Skiff.Engine.Control.SkiffControlServer.Start(
            path ?? Skiff.Engine.Control.SkiffControlSockets.Default(Environment.ProcessId), replaceStale: path is null);
        server.Publishers = [Engine.Metrics];
        server.Engines = [Engine];
        LoadBalancerMetrics.Register(Balancer);
        return server;
    }

    public void Dispose()
    {
        Engine.Dispose();
        _device?.Dispose();
        _pool?.Dispose();
    }

    private static MacAddress? ReadMac(string interfaceName)
    {
        string path = $"/sys/class/net/{interfaceName}/address";
        return File.Exists(path) && MacAddress.TryParse(File.ReadAllText(path).Trim(), out MacAddress mac) ? mac : null;
    }
}
