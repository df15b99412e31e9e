namespace Skiff;

/// <summary>
/// A network device in DPDK's burst style: one call moves up to a burst of frames.
/// </summary>
/// <remarks>
/// <para>Ownership: frames returned by <see cref="ReceiveBurst"/> belong to the caller, who must free
/// them or hand them on. <see cref="TransmitBurst"/> takes ownership of the first <c>n</c> frames it
/// reports as accepted; the rest stay with the caller (retry or free them).</para>
/// <para>Thread-safety: a device is used by one thread at a time (one engine loop per queue), unless
/// the implementation says otherwise.</para>
/// <para>Time: <c>now</c> is the caller's clock. Devices that delay frames (impairments)
/// release them by it; receivers stamp <see cref="PacketBuffer.Timestamp"/> with it.</para>
/// </remarks>
public interface IDevice
{
    /// <summary>What the device can carry and do: its MTU, the largest burst it moves, and the checksums it offloads. Fixed for the device's life.</summary>
    DeviceCapabilities Capabilities { get; }

    /// <summary>The pool transmit frames should come from (for AF_XDP it is the UMEM; zero-copy needs it).</summary>
    PacketPool Pool { get; }

    /// <summary>Receives up to <c>buffers.Length</c> frames into <paramref name="buffers"/>; returns how many (0 when none are ready).</summary>
    int ReceiveBurst(Span<PacketBuffer> buffers, Instant now);

    /// <summary>
    /// Queues frames for transmission; returns how many of the first frames it accepted and now owns.
    /// An empty span is a kick (DPDK's zero-packet tx_burst): the device moves frames it already holds
    /// (delayed frames, a TX ring awaiting a wakeup, completions to reap). Pollers call it every round.
    /// </summary>
    int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now);
}
