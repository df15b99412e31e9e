using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// A Skiff <see cref="Stack.Interface"/> over a device, with its poll loop on the real clock: what <c>serve</c>,
/// <c>send</c> and <c>fetch</c> run on. Open it from settings (a driver) or from a device (tests use the in-memory link).
/// </summary>
internal sealed class StackHost : IDisposable
{
    private readonly OpenedDevice? _opened;
    private readonly PacketPool? _pool;

    /// <summary>Hosts <paramref name="iface"/> over <paramref name="device"/>; disposing closes <paramref name="opened"/>, then frees <paramref name="pool"/>.</summary>
    public StackHost(Interface iface, IDevice device, OpenedDevice? opened = null, PacketPool? pool = null)
    {
        Interface = iface;
        Device = device;
        _opened = opened;
        _pool = pool;
        Loop = new PollLoop(iface, device, new MonotonicClock());
    }

    public Interface Interface { get; }

    public IDevice Device { get; }

    public PollLoop Loop { get; }

    /// <summary>The banner line describing the device.</summary>
    public string DeviceDescription => _opened?.Description ?? Device.ToString() ?? "device";

    /// <summary>Opens the driver and builds the interface; on failure writes a sentence to <paramref name="error"/> and returns null.</summary>
    public static StackHost? TryOpen(StackSettings settings, string command, TextWriter error)
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
            Interface iface = new(new InterfaceOptions
            {
                Mac = mac,
                Addresses = [settings.Address],
                Gateway = settings.Gateway,
                // The device's MTU, but no more than a pool frame holds.
                MtuBytes = Math.Clamp(opened.Device.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, pool.FrameBytes - pool.HeadroomBytes - 18),
            }, opened.Device.Pool);
            return new StackHost(iface, opened.Device, opened, pool);
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
        _opened?.Dispose();
        _pool?.Dispose();
    }
}
