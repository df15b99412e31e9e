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
    private readonly OpenedDevice? _opened;
    private readonly PacketPool? _pool;
    private readonly SkiffEngine[] _engines;

    /// <summary>
    /// Hosts <paramref name="iface"/> over <paramref name="device"/> on one engine (not started: <see cref="Loop"/> runs it on
    /// the command's thread); disposing stops the engine, closes <paramref name="opened"/>, then frees <paramref name="pool"/>.
    /// </summary>
    public StackHost(Interface iface, IDevice device, OpenedDevice? opened = null, PacketPool? pool = null)
        : this([iface], device, opened, pool)
    {
    }

    private StackHost(Interface[] interfaces, IDevice device, OpenedDevice? opened, PacketPool? pool, SkiffIdlePolicy? idle = null)
    {
        Device = device;
        _opened = opened;
        _pool = pool;
        int cores = interfaces.Length;
        if (cores > 1)
        {
            Rss = new SoftwareRss(device, new FlowSteering(cores));
        }
        _engines = new SkiffEngine[cores];
        for (int i = 0; i < cores; i++)
        {
            IDevice queue = Rss?.Queue(i) ?? device;
            _engines[i] = new SkiffEngine(interfaces[i], queue, new SkiffEngineOptions { Queue = i, ThreadName = $"skiff-cli-{i}", Idle = idle ?? new SkiffIdlePolicy() });
            Rss?.SetWaker(i, _engines[i].Wake);
        }
        Loop = new PollLoop(_engines[0]);
    }

    /// <summary>Core 0's interface.</summary>
    public Interface Interface => _engines[0].Interface;

    public IDevice Device { get; }

    /// <summary>Core 0's engine (its RX and TX hooks, its metrics); <see cref="Loop"/> runs it.</summary>
    public SkiffEngine Engine => _engines[0];

    /// <summary>Every core's engine, by queue.</summary>
    public IReadOnlyList<SkiffEngine> Engines => _engines;

    /// <summary>The software RSS spreading the device over the cores, or null with one core.</summary>
    public SoftwareRss? Rss { get; }

    public PollLoop Loop { get; }

    /// <summary>The banner line describing the device.</summary>
    public string DeviceDescription => _opened?.Description ?? Device.ToString() ?? "device";

    /// <summary>Opens the driver and builds one interface per core; on failure writes a sentence to <paramref name="error"/> and returns null.</summary>
    public static StackHost? TryOpen(StackSettings settings, string command, TextWriter error, int cores = 1, SkiffIdlePolicy? idle = null)
    {
        PacketPool pool = new(16384);
        OpenedDevice? opened = DriverFactory.TryOpen(new DriverFactory.Request(settings.Driver, settings.InterfaceName, pool, SteerAddresses: [settings.Address.Address]), command, error);
        if (opened is null)
        {
            pool.Dispose();
            return null;
        }
        MacAddress mac = settings.Mac ?? opened.HardwareAddress ?? RandomLocalMac();
        try
        {
            InterfaceOptions options = new()
            {
                Mac = mac,
                Addresses = [settings.Address],
                Gateway = settings.Gateway,
                // The device's MTU, but no more than a pool frame holds.
                MtuBytes = Math.Clamp(opened.Device.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, pool.FrameBytes - pool.HeadroomBytes - 18),
                // One secret for every core: SYN cookies and ISNs are the host's, whichever core a segment reaches.
                SecretKey = Interface.NewSecretKey(),
            };
            Interface[] interfaces = new Interface[cores];
            for (int i = 0; i < cores; i++)
            {
                // Only core 0 announces the address.
                interfaces[i] = new Interface(i == 0 ? options : options with { GratuitousArp = false }, opened.Device.Pool);
            }
            return new StackHost(interfaces, opened.Device, opened, pool, idle);
        }
        catch (ArgumentException e)
        {
            error.WriteLine($"{command}: {e.Message}");
            opened.Dispose();
            pool.Dispose();
            return null;
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
        _opened?.Dispose();
        _pool?.Dispose();
    }
}
