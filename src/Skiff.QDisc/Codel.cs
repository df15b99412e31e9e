using Skiff.QDisc.Classify;

namespace Skiff.QDisc;

/// <summary>CoDel's parameters (RFC 8289; tc-codel(8) defaults: target 5 ms, interval 100 ms, ECN off for codel, on for fq_codel).</summary>
/// <param name="Target">The acceptable standing queue delay.</param>
/// <param name="Interval">The window over which the delay must stay above target before dropping starts; about a worst-case RTT.</param>
/// <param name="Mtu">A queue of at most this many bytes is never dropped from (the kernel's psched_mtu check).</param>
/// <param name="Ecn">Mark ECN-capable packets with CE instead of dropping them.</param>
/// <param name="CeThreshold">Mark packets whose sojourn exceeds this (DCTCP-style); null: off.</param>
public sealed record CodelParameters(Duration Target, Duration Interval, int Mtu, bool Ecn, Duration? CeThreshold = null)
{
    /// <summary>codel's defaults: 5 ms, 100 ms, MTU 1514, no ECN.</summary>
    public static CodelParameters Default { get; } = new(Duration.FromMillis(5), Duration.FromMillis(100), 1514, Ecn: false);
}

/// <summary>The per-queue state of CoDel (Linux's struct codel_vars).</summary>
public struct CodelVars
{
    /// <summary>Drops (or marks) since entering the dropping state; the control law's count.</summary>
    public uint Count;

    /// <summary>Count when the last dropping state was left.</summary>
    public uint LastCount;

    /// <summary>True while in the dropping state.</summary>
    public bool Dropping;

    /// <summary>When the sojourn time went above target plus one interval (0: it is below target).</summary>
    public long FirstAboveTime;

    /// <summary>When the next drop is due while dropping.</summary>
    public long DropNext;

    /// <summary>The sojourn time of the last dequeued frame, µs.</summary>
    public long LastDelay;
}

/// <summary>What CoDel did, counted per qdisc.</summary>
public sealed class CodelCounters
{
    /// <summary>Frames dropped by the control law.</summary>
    public long Drops;

    /// <summary>Frames marked CE instead of dropped.</summary>
    public long EcnMarks;

    /// <summary>Frames marked for passing the CE threshold.</summary>
    public long CeMarks;

    /// <summary>The largest frame seen.</summary>
    public int MaxPacket;
}

/// <summary>Where CoDel takes frames from: one queue (codel) or one flow (fq_codel). A struct, so the algorithm is specialised for it.</summary>
public interface ICodelQueue
{
    /// <summary>Removes the head frame and when it was queued; null when empty. Updates the backlog.</summary>
    PacketBuffer? Dequeue(out Instant enqueuedAt);

    /// <summary>The bytes the qdisc holds (the kernel passes the qdisc's backlog to the MTU check).</summary>
    long Backlog { get; }

    /// <summary>Frees a frame CoDel dropped.</summary>
    void Drop(PacketBuffer frame);
}

/// <summary>
/// CoDel's dequeue (RFC 8289 section 5, as Linux's codel_impl.h runs it): a frame whose sojourn time stayed above target
/// for an interval is dropped (or CE-marked), and while the delay stays high the next drop comes interval/sqrt(count)
/// later; on re-entering soon after leaving, count resumes from the drops of the last cycle.
/// </summary>
public static class Codel
{
    /// <summary>The control law: <paramref name="t"/> + interval / sqrt(count).</summary>
    public static long ControlLaw(long t, Duration interval, uint count) => t + (long)(interval.TotalMicros / Math.Sqrt(count));

    private static bool ShouldDrop<TQueue>(PacketBuffer? frame, Instant enqueuedAt, ref TQueue queue, ref CodelVars vars, CodelParameters p, CodelCounters counters, long now)
        where TQueue : struct, ICodelQueue
    {
        if (frame is null)
        {
            vars.FirstAboveTime = 0;
            return false;
        }
        vars.LastDelay = now - enqueuedAt.TotalMicros;
        if (frame.Length > counters.MaxPacket)
        {
            counters.MaxPacket = frame.Length;
        }
        if (vars.LastDelay < p.Target.TotalMicros || queue.Backlog <= p.Mtu)
        {
            vars.FirstAboveTime = 0; // went below: stay below for at least an interval
            return false;
        }
        if (vars.FirstAboveTime == 0)
        {
            vars.FirstAboveTime = now + p.Interval.TotalMicros;
            return false;
        }
        return now > vars.FirstAboveTime;
    }

    /// <summary>Dequeues the next frame CoDel lets through at <paramref name="nowInstant"/>, dropping or marking as the control law says.</summary>
    public static PacketBuffer? Dequeue<TQueue>(ref TQueue queue, ref CodelVars vars, CodelParameters p, CodelCounters counters, Instant nowInstant)
        where TQueue : struct, ICodelQueue
    {
        long now = nowInstant.TotalMicros;
        PacketBuffer? frame = queue.Dequeue(out Instant at);
        if (frame is null)
        {
            vars.Dropping = false;
            return null;
        }
        bool drop = ShouldDrop(frame, at, ref queue, ref vars, p, counters, now);
        if (vars.Dropping)
        {
            if (!drop)
            {
                vars.Dropping = false; // sojourn time below target: leave the dropping state
            }
            else if (now >= vars.DropNext)
            {
                while (vars.Dropping && now >= vars.DropNext)
                {
                    vars.Count++;
                    if (p.Ecn && Ecn.TrySetCe(frame!))
                    {
                        counters.EcnMarks++;
                        vars.DropNext = ControlLaw(vars.DropNext, p.Interval, vars.Count);
                        goto End;
                    }
                    counters.Drops++;
                    queue.Drop(frame!);
                    frame = queue.Dequeue(out at);
                    if (!ShouldDrop(frame, at, ref queue, ref vars, p, counters, now))
                    {
                        vars.Dropping = false;
                    }
                    else
                    {
                        vars.DropNext = ControlLaw(vars.DropNext, p.Interval, vars.Count);
                    }
                }
            }
        }
        else if (drop)
        {
            if (p.Ecn && Ecn.TrySetCe(frame))
            {
                counters.EcnMarks++;
            }
            else
            {
                counters.Drops++;
                queue.Drop(frame);
                frame = queue.Dequeue(out at);
                ShouldDrop(frame, at, ref queue, ref vars, p, counters, now);
            }
            vars.Dropping = true;
            // If the delay went above target soon after the last dropping state ended, the drop rate that controlled
            // the queue then is a good start now (RFC 8289 section 5.4).
            uint delta = vars.Count - vars.LastCount;
            vars.Count = delta > 1 && now - vars.DropNext < 16 * p.Interval.TotalMicros ? delta : 1;
            vars.LastCount = vars.Count;
            vars.DropNext = ControlLaw(now, p.Interval, vars.Count);
        }
    End:
        if (frame is not null && p.CeThreshold is Duration ce && vars.LastDelay > ce.TotalMicros && Ecn.TrySetCe(frame))
        {
            counters.CeMarks++;
        }
        return frame;
    }
}

/// <summary>CoDel alone (tc-codel(8), sch_codel.c): one FIFO of up to <see cref="Limit"/> packets (default 1000) under the control law.</summary>
public sealed class CodelQDisc : QueueDiscipline
{
    private readonly FrameSlab _slab;
    private FrameList _queue;
    private CodelVars _vars;

    /// <summary>A codel qdisc under <paramref name="parameters"/> (default <see cref="CodelParameters.Default"/>) holding at most <paramref name="limit"/> frames (tc's default 1000).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is below 1.</exception>
    public CodelQDisc(CodelParameters? parameters = null, int limit = 1000) : base("codel")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        Parameters = parameters ?? CodelParameters.Default;
        Limit = limit;
        _slab = new FrameSlab(limit);
    }

    /// <summary>Target, interval, MTU, ECN and CE threshold the control law runs with.</summary>
    public CodelParameters Parameters { get; }

    /// <summary>Most frames queued; an arriving frame beyond it is dropped at once (tail drop, outside the control law).</summary>
    public int Limit { get; }

    /// <summary>Drops, marks and the largest frame, as tc -s shows them for codel.</summary>
    public CodelCounters Counters { get; } = new();

    /// <summary>The control law's state, for tests and statistics.</summary>
    public CodelVars Vars => _vars;

    /// <summary>The base counters plus codel's ECN marks and control-law drops, as <c>tc -s qdisc</c> shows them.</summary>
    public override QDiscStatistics Statistics => base.Statistics with { EcnMarks = Counters.EcnMarks, CodelDrops = Counters.Drops };

    /// <summary>Frames queued, plus one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets => _queue.Count + PeekedPackets;

    /// <summary>Bytes queued, plus the frame held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override long BacklogBytes => _queue.Bytes + PeekedBytes;

    /// <summary>Queues <paramref name="frame"/> with its arrival time (CoDel measures the sojourn from it), or drops it when <see cref="Limit"/> frames wait, a frame held by <see cref="QueueDiscipline.Peek"/> included (<see cref="QDiscVerdict.Dropped"/>). CoDel itself acts at dequeue.</summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        if (BacklogPackets >= Limit || !_slab.TryPush(ref _queue, frame, now))
        {
            Drop(frame);
            return QDiscVerdict.Dropped;
        }
        return QDiscVerdict.Queued;
    }

    private struct Queue(CodelQDisc owner) : ICodelQueue
    {
        public readonly long Backlog => owner._queue.Bytes;

        public readonly PacketBuffer? Dequeue(out Instant enqueuedAt) => owner._slab.Pop(ref owner._queue, out enqueuedAt);

        public readonly void Drop(PacketBuffer frame) => owner.Drop(frame);
    }

    /// <summary>The next frame the control law lets through at <paramref name="now"/> (RFC 8289 section 5): frames whose sojourn stayed above target for an interval are dropped, or CE-marked when ECN is on, on the way. Null when the queue is empty, or was emptied by drops.</summary>
    protected override PacketBuffer? DequeueCore(Instant now)
    {
        Queue q = new(this);
        return Codel.Dequeue(ref q, ref _vars, Parameters, Counters, now);
    }

    /// <summary>Frees every queued frame; the control law's state (<see cref="Vars"/>) is kept.</summary>
    protected override void ResetCore() => _slab.FreeAll(ref _queue);

    /// <summary>tc's line: <c>codel limit Np target T interval I</c>, with <c>ecn</c> when on.</summary>
    public override string Describe() =>
        $"codel limit {Limit}p target {Parameters.Target} interval {Parameters.Interval}{(Parameters.Ecn ? " ecn" : "")}";
}
