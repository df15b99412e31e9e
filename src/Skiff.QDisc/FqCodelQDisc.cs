using Skiff.QDisc.Classify;

namespace Skiff.QDisc;

/// <summary>fq_codel's parameters (tc-fq_codel(8) defaults; RFC 8290).</summary>
public sealed record FqCodelParameters
{
    /// <summary>Most frames queued in all flows together. Default 10240.</summary>
    public int Limit { get; init; } = 10240;

    /// <summary>Flow queues frames are hashed into. Default 1024.</summary>
    public int Flows { get; init; } = 1024;

    /// <summary>Bytes a flow may dequeue per round (DRR quantum). Default 1514: the MTU plus the Ethernet header.</summary>
    public int Quantum { get; init; } = 1514;

    /// <summary>CoDel's target. Default 5 ms.</summary>
    public Duration Target { get; init; } = Duration.FromMillis(5);

    /// <summary>CoDel's interval. Default 100 ms.</summary>
    public Duration Interval { get; init; } = Duration.FromMillis(100);

    /// <summary>Mark ECN-capable packets instead of dropping them. Default on.</summary>
    public bool Ecn { get; init; } = true;

    /// <summary>CE-mark packets whose sojourn passes this (null: off).</summary>
    public Duration? CeThreshold { get; init; }

    /// <summary>Most frames dropped from the fattest flow at once when the limit is hit. Default 64.</summary>
    public int DropBatch { get; init; } = 64;

    /// <summary>Most bytes of frame memory (the pool slots the frames occupy) queued. Default 32 MiB.</summary>
    public long MemoryLimit { get; init; } = 32L << 20;

    /// <summary>The flow hash's perturbation.</summary>
    public uint Seed { get; init; }

    /// <summary>The MTU of the device (CoDel never drops from a backlog of at most one MTU). Default 1514.</summary>
    public int Mtu { get; init; } = 1514;
}

/// <summary>
/// fq_codel (RFC 8290, sch_fq_codel.c): frames are hashed by flow into <see cref="FqCodelParameters.Flows"/> queues, each
/// under its own CoDel; a deficit round robin with a quantum of one MTU serves new flows (which get one quantum of
/// priority: sparse flows such as ping and DNS see almost no queue) before old ones. At the packet or memory limit it
/// drops up to half of the fattest flow's backlog (at most drop_batch frames at once).
/// </summary>
public sealed class FqCodelQDisc : QueueDiscipline
{
    private readonly FrameSlab _slab;
    private readonly FrameList[] _queues;
    private readonly CodelVars[] _vars;
    private readonly int[] _deficit;
    private readonly int[] _nextInList;   // flow + 1 of the next flow in the new or old list; 0 = none
    private readonly byte[] _inList;      // 0 = none, 1 = new, 2 = old
    private readonly CodelParameters _codel;
    private int _newHead, _newTail, _oldHead, _oldTail; // flow + 1; 0 = empty
    private long _backlogBytes;
    private long _memory;

    /// <summary>An fq_codel qdisc under <paramref name="parameters"/> (default tc's). Its slab of Limit + 1 frames and its per-flow state are allocated here, once.</summary>
    /// <exception cref="ArgumentException">Flows is not 1 to 65536, or Limit, Quantum, DropBatch or MemoryLimit is not positive.</exception>
    public FqCodelQDisc(FqCodelParameters? parameters = null) : base("fq_codel")
    {
        Parameters = parameters ?? new FqCodelParameters();
        FqCodelParameters p = Parameters;
        if (p.Flows is < 1 or > 65536 || p.Limit < 1 || p.Quantum < 1 || p.DropBatch < 1 || p.MemoryLimit < 1)
        {
            throw new ArgumentException("fq_codel needs 1 to 65536 flows and a positive limit, quantum, drop_batch and memory_limit.", nameof(parameters));
        }
        _slab = new FrameSlab(p.Limit + 1); // the arriving frame is queued before the limit is enforced, as in Linux
        _queues = new FrameList[p.Flows];
        _vars = new CodelVars[p.Flows];
        _deficit = new int[p.Flows];
        _nextInList = new int[p.Flows];
        _inList = new byte[p.Flows];
        _codel = new CodelParameters(p.Target, p.Interval, p.Mtu, p.Ecn, p.CeThreshold);
    }

    /// <summary>The parameters it was built with.</summary>
    public FqCodelParameters Parameters { get; }

    /// <summary>CoDel's drops and marks over all flows, and the largest frame.</summary>
    public CodelCounters Counters { get; } = new();

    /// <summary>Times a flow became new (entered the new list).</summary>
    public long NewFlowCount { get; private set; }

    /// <summary>Frames dropped because the packet limit or the memory limit was hit.</summary>
    public long DropOverlimit { get; private set; }

    /// <summary>Of <see cref="DropOverlimit"/>, those for the memory limit.</summary>
    public long DropOvermemory { get; private set; }

    /// <summary>Bytes of frame memory queued.</summary>
    public long MemoryUsage => _memory;

    /// <summary>Flows in the new list now.</summary>
    public int NewFlowsLength => CountList(_newHead);

    /// <summary>Flows in the old list now.</summary>
    public int OldFlowsLength => CountList(_oldHead);

    /// <summary>The base counters plus fq_codel's (ECN marks, CoDel drops, new-flow count, overlimit drops, new and old list lengths), as <c>tc -s qdisc</c> shows them. Walks the flow lists: for the metrics publisher, not the per-frame path.</summary>
    public override QDiscStatistics Statistics => base.Statistics with
    {
        EcnMarks = Counters.EcnMarks,
        CodelDrops = Counters.Drops,
        NewFlowCount = NewFlowCount,
        DropOverlimit = DropOverlimit,
        NewFlowsLength = NewFlowsLength,
        OldFlowsLength = OldFlowsLength,
    };

    /// <summary>Frames queued over all flows, plus one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets => _slab.Count + PeekedPackets;

    /// <summary>Bytes (data windows) queued over all flows, plus the frame held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override long BacklogBytes => _backlogBytes + PeekedBytes;

    /// <summary>The flow queue <paramref name="frame"/> hashes into.</summary>
    public int FlowOf(PacketBuffer frame) => FlowHash.Bucket(FlowHash.Of(frame, Parameters.Seed), _queues.Length);

    /// <summary>Frames queued in flow <paramref name="flow"/>.</summary>
    public int FlowBacklog(int flow) => _queues[flow].Count;

    /// <summary>The CoDel state of flow <paramref name="flow"/>.</summary>
    public CodelVars FlowVars(int flow) => _vars[flow];

    /// <summary>
    /// Queues <paramref name="frame"/> in its flow (an idle flow joins the new list with a fresh quantum), then enforces the limits
    /// as Linux does: past <see cref="FqCodelParameters.Limit"/> frames or <see cref="FqCodelParameters.MemoryLimit"/> bytes of
    /// frame memory, frames are dropped from the head of the fattest flow until half its bytes are gone, at most
    /// <see cref="FqCodelParameters.DropBatch"/> of them. <see cref="QDiscVerdict.Congested"/> when that flow was this frame's own
    /// (this frame may then be among the dropped, if its flow held little else), else <see cref="QDiscVerdict.Queued"/>.
    /// </summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        int flow = FlowOf(frame);
        int length = frame.Length;
        if (!_slab.TryPush(ref _queues[flow], frame, now))
        {
            Drop(frame); // cannot happen: the slab has one node more than the limit, and the limit is enforced below
            return QDiscVerdict.Dropped;
        }
        _backlogBytes += length;
        _memory += frame.FrameBytes;
        if (_inList[flow] == 0)
        {
            Append(ref _newHead, ref _newTail, flow, 1);
            NewFlowCount++;
            _deficit[flow] = Parameters.Quantum;
        }
        bool memoryLimited = _memory > Parameters.MemoryLimit;
        if (_slab.Count <= Parameters.Limit && !memoryLimited)
        {
            return QDiscVerdict.Queued;
        }
        int before = _slab.Count;
        int fattest = DropFromFattest(Parameters.DropBatch);
        int dropped = before - _slab.Count;
        DropOverlimit += dropped;
        if (memoryLimited)
        {
            DropOvermemory += dropped;
        }
        return fattest == flow ? QDiscVerdict.Congested : QDiscVerdict.Queued;
    }

    /// <summary>Drops up to half the backlog of the fattest flow, at most <paramref name="maxPackets"/> frames; returns that flow.</summary>
    private int DropFromFattest(int maxPackets)
    {
        int fattest = 0;
        long most = -1;
        for (int i = 0; i < _queues.Length; i++)
        {
            if (_queues[i].Bytes > most)
            {
                most = _queues[i].Bytes;
                fattest = i;
            }
        }
        long threshold = most >> 1;
        long length = 0;
        int n = 0;
        do
        {
            PacketBuffer? frame = _slab.Pop(ref _queues[fattest]);
            if (frame is null)
            {
                break;
            }
            length += frame.Length;
            _backlogBytes -= frame.Length;
            _memory -= frame.FrameBytes;
            Drop(frame);
        }
        while (++n < maxPackets && length < threshold);
        _vars[fattest].Count += (uint)n; // tell CoDel to signal harder too
        return fattest;
    }

    private struct FlowQueue(FqCodelQDisc owner, int flow) : ICodelQueue
    {
        public readonly long Backlog => owner._backlogBytes;

        public readonly PacketBuffer? Dequeue(out Instant enqueuedAt)
        {
            PacketBuffer? frame = owner._slab.Pop(ref owner._queues[flow], out enqueuedAt);
            if (frame is not null)
            {
                owner._backlogBytes -= frame.Length;
                owner._memory -= frame.FrameBytes;
            }
            return frame;
        }

        public readonly void Drop(PacketBuffer frame) => owner.Drop(frame);
    }

    /// <summary>
    /// Deficit round robin over the flows (RFC 8290 section 4.2): new flows first, then old ones; a flow whose deficit ran out
    /// gets another quantum and moves to the end of the old list, and the head of the flow served goes through that flow's
    /// CoDel. A new flow that empties passes once through the old list before it leaves the lists, so a stream of new flows
    /// cannot starve the old ones. Null when every flow is empty.
    /// </summary>
    protected override PacketBuffer? DequeueCore(Instant now)
    {
        while (true)
        {
            bool fromNew = _newHead != 0;
            if (!fromNew && _oldHead == 0)
            {
                return null;
            }
            int flow = (fromNew ? _newHead : _oldHead) - 1;
            if (_deficit[flow] <= 0)
            {
                _deficit[flow] += Parameters.Quantum;
                RemoveHead(fromNew);
                Append(ref _oldHead, ref _oldTail, flow, 2);
                continue;
            }
            FlowQueue queue = new(this, flow);
            PacketBuffer? frame = Codel.Dequeue(ref queue, ref _vars[flow], _codel, Counters, now);
            if (frame is null)
            {
                RemoveHead(fromNew);
                if (fromNew && _oldHead != 0)
                {
                    Append(ref _oldHead, ref _oldTail, flow, 2); // a pass through the old flows first, against starvation
                }
                else
                {
                    _inList[flow] = 0;
                }
                continue;
            }
            _deficit[flow] -= frame.Length;
            return frame;
        }
    }

    private void Append(ref int head, ref int tail, int flow, byte list)
    {
        _nextInList[flow] = 0;
        if (tail == 0)
        {
            head = flow + 1;
        }
        else
        {
            _nextInList[tail - 1] = flow + 1;
        }
        tail = flow + 1;
        _inList[flow] = list;
    }

    private void RemoveHead(bool fromNew)
    {
        if (fromNew)
        {
            int flow = _newHead - 1;
            _newHead = _nextInList[flow];
            if (_newHead == 0)
            {
                _newTail = 0;
            }
        }
        else
        {
            int flow = _oldHead - 1;
            _oldHead = _nextInList[flow];
            if (_oldHead == 0)
            {
                _oldTail = 0;
            }
        }
    }

    private int CountList(int head)
    {
        int n = 0;
        for (int f = head; f != 0; f = _nextInList[f - 1])
        {
            n++;
        }
        return n;
    }

    /// <summary>Frees every queued frame and forgets every flow's list membership and CoDel state.</summary>
    protected override void ResetCore()
    {
        for (int i = 0; i < _queues.Length; i++)
        {
            _slab.FreeAll(ref _queues[i]);
            _inList[i] = 0;
            _vars[i] = default;
        }
        _newHead = _newTail = _oldHead = _oldTail = 0;
        _backlogBytes = 0;
        _memory = 0;
    }

    /// <summary>tc's line: limit, flows, quantum, target, interval, memory_limit, drop_batch and ecn when on.</summary>
    public override string Describe()
    {
        FqCodelParameters p = Parameters;
        return $"fq_codel limit {p.Limit}p flows {p.Flows} quantum {p.Quantum} target {p.Target} interval {p.Interval} memory_limit {p.MemoryLimit}b " +
            $"drop_batch {p.DropBatch}{(p.Ecn ? " ecn" : "")}";
    }
}
