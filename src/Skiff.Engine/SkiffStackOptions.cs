using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Engine;

/// <summary>
/// Everything a <see cref="SkiffStack"/> is built from, in the Microsoft.Extensions.Options style: an
/// immutable record with documented defaults, validated by <see cref="Validate"/> when the stack is built.
/// </summary>
public sealed record SkiffStackOptions
{
    /// <summary>The interface's MAC address. Required.</summary>
    public required MacAddress Mac { get; init; }

    /// <summary>The interface's addresses with their prefixes; the first is the primary. Required, at least one.</summary>
    public required IReadOnlyList<Ipv4Cidr> Addresses { get; init; }

    /// <summary>Default gateway. Default none (only on-link destinations are reachable).</summary>
    public Ipv4Address? Gateway { get; init; }

    /// <summary>
    /// IPv6 (docs/ipv6.md): static addresses, link-local, SLAAC, NDP. Default null: IPv4 only. With it, listeners and UDP
    /// sockets on every address take both families (dual-stack); with several cores IPv6 runs on core 0 only.
    /// </summary>
    public Skiff.Stack.Ipv6.Ipv6Options? Ipv6 { get; init; }

    /// <summary>MTU in bytes. Default 1500.</summary>
    public int MtuBytes { get; init; } = 1500;

    /// <summary>Frames in the packet pool the builder creates when it creates the device too (<see cref="SkiffStackBuilder.UseDevice(Func{PacketPool, IDevice})"/>). Default 16384 (32 MiB of 2 KiB frames).</summary>
    public int PoolFrames { get; init; } = 16384;

    /// <summary>Bounds and policies of the TCP layer (connections, backlog, TIME-WAIT). Default <see cref="TcpLayerOptions"/>'s defaults.</summary>
    public TcpLayerOptions Tcp { get; init; } = new();

    /// <summary>Per-connection TCP settings (buffers, Nagle, congestion control). Default <see cref="TcpConfig.Default"/>.</summary>
    public TcpConfig TcpConfig { get; init; } = TcpConfig.Default;

    /// <summary>Bytes a connection's input pipe buffers before the loop stops moving received data into it (then the TCP window closes). Default 1 MiB.</summary>
    public int InputPauseThresholdBytes { get; init; } = 1024 * 1024;

    /// <summary>Bytes a connection's output pipe buffers before the application's FlushAsync waits for the loop. Default 1 MiB.</summary>
    public int OutputPauseThresholdBytes { get; init; } = 1024 * 1024;

    /// <summary>
    /// How long <see cref="SkiffConnection.DisposeAsync"/> waits for written data to drain before it gives up and resets
    /// the connection (SO_LINGER with a timeout): a peer that never opens its window then cannot hold a disposal
    /// forever. Default null: wait until everything written has been handed to TCP.
    /// </summary>
    public TimeSpan? LingerTimeout { get; init; }

    /// <summary>Secret for ISNs and SYN cookies. Default null: a random one.</summary>
    public UInt128? SecretKey { get; init; }

    /// <summary>The loop thread's settings (every core's). Default <see cref="SkiffEngineOptions"/>'s defaults.</summary>
    public SkiffEngineOptions Engine { get; init; } = new();

    /// <summary>
    /// Poll loops, one per core, each with its own stack instance (ARP cache, connections, timers): shared
    /// nothing. With more than one over a single-queue device, queue 0's core spreads received frames to the
    /// others by flow hash (software RSS, <see cref="Rss.SoftwareRss"/>). Default 1.
    /// </summary>
    public int Cores { get; init; } = 1;

    /// <summary>The CPU each core's loop is pinned to (one entry per core); null: <see cref="SkiffEngineOptions.PinToCpu"/> with one core, else not pinned. Default null.</summary>
    public IReadOnlyList<int>? PinToCpus { get; init; }

    /// <summary>The interface options these settings describe.</summary>
    public InterfaceOptions ToInterfaceOptions() => new()
    {
        Mac = Mac,
        Addresses = Addresses,
        Gateway = Gateway,
        MtuBytes = MtuBytes,
        Tcp = Tcp,
        SecretKey = SecretKey,
        Ipv6 = Ipv6,
    };

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence naming the bad setting.</summary>
    public void Validate()
    {
        if (Addresses is null || Addresses.Count == 0)
        {
            throw new ArgumentException("SkiffStackOptions.Addresses is empty; give the stack at least one address, such as 10.0.0.1/24.");
        }
        if (PoolFrames < 64)
        {
            throw new ArgumentException($"PoolFrames {PoolFrames} is too small; give at least 64 frames.");
        }
        if (InputPauseThresholdBytes < 4096 || OutputPauseThresholdBytes < 4096)
        {
            throw new ArgumentException("InputPauseThresholdBytes and OutputPauseThresholdBytes must be at least 4096.");
        }
        if (LingerTimeout is TimeSpan linger && linger < TimeSpan.Zero)
        {
            throw new ArgumentException($"LingerTimeout {linger} is negative; give zero or more, or null to wait for the drain.");
        }
        if (Cores is < 1 or > 64)
        {
            throw new ArgumentException($"Cores {Cores} is out of range; give 1 to 64 (one poll loop per core).");
        }
        if (PinToCpus is not null && PinToCpus.Count != Cores)
        {
            throw new ArgumentException($"PinToCpus has {PinToCpus.Count} entries for {Cores} cores; give one CPU per core.");
        }
        if (Cores > 1 && Engine?.PinToCpu is not null)
        {
            throw new ArgumentException("Engine.PinToCpu pins one loop; with several cores set PinToCpus, one CPU per core.");
        }
        ArgumentNullException.ThrowIfNull(Tcp);
        ArgumentNullException.ThrowIfNull(TcpConfig);
        ArgumentNullException.ThrowIfNull(Engine);
        Tcp.Validate();
        TcpConfig.Validate();
        Engine.Validate();
        ToInterfaceOptions().Validate();
    }
}
