using System.Net;
using Skiff.Drivers.Linux;
using Skiff.Engine;
using Skiff.Engine.Control;
using Skiff.Wire;

namespace Skiff.Kestrel.Internal;

/// <summary>
/// The stack Kestrel serves on, made from <see cref="SkiffTransportOptions"/> on first use and, when the transport
/// made it, disposed with the transport: the stack first (the engine stops and returns every buffer), then the
/// Linux device, then its pool.
/// </summary>
internal sealed class StackHolder : IDisposable
{
    private readonly SkiffTransportOptions _options;
    private readonly Lock _lock = new();
    private SkiffStack? _stack;
    private bool _ownsStack;
    private LinuxDevice? _device;
    private PacketPool? _pool;
    private SkiffControlServer? _control;
    private bool _disposed;

    public StackHolder(SkiffTransportOptions options)
    {
        _options = options;
    }

    /// <summary>One line saying what the stack runs on, once it exists.</summary>
    public string Description { get; private set; } = "";

    /// <summary>The stack, made on the first call. Throws <see cref="SkiffTransportException"/> or <see cref="DriverException"/> with what to do.</summary>
    public SkiffStack Get()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_stack is null)
            {
                _stack = Create();
                if (_options.ControlSocket)
                {
                    // A socket that cannot be made is a SkiffControlException with a sentence; the transport does not start.
                    _control = _stack.StartControlServer(_options.ControlSocketPath);
                    Description += $"; counters and capture: skiff stats --socket {_control.Path}";
                }
            }
            return _stack;
        }
    }

    private SkiffStack Create()
    {
        SkiffTransportOptions o = _options;
        // Validated when the host started; checked again for options changed since (they are mutable).
        if (SkiffTransportOptionsValidator.Failures(o) is [string first, ..])
        {
            throw new SkiffTransportException(first);
        }
        if (o.Stack is not null)
        {
            Description = o.Stack.ToString();
            return o.Stack;
        }
        if (o.DeviceFactory is not null)
        {
            SkiffStack built = SkiffStack.CreateBuilder(o.StackOptions!).UseDevice(o.DeviceFactory).Build();
            _ownsStack = true;
            Description = $"{built} on {built.Device}";
            return built;
        }
        return OpenLinux(o);
    }

    private SkiffStack OpenLinux(SkiffTransportOptions o)
    {
        string driver = o.Driver!;
        Ipv4Cidr address = o.Address!.Value;
        PacketPool pool = new(o.PoolFrames);
        LinuxDevice? device = null;
        try
        {
            device = LinuxDevices.Open(driver, o.InterfaceName!, pool, steerAddresses: [new IPAddress(ToBytes(address.Address))]);
            MacAddress mac = o.Mac
                ?? (device.HardwareAddress?.GetAddressBytes() is { Length: 6 } bytes ? MacAddress.Read(bytes) : RandomLocalMac());
            SkiffStackOptions stackOptions = new()
            {
                Mac = mac,
                Addresses = [address],
                Gateway = o.Gateway,
                // The device's MTU, but no more than a pool frame holds.
                MtuBytes = Math.Clamp(device.Device.Capabilities.MtuBytes is > 0 and int m ? m : 1500, 576, pool.FrameBytes - pool.HeadroomBytes - 18),
                PoolFrames = o.PoolFrames,
            };
            if (o.ConfigureStack is not null)
            {
                stackOptions = o.ConfigureStack(stackOptions)
                    ?? throw new SkiffTransportException("SkiffTransportOptions.ConfigureStack returned null; return the options record.");
            }
            SkiffStack stack;
            try
            {
                stack = SkiffStack.CreateBuilder(stackOptions).UseDevice(device.Device).Build();
            }
            catch (ArgumentException e)
            {
                throw new SkiffTransportException(e.Message, e);
            }
            _device = device;
            _pool = pool;
            _ownsStack = true;
            Description = $"{device.Description}, {address}, MAC {mac}";
            return stack;
        }
        catch
        {
            device?.Dispose();
            pool.Dispose();
            throw;
        }
    }

    private static byte[] ToBytes(Ipv4Address address)
    {
        byte[] bytes = new byte[4];
        address.Write(bytes);
        return bytes;
    }

    /// <summary>A random locally administered unicast MAC (02:xx:xx:xx:xx:xx).</summary>
    private static MacAddress RandomLocalMac() => new(0x0200_0000_0000UL | (ulong)Random.Shared.NextInt64(1, 1L << 40));

    public void Dispose()
    {
        SkiffStack? stack;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            stack = _ownsStack ? _stack : null;
            _stack = null;
        }
        _control?.Dispose(); // before the stack: a capture attached through it ends cleanly
        stack?.Dispose();
        _device?.Dispose();
        _pool?.Dispose();
    }
}
