using Skiff.QDisc.Classify;

namespace Skiff.QDisc;

/// <summary>One class of an <see cref="HtbQDisc"/>, as tc class add ... htb writes it.</summary>
/// <param name="Id">The class's number (tc's minor), unique in the tree, above 0.</param>
/// <param name="Parent">The parent class's number, or 0 for a class at the top.</param>
/// <param name="RateLimit">The rate the class is guaranteed.</param>
/// <param name="Ceil">The most it may send by borrowing from its ancestors; default the rate.</param>
/// <param name="Burst">Bytes it may send at once beyond its rate; default tc's rate/HZ + 1600.</param>
/// <param name="CBurst">The same for the ceiling.</param>
/// <param name="Prio">0 (first) to 7: among classes that may send, lower goes first, and borrows first.</param>
/// <param name="Quantum">Bytes per DRR round among classes of the same priority; default rate / r2q within 1000 to 200000.</param>
/// <param name="Leaf">The qdisc under a leaf class; default pfifo with the txqueuelen limit.</param>
public sealed record HtbClassSpec(int Id, int Parent, Rate RateLimit, Rate? Ceil = null, int? Burst = null, int? CBurst = null, int Prio = 0,
    int? Quantum = null, Func<QueueDiscipline>? Leaf = null);

/// <summary>A class of an <see cref="HtbQDisc"/> while it runs: its buckets, its leaf, its counters.</summary>
public sealed class HtbClass
{
    internal long Tokens, CTokens; // ps
    internal Instant Checkpoint;
    internal readonly int[] Deficit = new int[HtbQDisc.MaxDepth];
    internal readonly List<HtbClass> ChildList = [];

    internal HtbClass(int id, HtbClass? parent, Rate rate, Rate ceil, int burst, int cburst, int prio, int quantum)
    {
        Id = id;
        Parent = parent;
        RateLimit = rate;
        Ceil = ceil;
        BurstBytes = burst;
        CBurstBytes = cburst;
        Prio = prio;
        Quantum = quantum;
        Buffer = rate.TransmitPicos(burst);
        CBuffer = ceil.TransmitPicos(cburst);
        Tokens = Buffer;
        CTokens = CBuffer;
    }

    /// <summary>The class's number, tc's minor (the N of 1:N).</summary>
    public int Id { get; }

    /// <summary>The parent class, or null at the top of the tree.</summary>
    public HtbClass? Parent { get; }

    /// <summary>The rate the class is guaranteed.</summary>
    public Rate RateLimit { get; }

    /// <summary>The most the class may send, borrowing from its ancestors; at least <see cref="RateLimit"/>.</summary>
    public Rate Ceil { get; }

    /// <summary>The rate bucket in bytes: what the class may send at once on its own rate.</summary>
    public int BurstBytes { get; }

    /// <summary>The ceil bucket in bytes: what the class may send at once at its ceiling.</summary>
    public int CBurstBytes { get; }

    /// <summary>0 to 7: among leaves that may send at the same level, the lower goes first.</summary>
    public int Prio { get; }

    /// <summary>Bytes per deficit-round-robin turn among leaves of the same level and prio.</summary>
    public int Quantum { get; }

    /// <summary>0 for a leaf; for an inner class 7 minus its depth (Linux's levels: a leaf borrows from the nearest ancestor first).</summary>
    public int Level { get; internal set; }

    /// <summary>The qdisc under a leaf; null for an inner class.</summary>
    public QueueDiscipline? Leaf { get; internal set; }

    internal long Buffer { get; }

    internal long CBuffer { get; }

    /// <summary>Frames this class sent on its own rate or lent to a descendant (tc's lends).</summary>
    public long Lends { get; internal set; }

    /// <summary>Frames this class sent on tokens borrowed from an ancestor (tc's borrows).</summary>
    public long Borrows { get; internal set; }

    /// <summary>Bytes (data windows) sent through this class, its descendants' included.</summary>
    public long SentBytes { get; internal set; }

    /// <summary>Frames sent through this class, its descendants' included.</summary>
    public long SentPackets { get; internal set; }

    /// <summary>The classes directly under this one; empty for a leaf.</summary>
    public IReadOnlyList<HtbClass> Children => ChildList;

    /// <summary>The class as <c>tc class show</c> prints it: number, parent, leaf kind, prio, rate, ceil and bursts.</summary>
    public override string ToString() =>
        $"class htb 1:{Id}{(Parent is null ? "" : $" parent 1:{Parent.Id}")}{(Leaf is null ? "" : $" leaf {Leaf.Kind}")} prio {Prio} rate {RateLimit} ceil {Ceil} burst {BurstBytes}b cburst {CBurstBytes}b";
}

/// <summary>
/// HTB (tc-htb(8), sch_htb.c): a hierarchy of classes, each guaranteed its rate and allowed up to its ceil by borrowing
/// what its ancestors do not use; frames wait in a qdisc under each leaf. Filters (or <see cref="DefaultClass"/>) choose
/// the leaf; unclassified frames with no default go to a direct queue that is not shaped, as in Linux.
/// </summary>
/// <remarks>
/// Dequeue follows Linux's order: leaves that may send on their own rate first (level 0), then leaves borrowing from
/// the nearest ancestor that has tokens (levels 1 to 7, nearest first); within a level the lowest prio first, and
/// among equals a deficit round robin by quantum. Tokens are time in picoseconds, charged like htb_charge_class: the
/// lender and those above it pay rate tokens, every class on the path pays ceil tokens. The cost per frame grows with
/// the number of leaves (a linear scan; HTB trees are small), not with the number of flows.
/// </remarks>
public sealed class HtbQDisc : QueueDiscipline
{
    /// <summary>Levels of the hierarchy (TC_HTB_MAXDEPTH).</summary>
    public const int MaxDepth = 8;

    private static readonly long s_mbuffer = 60L * 1_000_000 * Rate.PicosPerMicro; // 60 s: the most a bucket remembers

    private readonly HtbClass[] _classes;
    private readonly HtbClass[] _leaves;
    private readonly QDiscFilter[] _filters; // Target: index into _leaves
    private readonly int _defaultLeaf;       // index into _leaves, or -1
    private readonly FifoQDisc _direct;
    private readonly int[] _pointer = new int[MaxDepth * 8]; // DRR position per (level, prio): an index into _leaves

    /// <summary>An HTB of <paramref name="classes"/> (parents before children), <paramref name="filters"/> naming class ids, and <paramref name="defaultClass"/> (0: none).</summary>
    public HtbQDisc(IReadOnlyList<HtbClassSpec> classes, IReadOnlyList<QDiscFilter>? filters = null, int defaultClass = 0, int r2q = 10,
        int directQueueLimit = FifoQDisc.DefaultTxQueueLength, int mtu = 1600) : base("htb")
    {
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0)
        {
            throw new ArgumentException("htb needs at least one class.", nameof(classes));
        }
        Dictionary<int, HtbClass> byId = [];
        Dictionary<int, int> depth = [];
        List<(HtbClass Class, Func<QueueDiscipline>? Leaf)> built = [];
        foreach (HtbClassSpec s in classes)
        {
            if (s.Id <= 0 || byId.ContainsKey(s.Id))
            {
                throw new ArgumentException($"htb class {s.Id}: class numbers must be positive and unique.", nameof(classes));
            }
            HtbClass? parent = null;
            if (s.Parent != 0 && !byId.TryGetValue(s.Parent, out parent))
            {
                throw new ArgumentException($"htb class {s.Id}: its parent {s.Parent} is not defined before it.", nameof(classes));
            }
            int d = parent is null ? 0 : depth[parent.Id] + 1;
            if (d >= MaxDepth - 1)
            {
                throw new ArgumentException($"htb class {s.Id}: the tree is deeper than {MaxDepth - 1} levels.", nameof(classes));
            }
            if (s.Prio is < 0 or > 7)
            {
                throw new ArgumentException($"htb class {s.Id}: prio {s.Prio} is out of range; give 0 to 7.", nameof(classes));
            }
            if (s.RateLimit.BitsPerSecond <= 0)
            {
                throw new ArgumentException($"htb class {s.Id}: it needs a positive rate.", nameof(classes));
            }
            Rate ceil = s.Ceil ?? s.RateLimit;
            if (ceil.BitsPerSecond < s.RateLimit.BitsPerSecond)
            {
                throw new ArgumentException($"htb class {s.Id}: ceil {ceil} is below its rate {s.RateLimit}.", nameof(classes));
            }
            int burst = s.Burst ?? (int)(s.RateLimit.BytesPerSecond / 1e9) + mtu;
            int cburst = s.CBurst ?? (int)(ceil.BytesPerSecond / 1e9) + mtu;
            int quantum = s.Quantum ?? (int)Math.Clamp(s.RateLimit.BytesPerSecond / r2q, 1000, 200000);
            HtbClass c = new(s.Id, parent, s.RateLimit, ceil, burst, cburst, s.Prio, quantum);
            parent?.ChildList.Add(c);
            byId[s.Id] = c;
            depth[s.Id] = d;
            built.Add((c, s.Leaf));
        }
        List<HtbClass> leaves = [];
        foreach ((HtbClass c, Func<QueueDiscipline>? leaf) in built)
        {
            if (c.ChildList.Count == 0)
            {
                c.Level = 0;
                c.Leaf = leaf?.Invoke() ?? FifoQDisc.Packets();
                leaves.Add(c);
            }
            else
            {
                if (leaf is not null)
                {
                    throw new ArgumentException($"htb class {c.Id} has children, so it cannot have a leaf qdisc; put the qdisc under a leaf class.", nameof(classes));
                }
                c.Level = MaxDepth - 1 - depth[c.Id];
            }
        }
        _classes = [.. built.Select(b => b.Class)];
        _leaves = [.. leaves];
        int LeafIndex(int id, string what)
        {
            int i = Array.FindIndex(_leaves, l => l.Id == id);
            if (i < 0)
            {
                throw new ArgumentException(byId.ContainsKey(id)
                    ? $"htb {what} names class {id}, which has children; name a leaf class."
                    : $"htb {what} names class {id}, which is not defined.", nameof(filters));
            }
            return i;
        }
        _filters = [.. (filters ?? []).Select(f => new QDiscFilter(f.Match, LeafIndex(f.Target, $"filter {f.Match}")))];
        _defaultLeaf = defaultClass == 0 ? -1 : LeafIndex(defaultClass, "default");
        DefaultClass = defaultClass;
        _direct = FifoQDisc.Packets(directQueueLimit);
    }

    /// <summary>The class unclassified frames go to; 0: the unshaped direct queue.</summary>
    public int DefaultClass { get; }

    /// <summary>Every class, parents before children.</summary>
    public IReadOnlyList<HtbClass> Classes => _classes;

    /// <summary>The class with number <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No class has that number; the message lists the ones there are.</exception>
    public HtbClass Class(int id)
    {
        foreach (HtbClass c in _classes)
        {
            if (c.Id == id)
            {
                return c;
            }
        }
        throw new ArgumentOutOfRangeException(nameof(id), id,
            $"This htb has no class {id}; its classes are {string.Join(", ", _classes.Select(c => c.Id))}.");
    }

    /// <summary>Frames the direct queue took (unclassified, no default class), as Linux's direct_packets_stat; the ones its limit dropped are not counted here but in the drops.</summary>
    public long DirectPackets { get; private set; }

    /// <summary>The leaves' qdiscs, then the direct queue.</summary>
    public override int ChildCount => _leaves.Length + 1;

    /// <summary>Leaf <paramref name="index"/>'s qdisc for 0 to leaves - 1; the direct queue at the last index.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside 0 to <see cref="ChildCount"/> - 1.</exception>
    public override QueueDiscipline Child(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, _leaves.Length);
        return index == _leaves.Length ? _direct : _leaves[index].Leaf!;
    }

    /// <summary>Frames under every leaf and in the direct queue, plus one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets
    {
        get
        {
            int n = _direct.BacklogPackets + PeekedPackets;
            foreach (HtbClass l in _leaves)
            {
                n += l.Leaf!.BacklogPackets;
            }
            return n;
        }
    }

    /// <summary>Bytes under every leaf and in the direct queue, plus the frame held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override long BacklogBytes
    {
        get
        {
            long n = _direct.BacklogBytes + PeekedBytes;
            foreach (HtbClass l in _leaves)
            {
                n += l.Leaf!.BacklogBytes;
            }
            return n;
        }
    }

    /// <summary>Classifies <paramref name="frame"/>: the leaf of the first filter that matches, else <see cref="DefaultClass"/>, else the unshaped direct queue (counted in <see cref="DirectPackets"/>); the verdict is that queue's.</summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        int leaf = _defaultLeaf;
        foreach (QDiscFilter f in _filters)
        {
            if (f.Match.Matches(frame))
            {
                leaf = f.Target;
                break;
            }
        }
        if (leaf < 0)
        {
            QDiscVerdict verdict = _direct.Enqueue(frame, now);
            if (verdict == QDiscVerdict.Queued)
            {
                DirectPackets++;
            }
            return verdict;
        }
        return _leaves[leaf].Leaf!.Enqueue(frame, now);
    }

    private enum Mode { CantSend, MayBorrow, CanSend }

    private static long Elapsed(HtbClass c, Instant now) =>
        Math.Min(Math.Max(0, (now - c.Checkpoint).TotalMicros), s_mbuffer / Rate.PicosPerMicro) * Rate.PicosPerMicro;

    private static Mode ModeOf(HtbClass c, Instant now)
    {
        long diff = Elapsed(c, now);
        if (c.CTokens + diff < 0)
        {
            return Mode.CantSend;
        }
        return c.Tokens + diff >= 0 ? Mode.CanSend : Mode.MayBorrow;
    }

    /// <summary>The level a leaf may send at now: 0 on its own tokens, an ancestor's level when borrowing from it, -1 when it may not.</summary>
    private static int SendLevel(HtbClass leaf, Instant now)
    {
        for (HtbClass? c = leaf; c is not null; c = c.Parent)
        {
            switch (ModeOf(c, now))
            {
                case Mode.CanSend:
                    return c.Level;
                case Mode.CantSend:
                    return -1;
            }
        }
        return -1;
    }

    /// <summary>
    /// The direct queue first (unshaped), then Linux's order: the lowest level at which a backlogged leaf may send (0: on its
    /// own rate; above: borrowing from its ancestor at that level), the lowest prio there, and among those a deficit round robin
    /// by quantum. The frame is charged along its path (htb_charge_class). Null when no leaf may send at <paramref name="now"/>,
    /// counted as an overlimit when frames wait.
    /// </summary>
    protected override PacketBuffer? DequeueCore(Instant now)
    {
        if (_direct.Dequeue(now) is PacketBuffer direct)
        {
            return direct;
        }
        int bestLevel = int.MaxValue, bestPrio = int.MaxValue;
        bool any = false;
        for (int i = 0; i < _leaves.Length; i++)
        {
            HtbClass leaf = _leaves[i];
            if (leaf.Leaf!.BacklogPackets == 0)
            {
                continue;
            }
            any = true;
            int level = SendLevel(leaf, now);
            if (level < 0 || leaf.Leaf.NextDequeueAt(now) > now)
            {
                continue;
            }
            if (level < bestLevel || (level == bestLevel && leaf.Prio < bestPrio))
            {
                bestLevel = level;
                bestPrio = leaf.Prio;
            }
        }
        if (bestLevel == int.MaxValue)
        {
            if (any)
            {
                Overlimits++;
            }
            return null;
        }
        // The deficit round robin among the leaves of this level and prio, from where it stopped.
        ref int pointer = ref _pointer[bestLevel * 8 + bestPrio];
        for (int k = 0; k < _leaves.Length; k++)
        {
            int i = (pointer + k) % _leaves.Length;
            HtbClass leaf = _leaves[i];
            if (leaf.Prio != bestPrio || leaf.Leaf!.BacklogPackets == 0 || leaf.Leaf.NextDequeueAt(now) > now || SendLevel(leaf, now) != bestLevel)
            {
                continue;
            }
            PacketBuffer? frame = leaf.Leaf.Dequeue(now);
            if (frame is null)
            {
                continue;
            }
            pointer = i;
            leaf.Deficit[bestLevel] -= frame.Length;
            if (leaf.Deficit[bestLevel] < 0)
            {
                leaf.Deficit[bestLevel] += leaf.Quantum;
                pointer = (i + 1) % _leaves.Length;
            }
            Charge(leaf, bestLevel, frame.Length, now);
            return frame;
        }
        return null;
    }

    /// <summary>htb_charge_class: the path from the leaf up pays ceil tokens; the lender and those above pay rate tokens too.</summary>
    private static void Charge(HtbClass leaf, int level, int bytes, Instant now)
    {
        for (HtbClass? c = leaf; c is not null; c = c.Parent)
        {
            long diff = Elapsed(c, now);
            if (c.Level >= level)
            {
                if (c.Level == level)
                {
                    c.Lends++;
                }
                c.Tokens = Account(c.Tokens + diff, c.Buffer, c.RateLimit.TransmitPicos(bytes));
            }
            else
            {
                c.Borrows++;
                c.Tokens += diff;
            }
            c.CTokens = Account(c.CTokens + diff, c.CBuffer, c.Ceil.TransmitPicos(bytes));
            c.Checkpoint = now;
            c.SentBytes += bytes;
            c.SentPackets++;
        }
    }

    private static long Account(long tokens, long buffer, long cost)
    {
        long t = Math.Min(tokens, buffer) - cost;
        return Math.Max(t, 1 - s_mbuffer);
    }

    /// <paramref name="now"/> when the direct queue holds frames or a leaf may send; otherwise the earliest instant at which a backlogged leaf may send (rate tokens back to zero at itself or an ancestor, and ceil tokens on the whole path up to it) and its own qdisc may too; <see cref="Instant.Never"/> when empty.
    protected override Instant NextDequeueAtCore(Instant now)
    {
        if (_direct.BacklogPackets > 0)
        {
            return now;
        }
        Instant at = Instant.Never;
        foreach (HtbClass leaf in _leaves)
        {
            if (leaf.Leaf!.BacklogPackets == 0)
            {
                continue;
            }
            at = Instant.Min(at, Instant.Max(EligibleAt(leaf, now), leaf.Leaf.NextDequeueAt(now)));
            if (at <= now)
            {
                return now;
            }
        }
        return at;
    }

    /// <summary>When <paramref name="leaf"/> may send if nothing else does: the earliest ancestor (itself included) whose rate tokens and the path's ceil tokens will all suffice.</summary>
    private static Instant EligibleAt(HtbClass leaf, Instant now)
    {
        long best = long.MaxValue, ceilWait = 0;
        for (HtbClass? c = leaf; c is not null; c = c.Parent)
        {
            long diff = Elapsed(c, now);
            ceilWait = Math.Max(ceilWait, -(c.CTokens + diff));
            long rateWait = Math.Max(0, -(c.Tokens + diff));
            best = Math.Min(best, Math.Max(ceilWait, rateWait));
        }
        return best <= 0 ? now : now + Rate.CeilMicros(best);
    }

    /// <summary>Resets every leaf's qdisc and the direct queue, freeing their frames; the buckets are kept.</summary>
    protected override void ResetCore()
    {
        _direct.Reset();
        foreach (HtbClass l in _leaves)
        {
            l.Leaf!.Reset();
        }
    }

    /// <summary>A tc-like summary: <c>htb default N classes C leaves L filters F</c>.</summary>
    public override string Describe() =>
        $"htb default {DefaultClass} classes {_classes.Length} leaves {_leaves.Length} filters {_filters.Length}";
}
