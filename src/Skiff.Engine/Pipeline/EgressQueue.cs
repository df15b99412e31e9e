using Skiff.QDisc;

namespace Skiff.Engine.Pipeline;

/// <summary>
/// The egress stage of one port (docs/architecture.md, "The engine's loop"): every frame the TX hooks passed goes into the
/// port's root <see cref="QueueDiscipline"/>; the TX burst is filled from its dequeue. Frames the device refuses stay here, at the
/// front of the next burst, and count as requeues (Linux's dev_requeue_skb). Loop thread only; allocates nothing.
/// </summary>
internal sealed class EgressQueue(QueueDiscipline root, int burst)
{
    private readonly PacketBuffer[] _burst = new PacketBuffer[burst];
    private int _held; // frames at the front of _burst the device refused

    public QueueDiscipline Root { get; } = root;

    /// <summary>Queues <paramref name="frames"/> (ownership passes: the qdisc frees what it drops).</summary>
    public void Enqueue(Span<PacketBuffer> frames, Instant now)
    {
        foreach (PacketBuffer frame in frames)
        {
            Root.Enqueue(frame, now);
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
    }
}
