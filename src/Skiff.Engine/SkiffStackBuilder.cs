namespace Skiff.Engine;

/// <summary>
/// Builds a <see cref="SkiffStack"/>: options, then a device, then <see cref="Build"/>. Not thread-safe;
/// use it from one thread, once.
/// </summary>
public sealed class SkiffStackBuilder
{
    private SkiffStackOptions _options;
    private IDevice? _device;
    private IReadOnlyList<IDevice>? _devices;
    private Func<PacketPool, IDevice>? _deviceFactory;

    internal SkiffStackBuilder(SkiffStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Changes the options (records compose with <c>with</c>: <c>o => o with { MtuBytes = 9000 }</c>).</summary>
    public SkiffStackBuilder Configure(Func<SkiffStackOptions, SkiffStackOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _options = configure(_options) ?? throw new ArgumentException("The configure callback returned null; return the options record.");
        return this;
    }

    /// <summary>Uses an existing device and its <see cref="IDevice.Pool"/> (the stack owns neither; <see cref="SkiffStackOptions.PoolFrames"/> is not used).</summary>
    public SkiffStackBuilder UseDevice(IDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        _device = device;
        _devices = null;
        _deviceFactory = null;
        return this;
    }

    /// <summary>
    /// Uses one device per core, each a queue of one interface (the members of an AF_PACKET fanout group, TAP
    /// multi-queue devices); core <c>i</c> polls <c>devices[i]</c> with that device's pool. Their count must equal
    /// <see cref="SkiffStackOptions.Cores"/>. The stack owns none of them. See <see cref="Rss.QueueMesh"/>.
    /// </summary>
    public SkiffStackBuilder UseDevices(IReadOnlyList<IDevice> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Count == 0 || devices.Any(d => d is null))
        {
            throw new ArgumentException("Give one device per core, none null.", nameof(devices));
        }
        _devices = [.. devices];
        _device = null;
        _deviceFactory = null;
        return this;
    }

    /// <summary>Creates a pool of <see cref="SkiffStackOptions.PoolFrames"/> frames and the device over it; the stack owns both and disposes them.</summary>
    public SkiffStackBuilder UseDevice(Func<PacketPool, IDevice> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        _deviceFactory = factory;
        _device = null;
        _devices = null;
        return this;
    }

    /// <summary>
    /// Validates the options, creates the interface and starts the engine's loop thread. Throws
    /// <see cref="ArgumentException"/> for invalid options and <see cref="InvalidOperationException"/> when no device was given.
    /// </summary>
    public SkiffStack Build()
    {
        _options.Validate();
        if (_devices is not null)
        {
            if (_devices.Count != _options.Cores)
            {
                throw new ArgumentException($"{_devices.Count} devices for {_options.Cores} cores: set SkiffStackOptions.Cores to the number of queue devices.");
            }
            return new SkiffStack(_options, _devices, _devices[0].Pool, ownsDevice: false);
        }
        if (_device is not null)
        {
            return new SkiffStack(_options, _device, _device.Pool, ownsDevice: false);
        }
        if (_deviceFactory is null)
        {
            throw new InvalidOperationException("No device was given; call UseDevice before Build.");
        }
        PacketPool pool = new(_options.PoolFrames);
        IDevice device;
        try
        {
            device = _deviceFactory(pool) ?? throw new InvalidOperationException("The device factory returned null; return a device.");
        }
        catch
        {
            pool.Dispose();
            throw;
        }
        return new SkiffStack(_options, device, pool, ownsDevice: true);
    }
}
