namespace Skiff.Devices;

/// <summary>
/// The base of device middleware (impairment, capture, tracing): a device that wraps another and, unless it overrides
/// a member, passes on what the wrapped device can do: its capabilities, pool and bursts, the descriptor an idle loop
/// sleeps on and whether frames wait in user-space memory (<see cref="IWaitableDevice"/>), and when frames it holds
/// fall due (<see cref="PollAt"/>). Without this, wrapping an AF_XDP device in an impairment would make the engine
/// sleep on a timer instead of poll(2).
/// </summary>
/// <remarks>Thread-safety and ownership are the wrapped device's (see <see cref="IDevice"/>); a wrapper adds its own rules in its docs.</remarks>
public abstract class DelegatingDevice : IDevice, IWaitableDevice
{
    /// <summary>Wraps <paramref name="inner"/>.</summary>
    protected DelegatingDevice(IDevice inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        Inner = inner;
    }

    /// <summary>The wrapped device.</summary>
    public IDevice Inner { get; }

    /// <inheritdoc />
    public virtual DeviceCapabilities Capabilities => Inner.Capabilities;

    /// <inheritdoc />
    public virtual PacketPool Pool => Inner.Pool;

    /// <inheritdoc />
    public virtual int ReceiveBurst(Span<PacketBuffer> buffers, Instant now) => Inner.ReceiveBurst(buffers, now);

    /// <inheritdoc />
    public virtual int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now) => Inner.TransmitBurst(buffers, now);

    /// <summary>The wrapped device's descriptor to poll for POLLIN, or -1 when it has none (the loop then sleeps on a timer).</summary>
    public virtual int ReceiveWaitDescriptor => Inner is IWaitableDevice w ? w.ReceiveWaitDescriptor : -1;

    /// <summary>True when the wrapped device has frames waiting in user-space memory, where poll(2) would not see them.</summary>
    public virtual bool HasBufferedReceive => Inner is IWaitableDevice w && w.HasBufferedReceive;

    /// <summary>
    /// The earliest instant at which a frame this device (or a middleware it wraps) holds falls due, so that the loop
    /// polls it then even without news; <see cref="Instant.Never"/> when it holds nothing. This base holds nothing itself.
    /// </summary>
    public virtual Instant PollAt(Instant now) => Inner is DelegatingDevice d ? d.PollAt(now) : Instant.Never;
}
