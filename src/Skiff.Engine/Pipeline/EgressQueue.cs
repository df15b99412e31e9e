using Skiff.QDisc;

namespace Skiff.Engine.Pipeline;

/// <summary>
/// The egress stage of one port (docs/architecture.md, "The engine's loop"): every frame the TX hooks passed goes into the
/// port's root <see cref="QueueDiscipline"/>; the TX burst is filled from its dequeue. Frames the device refuses stay here, at the
/// front of the next burst, and count as requeues (Linux's dev_requeue_skb). Loop thread only; allocates nothing.
/// </summary>
/// <remarks>
/// TCP small queues (<see cref="IEgressBacklog"/>): the stage counts the bytes it holds per sender hash bucket (a frame's
/// <see cref="PacketBuffer.RssHash"/>, which TCP stamps), from the enqueue until the qdisc lets the frame go to the TX burst
/// or drops it (<see cref="IQDiscDropObserver"/>), and measures how many bytes it lets go per millisecond for the limit.
/// </remarks>
internal sealed class EgressQueue : IEgressBacklog, IQDiscDropObserver
{
    /// <summary>Sender hash buckets counted (a power of two).</summary>
    private const int Buckets = 1024;

    /// <summary>The smallest limit: two full Ethernet frames (Linux: two packets).</summary>
    private const int MinLimitBytes = 2 * 1514;

    /// <summary>The largest limit (Linux's tcp_limit_output_bytes, 1 MiB).</summary>
    private const int MaxLimitBytes = 1 << 20;

    private readonly PacketBuffer[] _burst;
    private int _held; // frames at the front of _burst the device refused
    private readonly int[] _queuedBytes = new int[Buckets]; // by sender hash bucket: enqueued, not yet sent or dropped
    private Instant _windowStart;
    private long _windowBytes;    // bytes sent since _windowStart
    private int _lastMillisecond; // bytes sent per millisecond over the last full window
    private int _largestFrame = 1514;

    private readonly Capture.EngineCaptures? _captures;
    private readonly int _port;

    /// <param name="root">The port's root qdisc.</param>
    /// <param name="burst">The most frames one TX burst takes.</param>
    /// <param name="captures">The loop's live captures: what the qdisc drops is offered to their drop point (null: none).</param>
    /// <param name="port">The port, for the captures' records.</param>
    public EgressQueue(QueueDiscipline root, int burst, Capture.EngineCaptures? captures = null, int port = 0)
    {
        Root = root;
        _captures = captures;
        _port = port;
        _burst = new PacketBuffer[burst];
        root.ObserveDrops(this);
    }

    public QueueDiscipline Root { get; }

    /// <inheritdoc />
    public int QueuedBytes(uint txHash) => _queuedBytes[txHash & (Buckets - 1)];

    /// <inheritdoc />
    public int LimitBytes => Math.Clamp(_lastMillisecond, Math.Max(MinLimitBytes, 2 * _largestFrame), MaxLimitBytes);

    /// <summary>Queues <paramref name="frames"/> (ownership passes: the qdisc frees what it drops).</summary>
    public void Enqueue(Span<PacketBuffer> frames, Instant now)
    {
        foreach (PacketBuffer frame in frames)
        {
            if (frame.RssHash != 0)
            {
                _queuedBytes[frame.RssHash & (Buckets - 1)] += frame.Length; // before the enqueue: a drop there subtracts
            }
            Root.Enqueue(frame, now);
        }
    }

    /// <summary>A frame the qdisc drops leaves its sender's backlog, and a drop capture records it with its cause.</summary>
    void IQDiscDropObserver.OnDropped(PacketBuffer frame)
    {
        if (frame.RssHash != 0)
        {
            _queuedBytes[frame.RssHash & (Buckets - 1)] -= frame.Length;
        }
        if (_captures?.InUse is Capture.CaptureTap[] taps)
        {
            _captures.Dropped(taps, frame, Skiff.Stack.DropReason.QDiscDropped, _port, inbound: false);
        }
    }

    /// <summary>A frame the qdisc let go leaves its sender's backlog; the bytes let go per millisecond set the limit.</summary>
    private void Left(PacketBuffer frame, Instant now)
    {
        int length = frame.Length;
        if (frame.RssHash != 0)
        {
            _queuedBytes[frame.RssHash & (Buckets - 1)] -= length;
        }
        _largestFrame = Math.Max(_largestFrame, length);
        _windowBytes += length;
        long elapsed = (now - _windowStart).TotalMicros;
        if (elapsed >= 1000)
        {
            _lastMillisecond = (int)Math.Min(_windowBytes * 1000 / elapsed, int.MaxValue);
            _windowStart = now;
            _windowBytes = 0;
        }
    }

    /// <summary>Most TX bursts one flush sends, so that one port cannot hold the loop (Linux's dev_tx_weight quota).</summary>
    private const int MaxBurstsPerFlush = 16;

    /// <summary>Dequeues and transmits bursts while the qdisc lets frames go and the device takes them.</summary>
    public void Transmit(IDevice device, PortCounters counters, Instant now)
    {
        for (int round = 0; round < MaxBurstsPerFlush; round++)
        {
            int n = _held;
            while (n < _burst.Length && Root.Dequeue(now) is PacketBuffer frame)
            {
                Left(frame, now);
                _burst[n++] = frame;
            }
            if (n == 0)
            {
                return;
            }
            Span<PacketBuffer> frames = _burst.AsSpan(0, n);
            int sent = device.TransmitBurst(frames, now);
            for (int i = 0; i < sent; i++)
            {
                counters.TxBytesField += frames[i].Length;
            }
            counters.TxFramesField += sent;
            _held = n - sent;
            Array.Copy(_burst, sent, _burst, 0, _held);
            Array.Clear(_burst, _held, sent);
            if (sent == 0)
            {
                Root.CountRequeues(_held); // the device is full: these go first when it has room
                return;
            }
            if (_held == 0 && n < _burst.Length)
            {
                return; // the qdisc has nothing more that may leave now
            }
        }
    }

    /// <summary>When this port must be served again: now while the device refused frames, else when the qdisc's next frame may leave.</summary>
    public Instant NextDequeueAt(Instant now) => _held > 0 ? now : Root.NextDequeueAt(now);

    /// <summary>Shutdown: frees the held frames and everything queued.</summary>
    public void FreeAll()
    {
        for (int i = 0; i < _held; i++)
        {
            _burst[i].Free();
            _burst[i] = null!;
        }
        _held = 0;
        Root.Reset();
        Array.Clear(_queuedBytes);
    }
}
