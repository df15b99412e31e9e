namespace Skiff.QDisc;

/// <summary>
/// A queueing discipline (Linux's <c>struct Qdisc</c>): the egress stage of a port takes every frame the TX hooks passed
/// with <see cref="Enqueue"/> and asks for the frames that may leave with <see cref="Dequeue"/>; a shaper says with
/// <see cref="NextDequeueAt"/> when its next frame may leave, so the engine sleeps exactly that long.
/// </summary>
/// <remarks>
/// <para>Sans-I/O (docs/architecture.md, contract 1): no threads, syscalls or clock reads; time is passed in. Every queue
/// is bounded in packets (a preallocated <see cref="FrameSlab"/>) and in bytes; nothing is allocated per frame.</para>
/// <para>Ownership (contract 6): a frame given to <see cref="Enqueue"/> belongs to the qdisc whatever the verdict; a frame it
/// drops (this one or another, as fq_codel drops from the fattest flow) is counted and returned to its pool by the qdisc.
/// <see cref="Dequeue"/> hands a frame's ownership to the caller.</para>
/// <para>Classful qdiscs (prio, HTB, TBF) call their children through this class: one virtual call per frame and level,
/// as Linux's qdisc tree does.</para>
/// <para>Loop thread only; <see cref="Statistics"/> is read by the metrics publisher on that thread.</para>
/// </remarks>
public abstract class QueueDiscipline
{
    private PacketBuffer? _peeked;
    private long _sentBytes;
    private long _sentPackets;

    /// <summary>Frames this qdisc dropped itself (its own limits, its AQM).</summary>
    protected long OwnDrops;

    /// <summary>Times a frame could not leave because a shaper had no tokens (tc's overlimits).</summary>
    protected long Overlimits;

    private long _requeues;
    private IQDiscDropObserver? _dropObserver;

    /// <summary>Sets <see cref="Kind"/> to <paramref name="kind"/>, the name tc gives the qdisc.</summary>
    protected QueueDiscipline(string kind) => Kind = kind;

    /// <summary>The qdisc's kind as tc names it: pfifo, bfifo, pfifo_fast, prio, tbf, codel, fq_codel, htb.</summary>
    public string Kind { get; }

    /// <summary>Frames queued (including one held by <see cref="Peek"/>).</summary>
    public abstract int BacklogPackets { get; }

    /// <summary>Bytes queued.</summary>
    public abstract long BacklogBytes { get; }

    /// <summary>How many qdiscs are under this one (prio's bands, HTB's leaves and direct queue, TBF's inner qdisc); 0 for a classless qdisc.</summary>
    public virtual int ChildCount => 0;

    /// <summary>The qdisc under this one at <paramref name="index"/> (0 to <see cref="ChildCount"/> - 1).</summary>
    public virtual QueueDiscipline Child(int index) => throw new ArgumentOutOfRangeException(nameof(index), $"{Kind} has no child qdiscs.");

    /// <summary>The qdiscs under this one (allocates; the loop uses <see cref="Child"/>).</summary>
    public IEnumerable<QueueDiscipline> Children
    {
        get
        {
            for (int i = 0; i < ChildCount; i++)
            {
                yield return Child(i);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="frame"/> at <paramref name="now"/>; ownership passes whatever the verdict. A dropped frame
    /// (this one, or another the qdisc chose) is freed and counted here.
    /// </summary>
    public abstract QDiscVerdict Enqueue(PacketBuffer frame, Instant now);

    /// <summary>The next frame that may leave at <paramref name="now"/>, or null (empty, or a shaper is out of tokens). Ownership passes to the caller.</summary>
    public PacketBuffer? Dequeue(Instant now)
    {
        PacketBuffer? frame = _peeked;
        if (frame is not null)
        {
            _peeked = null;
        }
        else
        {
            frame = DequeueCore(now);
            if (frame is null)
            {
                return null;
            }
        }
        _sentBytes += frame.Length;
        _sentPackets++;
        return frame;
    }

    /// <summary>
    /// The frame <see cref="Dequeue"/> would return next, without taking it (Linux's qdisc_peek_dequeued: the frame is
    /// dequeued and held, still counted in the backlog). A parent shaper looks at its length before it decides.
    /// </summary>
    public PacketBuffer? Peek(Instant now) => _peeked ??= DequeueCore(now);

    /// <summary>When <see cref="Dequeue"/> may next return a frame: <paramref name="now"/> when it would now, <see cref="Instant.Never"/> when empty.</summary>
    public Instant NextDequeueAt(Instant now) => _peeked is not null ? now : NextDequeueAtCore(now);

    /// <summary>Removes the next frame that may leave at <paramref name="now"/>, updating the backlog.</summary>
    protected abstract PacketBuffer? DequeueCore(Instant now);

    /// <summary>For a work-conserving qdisc: now while it holds frames, else never.</summary>
    protected virtual Instant NextDequeueAtCore(Instant now) => BacklogPackets > 0 ? now : Instant.Never;

    /// <summary>The frame held by <see cref="Peek"/>, for backlog accounting (1 or 0 packets).</summary>
    protected int PeekedPackets => _peeked is null ? 0 : 1;

    /// <summary>The bytes of the frame held by <see cref="Peek"/>.</summary>
    protected int PeekedBytes => _peeked?.Length ?? 0;

    /// <summary>Counts and frees a frame this qdisc drops, telling the observer of drops first (<see cref="ObserveDrops"/>).</summary>
    protected void Drop(PacketBuffer frame)
    {
        OwnDrops++;
        _dropObserver?.OnDropped(frame);
        frame.Free();
    }

    /// <summary>
    /// Tells <paramref name="observer"/> (null: nobody) of every frame this qdisc and every qdisc below it drops, just before
    /// it is freed: the engine's egress stage keeps its per-socket backlog (TCP small queues) with it. Set it again after
    /// changing the tree.
    /// </summary>
    public void ObserveDrops(IQDiscDropObserver? observer)
    {
        _dropObserver = observer;
        for (int i = 0; i < ChildCount; i++)
        {
            Child(i).ObserveDrops(observer);
        }
    }

    /// <summary>The engine's egress could not hand <paramref name="frames"/> dequeued frames to the device and keeps them for the next burst (tc's requeues).</summary>
    public void CountRequeues(int frames) => _requeues += frames;

    /// <summary>Every frame queued here and below is freed (shutdown, reconfiguration).</summary>
    public void Reset()
    {
        if (_peeked is not null)
        {
            _peeked.Free();
            _peeked = null;
        }
        ResetCore();
    }

    /// <summary>Frees every queued frame.</summary>
    protected abstract void ResetCore();

    /// <summary>Drops here and in every qdisc below.</summary>
    public long Drops
    {
        get
        {
            long drops = OwnDrops;
            for (int i = 0; i < ChildCount; i++)
            {
                drops += Child(i).Drops;
            }
            return drops;
        }
    }

    /// <summary>What tc -s qdisc shows for this qdisc.</summary>
    public virtual QDiscStatistics Statistics => new(Kind, _sentBytes, _sentPackets, Drops, Overlimits, _requeues, BacklogBytes, BacklogPackets);

    /// <summary>The qdisc as a tc-like line: its kind and parameters.</summary>
    public abstract string Describe();

    /// <summary>The same line as <see cref="Describe"/>: the kind and its parameters.</summary>
    public override string ToString() => Describe();
}
