namespace Skiff.QDisc;

/// <summary>
/// The token bucket filter (tc-tbf(8), sch_tbf.c): frames leave at <see cref="RateLimit"/> with bursts of up to
/// <see cref="BurstBytes"/>; with a peak rate, back-to-back frames are also spaced at <see cref="PeakRate"/> with a bucket
/// of one <see cref="Mtu"/>. Frames wait in an inner qdisc (bfifo of <see cref="LimitBytes"/>, which tc derives from
/// latency); a frame larger than the bucket can never leave and is dropped on arrival.
/// </summary>
/// <remarks>
/// Tokens are time, as in Linux: the bucket holds up to the time <see cref="BurstBytes"/> take at the rate; a frame
/// costs its transmit time; the bucket refills with elapsed time. When the head frame lacks tokens,
/// <see cref="QueueDiscipline.NextDequeueAt"/> is the exact microsecond at which it will have them (the engine sleeps until then:
/// tbf's watchdog), and each refused dequeue counts an overlimit.
/// </remarks>
public sealed class TbfQDisc : QueueDiscipline
{
    private readonly QueueDiscipline _inner;
    private readonly long _buffer;   // ps: the bucket
    private readonly long _mtuTime;  // ps: the peak bucket
    private long _tokens;            // ps
    private long _peakTokens;        // ps
    private Instant _checkpoint;     // t_c
    private bool _started;

    /// <summary>
    /// A TBF at <paramref name="rate"/> with a bucket of <paramref name="burstBytes"/>, holding at most
    /// <paramref name="limitBytes"/> in its bfifo; with <paramref name="peakRate"/>, <paramref name="mtu"/> is the peak bucket.
    /// </summary>
    public TbfQDisc(Rate rate, int burstBytes, int limitBytes, Rate? peakRate = null, int mtu = 0, QueueDiscipline? inner = null) : base("tbf")
    {
        if (rate.BitsPerSecond <= 0)
        {
            throw new ArgumentException("tbf needs a positive rate.", nameof(rate));
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(burstBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        if (peakRate is Rate p)
        {
            if (p.BitsPerSecond <= rate.BitsPerSecond)
            {
                throw new ArgumentException($"peakrate {p} must be above rate {rate}.", nameof(peakRate));
            }
            ArgumentOutOfRangeException.ThrowIfLessThan(mtu, 1, nameof(mtu));
        }
        RateLimit = rate;
        BurstBytes = burstBytes;
        LimitBytes = limitBytes;
        PeakRate = peakRate;
        Mtu = peakRate is null ? 0 : mtu;
        MaxFrameBytes = peakRate is null ? burstBytes : Math.Min(burstBytes, mtu);
        _buffer = rate.TransmitPicos(burstBytes);
        _mtuTime = peakRate is Rate peak ? peak.TransmitPicos(mtu) : 0;
        _tokens = _buffer;
        _peakTokens = _mtuTime;
        // tc lets a tbf's limit be below its largest frame; its bfifo then takes what the limit holds, as Linux's does.
        _inner = inner ?? FifoQDisc.Bytes(limitBytes, Math.Min(limitBytes, MaxFrameBytes));
    }

    /// <summary>tc's way: a limit from <paramref name="latency"/> (limit = rate x latency + burst, and with a peak rate at most peakrate x latency + mtu).</summary>
    public static TbfQDisc WithLatency(Rate rate, int burstBytes, Duration latency, Rate? peakRate = null, int mtu = 0)
    {
        long limit = rate.BytesIn(latency.TotalMicros * Rate.PicosPerMicro) + burstBytes;
        if (peakRate is Rate p)
        {
            limit = Math.Min(limit, p.BytesIn(latency.TotalMicros * Rate.PicosPerMicro) + mtu);
        }
        return new TbfQDisc(rate, burstBytes, (int)Math.Clamp(limit, 1, int.MaxValue), peakRate, mtu);
    }

    /// <summary>The rate frames leave at in the long run (tc's rate).</summary>
    public Rate RateLimit { get; }

    /// <summary>The bucket in bytes (tc's burst): what may leave back to back at line speed after the bucket filled while idle.</summary>
    public int BurstBytes { get; }

    /// <summary>Bytes the default inner bfifo holds (tc's limit, or what <see cref="WithLatency"/> derives); an inner qdisc given to the constructor keeps its own limit instead.</summary>
    public int LimitBytes { get; }

    /// <summary>The rate back-to-back frames are spaced at (tc's peakrate), above <see cref="RateLimit"/>; null for none.</summary>
    public Rate? PeakRate { get; }

    /// <summary>The peak bucket in bytes (tc's mtu, or minburst); 0 without a peak rate.</summary>
    public int Mtu { get; }

    /// <summary>The largest frame that can ever leave (tbf's max_size); larger ones are dropped on arrival.</summary>
    public int MaxFrameBytes { get; }

    /// <summary>The inner qdisc frames wait in.</summary>
    public QueueDiscipline Inner => _inner;

    /// <summary>1: the inner qdisc.</summary>
    public override int ChildCount => 1;

    /// <summary>The inner qdisc at index 0; any other index throws <see cref="ArgumentOutOfRangeException"/>.</summary>
    public override QueueDiscipline Child(int index) => index == 0 ? _inner : throw new ArgumentOutOfRangeException(nameof(index));

    /// <summary>Frames in the inner qdisc, plus one held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override int BacklogPackets => _inner.BacklogPackets + PeekedPackets;

    /// <summary>Bytes in the inner qdisc, plus the frame held by <see cref="QueueDiscipline.Peek"/>.</summary>
    public override long BacklogBytes => _inner.BacklogBytes + PeekedBytes;

    /// <summary>Drops <paramref name="frame"/> (<see cref="QDiscVerdict.Dropped"/>) when it is larger than <see cref="MaxFrameBytes"/>, as it could never leave; otherwise queues it in the inner qdisc, whose verdict this is. The first call starts the bucket's clock.</summary>
    public override QDiscVerdict Enqueue(PacketBuffer frame, Instant now)
    {
        if (!_started)
        {
            _checkpoint = now;
            _started = true;
        }
        if (frame.Length > MaxFrameBytes)
        {
            Drop(frame);
            return QDiscVerdict.Dropped;
        }
        return _inner.Enqueue(frame, now);
    }

    /// <summary>The tokens and peak tokens the bucket would hold at <paramref name="now"/> after sending <paramref name="length"/> bytes.</summary>
    private (long Tokens, long Peak) After(Instant now, int length)
    {
        long elapsed = Math.Min((now - _checkpoint).TotalMicros, _buffer / Rate.PicosPerMicro + 1) * Rate.PicosPerMicro;
        elapsed = Math.Min(Math.Max(elapsed, 0), _buffer);
        long peak = 0;
        if (PeakRate is Rate p)
        {
            peak = Math.Min(elapsed + _peakTokens, _mtuTime) - p.TransmitPicos(length);
        }
        long tokens = Math.Min(elapsed + _tokens, _buffer) - RateLimit.TransmitPicos(length);
        return (tokens, peak);
    }

    /// <summary>The inner qdisc's head frame when the bucket (and the peak bucket) holds its transmit time at <paramref name="now"/>: the tokens are charged and the frame leaves. Otherwise null, counted as an overlimit, and the frame stays at the head.</summary>
    protected override PacketBuffer? DequeueCore(Instant now)
    {
        PacketBuffer? head = _inner.Peek(now);
        if (head is null)
        {
            return null;
        }
        (long tokens, long peak) = After(now, head.Length);
        if ((tokens | peak) >= 0)
        {
            _checkpoint = now;
            _tokens = tokens;
            _peakTokens = peak;
            return _inner.Dequeue(now);
        }
        Overlimits++;
        return null;
    }

    /// <summary>When the head frame will have its tokens (tbf's watchdog): <paramref name="now"/> if it has them, else now plus the missing tokens' time rounded up to the microsecond; the inner qdisc's own answer when it offers no frame.</summary>
    protected override Instant NextDequeueAtCore(Instant now)
    {
        PacketBuffer? head = _inner.Peek(now);
        if (head is null)
        {
            return _inner.NextDequeueAt(now);
        }
        (long tokens, long peak) = After(now, head.Length);
        long missing = Math.Max(-tokens, -peak);
        return missing <= 0 ? now : now + Rate.CeilMicros(missing);
    }

    /// <summary>Resets the inner qdisc, freeing its frames; the tokens are kept.</summary>
    protected override void ResetCore() => _inner.Reset();

    /// <summary>tc's line: <c>tbf rate R burst Bb limit Lb</c>, with <c>peakrate P mtu Mb</c> when there is a peak rate.</summary>
    public override string Describe() =>
        $"tbf rate {RateLimit} burst {BurstBytes}b limit {LimitBytes}b" + (PeakRate is Rate p ? $" peakrate {p} mtu {Mtu}b" : "");
}
