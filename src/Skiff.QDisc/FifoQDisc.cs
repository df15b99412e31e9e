namespace Skiff.QDisc;

/// <summary>
/// pfifo and bfifo (tc-pfifo(8), sch_fifo.c): one tail-drop queue limited in packets (pfifo) or bytes (bfifo). The
/// default limit is the device's txqueuelen, 1000 packets, or txqueuelen times the MTU in bytes.
/// </summary>
public sealed class FifoQDisc : QueueDiscipline
{
    /// <summary>Linux's default txqueuelen.</summary>
    public const int DefaultTxQueueLength = 1000;

    private readonly FrameSlab _slab;
    private FrameList _queue;

    private FifoQDisc(string kind, int limit, bool bytes, int slabFrames) : base(kind)
    {
        Limit = limit;
        LimitsBytes = bytes;
        _slab = new FrameSlab(slabFrames);
    }

    /// <summary>pfifo with at most <paramref name="limit"/> packets.</summary>
    public static FifoQDisc Packets(int limit = DefaultTxQueueLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return new FifoQDisc("pfifo", limit, bytes: false, limit);
    }

    /// <summary>
    /// bfifo with at most <paramref name="limitBytes"/> bytes (and, to bound its store, at most one frame per 60 bytes,
    /// the smallest Ethernet frame without its FCS). The limit must hold at least one frame of <paramref name="mtu"/>
    /// bytes, the largest the port sends: a smaller one would drop every full-size frame.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="mtu"/> is not positive, or <paramref name="limitBytes"/> is below it.</exception>
    public static FifoQDisc Bytes(int limitBytes, int mtu = 1514)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, mtu);
        return new FifoQDisc("bfifo", limitBytes, bytes: true, Math.Max(2, limitBytes / 60 + 1));
    }

    /// <summary>The limit: packets for pfifo, bytes for bfifo.</summary>
    public int Limit { get; }

    /// <summary>True for bfifo.</summary>
    public bool LimitsBytes { get; }

    /// <summary>Frames queued, including one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets => _queue.Count + PeekedPackets;

    /// <summary>Bytes of those frames (their data windows), the one held by <see cref="QueueDiscipline.Peek"/> included.</summary>
    public override long BacklogBytes => _queue.Bytes + PeekedBytes;

    /// <summary>Tail drop: queues <paramref name="frame"/> at the back while the backlog (a frame a parent shaper holds through <see cref="QueueDiscipline.Peek"/> included, as Linux counts it) is under <see cref="Limit"/> (packets, or for bfifo bytes with this frame counted) and the slab has a free node; otherwise frees it and returns <see cref="QDiscVerdict.Dropped"/>. Never <see cref="QDiscVerdict.Congested"/>.</summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        bool fits = LimitsBytes ? BacklogBytes + frame.Length <= Limit : BacklogPackets < Limit;
        if (!fits || !_slab.TryPush(ref _queue, frame, now))
        {
            Drop(frame);
            return QDiscVerdict.Dropped;
        }
        return QDiscVerdict.Queued;
    }

    /// <summary>The frame at the head of the queue, or null when it is empty; a FIFO ignores <paramref name="now"/>.</summary>
    protected override PacketBuffer? DequeueCore(Instant now) => _slab.Pop(ref _queue);

    /// <summary>Frees every queued frame.</summary>
    protected override void ResetCore() => _slab.FreeAll(ref _queue);

    /// <summary>tc's line: <c>pfifo limit Np</c> or <c>bfifo limit Nb</c>.</summary>
    public override string Describe() => $"{Kind} limit {(LimitsBytes ? $"{Limit}b" : $"{Limit}p")}";
}
