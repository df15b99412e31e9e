using Skiff.Rings;

namespace Skiff.Devices;

/// <summary>
/// One end of an <see cref="InMemoryLink"/>: a device whose transmit ring is the peer's receive ring
/// (gVisor's channel endpoint, a veth pair without the kernel). Frames cross by reference: the
/// <see cref="PacketBuffer"/> the sender transmits is the object the receiver gets, bytes uncopied.
/// </summary>
/// <remarks>
/// <para>Ownership: <see cref="TransmitBurst"/> takes the frames it accepts; the peer's
/// <see cref="ReceiveBurst"/> hands them to its caller, who frees them (to <see cref="PacketBuffer.Pool"/>,
/// which may be the sender's pool). Frames still in a ring when the link is dropped stay in use:
/// call <see cref="DiscardPending"/> on both ends to free them.</para>
/// <para>Thread-safety: one thread per end (it may both receive and transmit); the two ends may run
/// on different threads. Counters may be read from any thread (values may lag by one burst).</para>
/// <para>Bursts are capped at <see cref="DeviceCapabilities.MaxBurst"/>. No method allocates.</para>
/// </remarks>
public sealed class InMemoryDevice : IDevice
{
    private readonly SpscRing<PacketBuffer> _rx;
    private readonly SpscRing<PacketBuffer> _tx;
    private readonly ChecksumState _receiveChecksum;
    private long _rxPackets;
    private long _rxBytes;
    private long _txPackets;
    private long _txBytes;
    private long _txFull;

    internal InMemoryDevice(PacketPool pool, SpscRing<PacketBuffer> rx, SpscRing<PacketBuffer> tx, DeviceCapabilities capabilities, ChecksumState receiveChecksum)
    {
        Pool = pool;
        _rx = rx;
        _tx = tx;
        Capabilities = capabilities;
        _receiveChecksum = receiveChecksum;
    }

    /// <summary>What <see cref="InMemoryLink.CreatePair(PacketPool, int, DeviceCapabilities?, ChecksumState)"/> was given; both ends of a link report the same.</summary>
    public DeviceCapabilities Capabilities { get; }

    /// <summary>The pool this end's transmit frames should come from. Received frames may belong to the peer's pool.</summary>
    public PacketPool Pool { get; }

    /// <summary>Frames received (handed to the caller by <see cref="ReceiveBurst"/>).</summary>
    public long RxPackets => Volatile.Read(ref _rxPackets);

    /// <summary>Data bytes of the frames received.</summary>
    public long RxBytes => Volatile.Read(ref _rxBytes);

    /// <summary>Frames accepted by <see cref="TransmitBurst"/>.</summary>
    public long TxPackets => Volatile.Read(ref _txPackets);

    /// <summary>Data bytes of the frames accepted for transmission.</summary>
    public long TxBytes => Volatile.Read(ref _txBytes);

    /// <summary>Frames <see cref="TransmitBurst"/> refused because the peer's receive ring was full (frames beyond <see cref="DeviceCapabilities.MaxBurst"/> are not counted).</summary>
    public long TxFull => Volatile.Read(ref _txFull);

    /// <summary>Frames waiting in this end's receive ring (a snapshot if the peer is transmitting).</summary>
    public int ReceivePending => _rx.Count;

    /// <summary>
    /// Takes up to min(<paramref name="buffers"/>.Length, MaxBurst) frames sent by the peer, oldest
    /// first; returns how many (0 when none). Each is stamped <see cref="PacketBuffer.Timestamp"/> =
    /// <paramref name="now"/> and <see cref="PacketBuffer.Checksum"/> = the link's receive checksum
    /// state. The caller owns them.
    /// </summary>
    public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        if (buffers.Length > Capabilities.MaxBurst)
        {
            buffers = buffers[..Capabilities.MaxBurst];
        }
        int n = _rx.DequeueBurst(buffers);
        long bytes = 0;
        for (int i = 0; i < n; i++)
        {
            PacketBuffer b = buffers[i];
            b.Timestamp = now;
            b.Checksum = _receiveChecksum;
            bytes += b.Length;
        }
        // Single writer (this end's thread); the volatile writes let other threads read the counters.
        Volatile.Write(ref _rxPackets, _rxPackets + n);
        Volatile.Write(ref _rxBytes, _rxBytes + bytes);
        return n;
    }

    /// <summary>
    /// Hands the leading frames of <paramref name="buffers"/> (at most MaxBurst) to the peer; returns
    /// how many it took, which is fewer when the peer's ring is full (counted in <see cref="TxFull"/>).
    /// The caller keeps, and must retry or free, the rest. <paramref name="now"/> is not used.
    /// </summary>
    public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        if (buffers.Length > Capabilities.MaxBurst)
        {
            buffers = buffers[..Capabilities.MaxBurst];
        }
        // Sum lengths first: once enqueued, a frame belongs to the peer's thread and may already be freed.
        long bytes = 0;
        foreach (PacketBuffer b in buffers)
        {
            bytes += b.Length;
        }
        int n = _tx.EnqueueBurst(buffers);
        for (int i = n; i < buffers.Length; i++)
        {
            bytes -= buffers[i].Length; // refused frames are still the caller's: safe to read
        }
        Volatile.Write(ref _txPackets, _txPackets + n);
        Volatile.Write(ref _txBytes, _txBytes + bytes);
        if (n < buffers.Length)
        {
            Volatile.Write(ref _txFull, _txFull + (buffers.Length - n));
        }
        return n;
    }

    /// <summary>Frees every frame waiting in this end's receive ring (to each frame's own pool) without counting it as received; returns how many. This end's thread only.</summary>
    public int DiscardPending()
    {
        int discarded = 0;
        while (_rx.TryDequeue(out PacketBuffer? b))
        {
            b.Free();
            discarded++;
        }
        return discarded;
    }
}
