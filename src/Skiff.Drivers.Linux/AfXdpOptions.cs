using System.Net;

namespace Skiff.Drivers.Linux;

/// <summary>How an <see cref="AfXdpDevice"/> opens its interface queue.</summary>
public sealed record AfXdpOptions
{
    /// <summary>The interface, in the calling thread's network namespace. Required.</summary>
    public required string InterfaceName { get; init; }

    /// <summary>The receive/transmit queue the socket binds to. Default 0.</summary>
    public int QueueId { get; init; }

    /// <summary>
    /// The IPv4 addresses Skiff owns: IPv4 frames to them and ARP frames asking for them go to Skiff; everything
    /// else goes to the kernel. Empty: Skiff receives nothing (every frame passes to the kernel). 0.0.0.0 (IPAddress.Any):
    /// every frame goes to Skiff (a forwarder).
    /// </summary>
    public IReadOnlyList<IPAddress> SteerAddresses { get; init; } = [];

    /// <summary>RX ring entries (a power of two). Default 2048.</summary>
    public int RxRingSize { get; init; } = 2048;

    /// <summary>TX ring entries (a power of two). Default 2048.</summary>
    public int TxRingSize { get; init; } = 2048;

    /// <summary>Fill ring entries (a power of two). Default 2048.</summary>
    public int FillRingSize { get; init; } = 2048;

    /// <summary>Completion ring entries (a power of two). Default 2048.</summary>
    public int CompletionRingSize { get; init; } = 2048;

    /// <summary>
    /// Frames kept in the fill ring for the kernel to receive into, counting received frames not yet taken off the RX
    /// ring (at most the fill ring size). Default: the fill ring plus the RX ring size (the fill ring stays full while
    /// frames wait on the RX ring) or half the pool, whichever is smaller, so the stack always has frames to transmit from.
    /// </summary>
    public int? FillFrames { get; init; }

    /// <summary>Zero-copy or copy mode. Default <see cref="AfXdpCopyMode.Auto"/> (zero-copy first).</summary>
    public AfXdpCopyMode CopyMode { get; init; } = AfXdpCopyMode.Auto;

    /// <summary>How the XDP program attaches. Default <see cref="XdpAttachMode.Auto"/> (native first).</summary>
    public XdpAttachMode AttachMode { get; init; } = XdpAttachMode.Auto;

    /// <summary>
    /// XDP_USE_NEED_WAKEUP: the kernel says when it needs a syscall to make progress, so a busy poller makes one
    /// only then. Default true.
    /// </summary>
    public bool UseNeedWakeup { get; init; } = true;

    /// <summary>Largest L3 packet; 1500 by default. Must fit a frame after the 256-byte headroom.</summary>
    public int MtuBytes { get; init; } = 1500;

    /// <summary>Frames of the pool the device creates when it is not given one. Default 8192 (16 MiB of 2 KiB frames).</summary>
    public int FrameCount { get; init; } = 8192;

    /// <summary>Receives one line per setup decision (attach mode, copy mode). Default none.</summary>
    public Action<string>? Log { get; init; }
}
