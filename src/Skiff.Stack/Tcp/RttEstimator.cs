namespace Skiff.Stack.Tcp;

/// <summary>
/// The retransmission timer's estimator of RFC 6298: SRTT and RTTVAR, RTO = SRTT + max(G, K*RTTVAR)
/// with K = 4, Karn's algorithm and exponential backoff. Sans-I/O: the caller measures samples with the
/// instants it passes around and hands in <see cref="Duration"/>s. Allocation-free; not thread-safe
/// (one estimator per connection, used on the connection's core).
/// </summary>
/// <remarks>
/// Minimum RTO: RFC 6298 section 2.4 says 1 s; Skiff defaults to 200 ms like Linux (TCP_RTO_MIN),
/// because a 1 s floor cripples loss recovery on data-centre and LAN paths where Skiff is meant to run,
/// and RFC 6298 section 2.4 itself notes the 1 s floor is conservative. Pass 1 s to follow the RFC to
/// the letter. With RFC 7323 timestamps every sample is valid (RFC 7323 section 4.2 / 3.2 removes
/// Karn's ambiguity); Skiff applies each sample with RFC 6298's gains and does not scale the gains
/// by the samples per window (RFC 7323 Appendix G is a "MAY").
/// </remarks>
public sealed class RttEstimator
{
    /// <summary>K in RFC 6298 section 2.</summary>
    public const int VarianceMultiplier = 4;

    /// <summary>RFC 6298 section 2.1: before any sample, RTO is 1 s.</summary>
    public static readonly Duration DefaultInitialRto = Duration.FromSeconds(1);

    /// <summary>Linux's floor (200 ms); RFC 6298 section 2.4 recommends 1 s. See the class remarks.</summary>
    public static readonly Duration DefaultMinRto = Duration.FromMillis(200);

    /// <summary>RFC 6298 section 2.5: a maximum may be placed on RTO provided it is at least 60 s.</summary>
    public static readonly Duration DefaultMaxRto = Duration.FromSeconds(60);

    /// <summary>Clock granularity G of RFC 6298 section 2; Skiff's clock is microseconds, 1 ms is conservative.</summary>
    public static readonly Duration DefaultClockGranularity = Duration.FromMillis(1);

    /// <summary>RFC 6298 section 5.7: after a SYN timeout, RTO restarts at 3 s when data transmission begins.</summary>
    public static readonly Duration SynTimeoutRto = Duration.FromSeconds(3);

    private readonly long _granularityMicros;
    private readonly long _minRtoMicros;
    private readonly long _maxRtoMicros;
    private readonly long _initialRtoMicros;
    private long _srttMicros;
    private long _rttvarMicros;
    private long _baseRtoMicros;
    private long _rtoMicros;
    private long _minRttMicros = long.MaxValue;

    /// <summary>Creates an estimator with Skiff's defaults (G 1 ms, min 200 ms, max 60 s, initial 1 s).</summary>
    public RttEstimator()
        : this(DefaultClockGranularity, DefaultMinRto, DefaultMaxRto, DefaultInitialRto)
    {
    }

    /// <summary>
    /// Creates an estimator. Throws <see cref="ArgumentOutOfRangeException"/> unless
    /// 0 &lt; granularity, 0 &lt; minRto &lt;= initialRto &lt;= maxRto.
    /// </summary>
    public RttEstimator(Duration clockGranularity, Duration minRto, Duration maxRto, Duration initialRto)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(clockGranularity.TotalMicros, 0, nameof(clockGranularity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(minRto.TotalMicros, 0, nameof(minRto));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRto.TotalMicros, minRto.TotalMicros, nameof(maxRto));
        ArgumentOutOfRangeException.ThrowIfLessThan(initialRto.TotalMicros, minRto.TotalMicros, nameof(initialRto));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(initialRto.TotalMicros, maxRto.TotalMicros, nameof(initialRto));
        _granularityMicros = clockGranularity.TotalMicros;
        _minRtoMicros = minRto.TotalMicros;
        _maxRtoMicros = maxRto.TotalMicros;
        _initialRtoMicros = initialRto.TotalMicros;
        _baseRtoMicros = _initialRtoMicros;
        _rtoMicros = _initialRtoMicros;
    }

    /// <summary>True if this estimator was built with these bounds (a pooled socket can then <see cref="Restart"/> it).</summary>
    public bool HasBounds(Duration minRto, Duration maxRto, Duration initialRto) =>
        _minRtoMicros == minRto.TotalMicros && _maxRtoMicros == maxRto.TotalMicros && _initialRtoMicros == initialRto.TotalMicros;

    /// <summary>Forgets every sample: the state the constructor leaves, for the next connection.</summary>
    public void Restart()
    {
        _srttMicros = 0;
        _rttvarMicros = 0;
        _baseRtoMicros = _initialRtoMicros;
        _rtoMicros = _initialRtoMicros;
        _minRttMicros = long.MaxValue;
        LatestRtt = Duration.Zero;
        HasSample = false;
        BackoffCount = 0;
        RejectedSamples = 0;
    }

    /// <summary>The current retransmission timeout, backoff included. Always within [min, max].</summary>
    public Duration Rto => new(_rtoMicros);

    /// <summary>SRTT; <see cref="Duration.Zero"/> until <see cref="HasSample"/>.</summary>
    public Duration SmoothedRtt => new(_srttMicros);

    /// <summary>RTTVAR; <see cref="Duration.Zero"/> until <see cref="HasSample"/>.</summary>
    public Duration RttVariance => new(_rttvarMicros);

    /// <summary>The smallest valid sample seen (for congestion control); <see cref="Duration.Infinite"/> before any.</summary>
    public Duration MinRtt => _minRttMicros == long.MaxValue ? Duration.Infinite : new(_minRttMicros);

    /// <summary>The most recent valid sample; <see cref="Duration.Zero"/> before any.</summary>
    public Duration LatestRtt { get; private set; }

    /// <summary>True once a valid sample has been taken (RFC 6298 section 2.2 has run).</summary>
    public bool HasSample { get; private set; }

    /// <summary>How many times <see cref="Backoff"/> has doubled the RTO since the last valid sample.</summary>
    public int BackoffCount { get; private set; }

    /// <summary>Samples refused by Karn's algorithm (retransmitted segment, no timestamp) or because negative.</summary>
    public long RejectedSamples { get; private set; }

    /// <summary>
    /// Feeds one RTT measurement. Per Karn's algorithm (RFC 6298 section 3) a sample taken from a
    /// retransmitted segment is ignored unless it was measured with RFC 7323 timestamps
    /// (<paramref name="fromTimestamp"/>), which are unambiguous. A negative sample is ignored.
    /// A used sample updates SRTT/RTTVAR by RFC 6298 sections 2.2/2.3, recomputes RTO and clears any
    /// backoff (section 5, the backed-off RTO is kept only until a valid sample arrives).
    /// </summary>
    /// <returns>True when the sample was used.</returns>
    public bool OnSample(Duration rtt, bool fromRetransmittedSegment, bool fromTimestamp = false)
    {
        long r = rtt.TotalMicros;
        if (r < 0 || (fromRetransmittedSegment && !fromTimestamp))
        {
            RejectedSamples++;
            return false;
        }

        if (!HasSample)
        {
            // RFC 6298 section 2.2: SRTT <- R, RTTVAR <- R/2.
            _srttMicros = r;
            _rttvarMicros = r / 2;
            HasSample = true;
        }
        else
        {
            // RFC 6298 section 2.3, alpha = 1/8, beta = 1/4; RTTVAR uses the SRTT from before this update.
            long error = Math.Abs(_srttMicros - r);
            _rttvarMicros = ((3 * _rttvarMicros) + error) / 4;
            _srttMicros = ((7 * _srttMicros) + r) / 8;
        }

        LatestRtt = rtt;
        if (r < _minRttMicros)
        {
            _minRttMicros = r;
        }

        // RFC 6298 sections 2.2-2.5: RTO = SRTT + max(G, K*RTTVAR), clamped to [min, max].
        _baseRtoMicros = Math.Clamp(_srttMicros + Math.Max(_granularityMicros, VarianceMultiplier * _rttvarMicros), _minRtoMicros, _maxRtoMicros);
        _rtoMicros = _baseRtoMicros;
        BackoffCount = 0;
        return true;
    }

    /// <summary>
    /// RFC 6298 section 5.5: the retransmission timer expired, so RTO doubles, capped at the maximum
    /// (section 2.5). The doubled value stays until the next valid sample.
    /// </summary>
    public void Backoff()
    {
        BackoffCount++;
        _rtoMicros = _rtoMicros >= _maxRtoMicros / 2 ? _maxRtoMicros : _rtoMicros * 2;
    }

    /// <summary>
    /// RFC 6298 section 5.7: if the timer expired while awaiting the ACK of a SYN and RTO is below 3 s,
    /// RTO is re-initialised to 3 s when data transmission begins. Call once the connection is established
    /// after such a timeout. Clamped to the configured maximum.
    /// </summary>
    public void ResetAfterSynTimeout()
    {
        long threeSeconds = Math.Min(SynTimeoutRto.TotalMicros, _maxRtoMicros);
        if (_baseRtoMicros < threeSeconds)
        {
            _baseRtoMicros = threeSeconds;
        }
        _rtoMicros = _baseRtoMicros;
        BackoffCount = 0;
    }
}
