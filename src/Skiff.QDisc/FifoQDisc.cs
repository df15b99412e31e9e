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

    /// <summary>bfifo with at most <paramref name="limitBytes"/> bytes (and, to bound its store, at most one 64-byte frame per 64 bytes).</summary>
    public static FifoQDisc Bytes(int limitBytes, int mtu = 1514)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        return new FifoQDisc("bfifo", limitBytes, bytes: true, Math.Max(2, limitBytes / 60 + 1));
    }

    /// <summary>The limit: packets for pfifo, bytes for bfifo.</summary>
    public int Limit { get; }

    /// <summary>True for bfifo.</summary>
    public bool LimitsBytes { get; }

    public override int BacklogPackets => _queue.Count + PeekedPackets;

    public override long BacklogBytes => _queue.Bytes + PeekedBytes;

    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        bool fits = LimitsBytes ? _queue.Bytes + frame.Length <= Limit : _queue.Count < Limit;
        if (!fits || !_slab.TryPush(ref _queue, frame, now))
        {
            Drop(frame);
            return QDiscVerdict.Dropped;
        }
        return QDiscVerdict.Queued;
    }

    protected override PacketBuffer? DequeueCore(Instant now) => _slab.Pop(ref _queue);

    protected override void ResetCore() => _slab.FreeAll(ref _queue);

    public override string Describe() => $"{Kind} limit {(LimitsBytes ? $"{Limit}b" : $"{Limit}p")}";
}
