namespace Skiff.Wire.Pcap;

/// <summary>
/// Wraps a device and writes every frame it receives or transmits to a pcapng file (tcpdump cannot
/// see bypassed traffic, so Skiff captures itself). Frames are recorded as they cross the wrapper:
/// received ones before the caller sees them, transmitted ones before the inner device takes them.
/// Timestamps are the caller's <c>now</c> plus <see cref="EpochNanos"/>.
/// </summary>
/// <remarks>
/// Writing costs a copy per frame into the file stream; the wrapper allocates nothing per frame. It
/// assumes the IDevice convention that a caller retries refused frames first and in order.
/// </remarks>
public sealed class CaptureDevice : Skiff.Devices.DelegatingDevice, IDisposable
{
    private readonly IDevice _inner;
    private readonly PcapNgWriter _writer;
    private readonly int _interfaceId;
    private int _recordedAhead;

    /// <summary>Wraps <paramref name="inner"/> and adds an Ethernet interface named <paramref name="interfaceName"/> to <paramref name="writer"/>; every frame is recorded under it.</summary>
    /// <param name="inner">The device to watch.</param>
    /// <param name="writer">Where frames go; the caller disposes it after this device.</param>
    /// <param name="interfaceName">The pcapng interface name (if_name).</param>
    public CaptureDevice(IDevice inner, PcapNgWriter writer, string interfaceName)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _inner = inner;
        _writer = writer;
        _interfaceId = writer.AddInterface(LinkType.Ethernet, interfaceName, 0, nanosecond: false);
    }

    /// <summary>Added to each <see cref="Instant"/> to make a wall-clock timestamp (nanoseconds since the Unix epoch). Default 0.</summary>
    public long EpochNanos { get; init; }

    /// <summary>The inner device's capabilities: capturing changes none of them.</summary>
    public override DeviceCapabilities Capabilities => _inner.Capabilities;

    /// <summary>The inner device's pool: capture copies frames into the file and never holds one.</summary>
    public override PacketPool Pool => _inner.Pool;

    /// <summary>Frames written to the capture.</summary>
    public long FramesCaptured { get; private set; }

    /// <summary>Receives a burst from the inner device and writes each frame to the capture, stamped <paramref name="now"/>, before returning it; see <see cref="IDevice.ReceiveBurst"/>.</summary>
    public override int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        int n = _inner.ReceiveBurst(buffers, now);
        for (int i = 0; i < n; i++)
        {
            Record(buffers[i], now);
        }
        return n;
    }

    /// <summary>
    /// Writes each frame to the capture, stamped <paramref name="now"/>, then hands the burst to the inner device; see
    /// <see cref="IDevice.TransmitBurst"/>. Frames refused last time and offered again at the front are not written twice.
    /// </summary>
    public override int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        // Record before handing over: once the inner device owns a frame it may be gone. Frames the device
        // refused last time come back first (callers retry in order), and were recorded already.
        for (int i = Math.Min(_recordedAhead, buffers.Length); i < buffers.Length; i++)
        {
            Record(buffers[i], now);
        }
        int accepted = _inner.TransmitBurst(buffers, now);
        _recordedAhead = buffers.Length - accepted;
        return accepted;
    }

    private void Record(PacketBuffer frame, Instant now)
    {
        _writer.Write(frame.Data, EpochNanos + now.TotalMicros * 1000, _interfaceId);
        FramesCaptured++;
    }

    /// <summary>Flushes the writer so the file holds every frame captured so far. The writer stays open: its owner disposes it.</summary>
    public void Dispose() => _writer.Flush();
}
