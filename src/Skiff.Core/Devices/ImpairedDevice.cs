using Skiff.Devices.Internal;

namespace Skiff.Devices;

/// <summary>
/// Wraps any <see cref="IDevice"/> and impairs its frames as a bad wire would: loss, duplication, single-bit
/// corruption, reordering, delay with jitter, a rate limit and a bounded queue (smoltcp's fault injector plus
/// Linux netem, which this machine's kernel lacks). Seeded and deterministic: the same options, seed and calls
/// give the same outcome. See <see cref="ImpairmentOptions"/> for the stages and their order.
/// </summary>
/// <remarks>
/// <para>Ownership: on an impaired direction <see cref="TransmitBurst"/> accepts every frame (it returns
/// <c>buffers.Length</c>); a frame it drops is freed by the wrapper, as a lossy wire would. Frames held for delay,
/// reordering or the rate limit are owned by the wrapper until handed on or freed by <see cref="Dispose"/>. When the
/// inner device refuses frames, they stay queued here in order and count against
/// <see cref="ImpairmentOptions.QueueLimitFrames"/>. A direction that is not impaired passes calls straight through,
/// backpressure included.</para>
/// <para>Time: held frames move only inside calls. <see cref="ReceiveBurst"/> and <see cref="TransmitBurst"/> release
/// what is due at their <c>now</c>; <see cref="Flush"/> does it without sending anything new; <see cref="PollAt()"/>
/// says when to come back.</para>
/// <para>Checksums: a corrupted frame's <see cref="PacketBuffer.Checksum"/> is cleared. When transmit corruption is on,
/// <see cref="Capabilities"/> reports no transmit checksum offload, so the stack fills checksums in itself and a peer
/// that verifies them can see the damage. A peer device that claims receive verification (an in-memory link) will
/// still trust a frame corrupted on transmit: corrupt on the receive side for such a peer.</para>
/// <para>Thread-safety: like any device, one thread at a time. Not thread-safe. Disposing does not dispose the
/// inner device, which the caller still owns.</para>
/// </remarks>
public sealed class ImpairedDevice : DelegatingDevice, IDisposable
{
    private readonly IDevice _inner;
    private readonly ImpairmentPipeline? _transmit;
    private readonly ImpairmentPipeline? _receive;
    private readonly ImpairmentCounters _transmitPassThrough = new();
    private readonly ImpairmentCounters _receivePassThrough = new();
    private readonly TimedFrame[] _stagingEntries;
    private readonly PacketBuffer[] _stagingFrames;
    private bool _disposed;

    /// <summary>Wraps <paramref name="inner"/>. Allocates its queues (<see cref="ImpairmentOptions.QueueLimitFrames"/>
    /// entries per impaired direction) now, none later.</summary>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="ImpairmentOptions"/>).</exception>
    public ImpairedDevice(IDevice inner, ImpairmentOptions options)
        : base(inner)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _inner = inner;
        Options = options;
        DeviceCapabilities caps = inner.Capabilities;
        int burst = Math.Max(1, caps.MaxBurst);
        _stagingEntries = new TimedFrame[burst];
        _stagingFrames = new PacketBuffer[burst];
        if ((options.Directions & ImpairmentDirections.Transmit) != 0)
        {
            _transmit = new ImpairmentPipeline(options, 0, caps.MaxFrameBytes);
            if (options.CorruptProbability > 0)
            {
                caps = caps with { TxChecksum = ChecksumOffloads.None };
            }
        }
        if ((options.Directions & ImpairmentDirections.Receive) != 0)
        {
            _receive = new ImpairmentPipeline(options, 1, caps.MaxFrameBytes);
        }
        Capabilities = caps;
    }


    /// <summary>The settings this device was built with.</summary>
    public ImpairmentOptions Options { get; }

    /// <summary>The inner device's capabilities, without transmit checksum offload when transmit corruption is on.</summary>
    public override DeviceCapabilities Capabilities { get; }

    /// <summary>The inner device's pool.</summary>
    public override PacketPool Pool => _inner.Pool;

    /// <summary>What happened to transmitted frames. On a direction that is not impaired only <see cref="ImpairmentCounters.Passed"/> moves.</summary>
    public ImpairmentCounters TransmitCounters => _transmit?.Counters ?? _transmitPassThrough;

    /// <summary>What happened to received frames. On a direction that is not impaired only <see cref="ImpairmentCounters.Passed"/> moves.</summary>
    public ImpairmentCounters ReceiveCounters => _receive?.Counters ?? _receivePassThrough;

    /// <summary>Frames the wrapper holds now, both directions (delayed, reordered, rate-limited or refused by the inner device).</summary>
    public int HeldFrames => (_transmit?.HeldFrames ?? 0) + (_receive?.HeldFrames ?? 0);

    /// <summary>
    /// Pulls what the inner device has received into the receive impairments, then returns up to
    /// <c>buffers.Length</c> frames that are due at <paramref name="now"/>, oldest due first, each stamped with
    /// <paramref name="now"/> as its <see cref="PacketBuffer.Timestamp"/> (when it "arrived"). Frames beyond the
    /// queue limit are dropped and counted; once the queue is full the rest stay in the inner device.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public override int ReceiveBurst(Span<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_receive is null)
        {
            int n = _inner.ReceiveBurst(buffers, now);
            _receivePassThrough.Passed += n;
            return n;
        }

        _receive.ReleaseExpiredHolds(now);
        PullFromInner(now);

        int count = 0;
        while (count < buffers.Length && _receive.TryTakeReady(now, out TimedFrame entry))
        {
            entry.Frame.Timestamp = now;
            buffers[count++] = entry.Frame;
        }
        _receive.CountPassed(count);
        return count;
    }

    /// <summary>
    /// Takes every frame in <paramref name="buffers"/> through the transmit impairments and hands the frames due at
    /// <paramref name="now"/> to the inner device. Returns <c>buffers.Length</c> on an impaired direction: the wrapper
    /// owns them all (lost and over-limit frames are freed). On a direction that is not impaired it returns what the
    /// inner device accepted. Precondition: no null entries.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public override int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_transmit is null)
        {
            int n = _inner.TransmitBurst(buffers, now);
            _transmitPassThrough.Passed += n;
            return n;
        }

        // Release what is already due first: it makes room and it was sent earlier.
        PushTransmit(now);
        for (int i = 0; i < buffers.Length; i++)
        {
            _transmit.Admit(buffers[i], now);
        }
        PushTransmit(now);
        return buffers.Length;
    }

    /// <summary>
    /// Hands held transmit frames that are due at <paramref name="now"/> to the inner device and releases expired
    /// reorder holds in both directions (received frames are then returned by the next <see cref="ReceiveBurst"/>).
    /// Call it at <see cref="PollAt()"/> when there is nothing new to send.
    /// </summary>
    /// <exception cref="ObjectDisposedException">After <see cref="Dispose"/>.</exception>
    public void Flush(Instant now)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _receive?.ReleaseExpiredHolds(now);
        if (_transmit is not null)
        {
            PushTransmit(now);
        }
    }

    /// <summary>
    /// The earliest instant at which a held frame becomes due (on transmit: call <see cref="Flush"/> then; on receive:
    /// call <see cref="ReceiveBurst"/>), or <see cref="Instant.Never"/> when nothing is held. It may be in the past
    /// when due frames are waiting (for example because the inner device refused them). It knows nothing of frames
    /// still inside the inner device.
    /// </summary>
    public Instant PollAt()
    {
        Instant at = Instant.Never;
        if (_transmit is not null)
        {
            at = Instant.Min(at, _transmit.PollAt());
        }
        if (_receive is not null)
        {
            at = Instant.Min(at, _receive.PollAt());
        }
        return at;
    }

    /// <summary>The earliest of <see cref="PollAt()"/> and what the wrapped middleware holds: the engine polls the device then.</summary>
    public override Instant PollAt(Instant now) => Instant.Min(PollAt(), base.PollAt(now));

    /// <summary>Frees every held frame back to its pool. Idempotent. The inner device is not disposed.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _transmit?.FreeAll();
        _receive?.FreeAll();
        Array.Clear(_stagingFrames);
        Array.Clear(_stagingEntries);
    }

    private void PushTransmit(Instant now)
    {
        ImpairmentPipeline tx = _transmit!;
        tx.ReleaseExpiredHolds(now);
        while (true)
        {
            int n = 0;
            while (n < _stagingFrames.Length && tx.TryTakeReady(now, out _stagingEntries[n]))
            {
                _stagingFrames[n] = _stagingEntries[n].Frame;
                n++;
            }
            if (n == 0)
            {
                return;
            }
            int accepted = Math.Clamp(_inner.TransmitBurst(_stagingFrames.AsSpan(0, n), now), 0, n);
            tx.CountPassed(accepted);
            for (int i = n - 1; i >= accepted; i--)
            {
                tx.PutBack(_stagingEntries[i]);
            }
            Array.Clear(_stagingFrames, 0, n);
            Array.Clear(_stagingEntries, 0, n);
            if (accepted < n)
            {
                return;
            }
        }
    }

    private void PullFromInner(Instant now)
    {
        ImpairmentPipeline rx = _receive!;
        // Bounded so an inner device that never runs dry cannot keep us here.
        int budget = Options.QueueLimitFrames;
        while (budget > 0 && !rx.IsFull)
        {
            int ask = Math.Min(_stagingFrames.Length, budget);
            int got = _inner.ReceiveBurst(_stagingFrames.AsSpan(0, ask), now);
            for (int i = 0; i < got; i++)
            {
                rx.Admit(_stagingFrames[i], now);
                _stagingFrames[i] = null!;
            }
            budget -= got;
            if (got < ask)
            {
                return;
            }
        }
    }
}
