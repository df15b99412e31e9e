using Skiff.QDisc.Classify;

namespace Skiff.QDisc;

/// <summary>
/// prio (tc-prio(8), sch_prio.c) and pfifo_fast (sch_generic.c): N strict-priority bands, band 0 first. A frame goes to
/// the band of the first filter that matches, else to the band the priomap gives its priority (the one a socket or
/// hook set, or the one its TOS gives: <see cref="Priomap.PriorityOf"/>). Each band is a qdisc of its own (prio: pfifo
/// with the txqueuelen limit by default; pfifo_fast: its three fixed fifos).
/// </summary>
public sealed class PrioQDisc : QueueDiscipline
{
    private readonly QueueDiscipline[] _bands;
    private readonly byte[] _priomap;
    private readonly QDiscFilter[] _filters;

    /// <summary>A prio qdisc of <paramref name="bands"/> (2 to 16) bands under <paramref name="priomap"/> (16 band numbers; default Linux's), filters tried first.</summary>
    public PrioQDisc(QueueDiscipline[] bands, ReadOnlySpan<byte> priomap = default, QDiscFilter[]? filters = null, string kind = "prio") : base(kind)
    {
        ArgumentNullException.ThrowIfNull(bands);
        if (bands.Length is < 2 or > 16)
        {
            throw new ArgumentException($"prio has 2 to 16 bands; {bands.Length} were given.", nameof(bands));
        }
        _bands = bands;
        _priomap = priomap.IsEmpty ? Priomap.DefaultBands.ToArray() : priomap.ToArray();
        if (_priomap.Length != Priomap.Max + 1)
        {
            throw new ArgumentException($"A priomap has {Priomap.Max + 1} entries; {_priomap.Length} were given.", nameof(priomap));
        }
        foreach (byte band in _priomap)
        {
            if (band >= bands.Length)
            {
                throw new ArgumentException($"priomap names band {band}, but there are only {bands.Length} bands (0 to {bands.Length - 1}).", nameof(priomap));
            }
        }
        _filters = filters ?? [];
        foreach (QDiscFilter f in _filters)
        {
            if ((uint)f.Target >= (uint)bands.Length)
            {
                throw new ArgumentException($"The filter {f.Match} sends frames to band {f.Target}, but there are only {bands.Length} bands.", nameof(filters));
            }
        }
    }

    /// <summary>prio with Linux's defaults: 3 bands of pfifo (limit 1000), the default priomap.</summary>
    public static PrioQDisc Create(int bands = 3, ReadOnlySpan<byte> priomap = default, QDiscFilter[]? filters = null, int bandLimit = FifoQDisc.DefaultTxQueueLength)
    {
        QueueDiscipline[] children = new QueueDiscipline[bands];
        for (int i = 0; i < bands; i++)
        {
            children[i] = FifoQDisc.Packets(bandLimit);
        }
        return new PrioQDisc(children, priomap, filters);
    }

    /// <summary>pfifo_fast: three bands of txqueuelen packets each, the default priomap; no filters.</summary>
    public static PrioQDisc PfifoFast(int bandLimit = FifoQDisc.DefaultTxQueueLength) =>
        new([FifoQDisc.Packets(bandLimit), FifoQDisc.Packets(bandLimit), FifoQDisc.Packets(bandLimit)], kind: "pfifo_fast");

    /// <summary>The bands, band 0 first.</summary>
    public IReadOnlyList<QueueDiscipline> Bands => _bands;

    /// <summary>The number of bands, 2 to 16.</summary>
    public override int ChildCount => _bands.Length;

    /// <summary>Band <paramref name="index"/>'s qdisc (band 0 is served first).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside 0 to <see cref="ChildCount"/> - 1.</exception>
    public override QueueDiscipline Child(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _bands.Length);
        return _bands[index];
    }

    /// <summary>Frames queued in every band, plus one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets
    {
        get
        {
            int n = PeekedPackets;
            foreach (QueueDiscipline band in _bands)
            {
                n += band.BacklogPackets;
            }
            return n;
        }
    }

    /// <summary>Bytes queued in every band, plus the frame held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override long BacklogBytes
    {
        get
        {
            long n = PeekedBytes;
            foreach (QueueDiscipline band in _bands)
            {
                n += band.BacklogBytes;
            }
            return n;
        }
    }

    /// <summary>The band <paramref name="frame"/> belongs in: the first matching filter's, else the priomap's.</summary>
    public int Classify(PacketBuffer frame)
    {
        foreach (QDiscFilter f in _filters)
        {
            if (f.Match.Matches(frame))
            {
                return f.Target;
            }
        }
        return _priomap[Priomap.PriorityOf(frame) & Priomap.Max];
    }

    /// <summary>Queues <paramref name="frame"/> in the band <see cref="Classify"/> picks; the verdict is that band's.</summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now) => _bands[Classify(frame)].Enqueue(frame, now);

    /// <summary>Strict priority: the next frame of the lowest-numbered band that has one ready at <paramref name="now"/>; a band gets a turn only when every band before it has nothing to send. Null when none has.</summary>
    protected override PacketBuffer? DequeueCore(Instant now)
    {
        foreach (QueueDiscipline band in _bands)
        {
            if (band.Dequeue(now) is PacketBuffer frame)
            {
                return frame;
            }
        }
        return null;
    }

    /// <summary>The earliest instant any band may send: <paramref name="now"/> as soon as one can, <see cref="Instant.Never"/> when all are empty.</summary>
    protected override Instant NextDequeueAtCore(Instant now)
    {
        Instant at = Instant.Never;
        foreach (QueueDiscipline band in _bands)
        {
            at = Instant.Min(at, band.NextDequeueAt(now));
            if (at <= now)
            {
                return now;
            }
        }
        return at;
    }

    /// <summary>Resets every band, freeing its frames.</summary>
    protected override void ResetCore()
    {
        foreach (QueueDiscipline band in _bands)
        {
            band.Reset();
        }
    }

    /// <summary>tc's line: <c>prio bands N priomap ...</c>, or <c>pfifo_fast bands 3 priomap ...</c>.</summary>
    public override string Describe() =>
        Kind == "pfifo_fast" ? $"pfifo_fast bands 3 priomap {string.Join(' ', _priomap)}" : $"prio bands {_bands.Length} priomap {string.Join(' ', _priomap)}";
}
