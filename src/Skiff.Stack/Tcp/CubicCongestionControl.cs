namespace Skiff.Stack.Tcp;

/// <summary>
/// CUBIC (RFC 9438), Skiff's default congestion control, over the NewReno (RFC 6582) or SACK (RFC 6675)
/// recovery of <see cref="CongestionControl"/>. Window arithmetic is in segments as <see cref="double"/>
/// (RFC 9438 section 4.1 units: MSS and seconds); allocation-free; not thread-safe.
/// </summary>
/// <remarks>
/// Implemented: the cubic window W_cubic(t) = C*(t-K)^3 + W_max (section 4.2) with
/// K = cbrt((W_max - cwnd_epoch)/C); the target W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd] and growth
/// (target - cwnd)/cwnd per acknowledged SMSS (sections 4.3-4.5, byte-counted); the Reno-friendly
/// region W_est with alpha_cubic = 3(1-beta)/(1+beta), switching to 1 once W_est &gt;= cwnd_prior
/// (section 4.3); multiplicative decrease ssthresh = FlightSize*beta_cubic with a 2-SMSS floor
/// (section 4.6); fast convergence (section 4.7); timeouts (section 4.8: K = 0 and W_max = W_est =
/// cwnd at the start of the next congestion-avoidance stage).
/// Omitted: HyStart++ (RFC 9406; slow start runs until the first loss), spurious-loss undo
/// (section 4.9 is optional), and the application-limited rule of section 5.8 (the connection should not
/// report ACKs to <see cref="CongestionControl.OnAck"/> while it is not cwnd-limited if it wants it).
/// </remarks>
public sealed class CubicCongestionControl : CongestionControl
{
    /// <summary>C of RFC 9438 section 4.1 (segments per second cubed).</summary>
    public const double C = 0.4;

    /// <summary>beta_cubic of RFC 9438 section 4.6.</summary>
    public const double Beta = 0.7;

    /// <summary>alpha_cubic = 3*(1 - beta)/(1 + beta), RFC 9438 section 4.3.</summary>
    public const double Alpha = 3.0 * (1.0 - Beta) / (1.0 + Beta);

    private readonly bool _fastConvergence;
    private bool _epochStarted;
    private bool _timeoutEpoch;
    private long _epochStartMicros;
    private double _cwndEpochSegments;
    private double _cwndPriorSegments;
    private double _carryBytes;
    private double _undoWMax;
    private double _undoCwndPrior;

    /// <summary>See <see cref="CongestionControl"/>'s constructor; <paramref name="fastConvergence"/> enables RFC 9438 section 4.7 (default on).</summary>
    public CubicCongestionControl(int maxSegmentBytes, SeqNumber initialSendSequence, bool sackRecovery = false, bool synRetransmitted = false, int slowStartLimitSegments = 2, bool fastConvergence = true)
        : base(maxSegmentBytes, initialSendSequence, sackRecovery, synRetransmitted, slowStartLimitSegments)
    {
        _fastConvergence = fastConvergence;
    }

    /// <summary>Forgets the CUBIC epoch, W_max, K and the Reno estimate, as before the first loss (RFC 9438 section 4).</summary>
    protected override void OnRestart()
    {
        _epochStarted = false;
        _timeoutEpoch = false;
        _epochStartMicros = 0;
        _cwndEpochSegments = 0;
        _cwndPriorSegments = 0;
        _carryBytes = 0;
        WMaxSegments = 0;
        KSeconds = 0;
        RenoEstimateSegments = 0;
    }

    /// <summary>W_max in segments: the window just before the last reduction (after fast convergence); 0 before any loss.</summary>
    public double WMaxSegments { get; private set; }

    /// <summary>K in seconds for the current congestion-avoidance epoch.</summary>
    public double KSeconds { get; private set; }

    /// <summary>W_est in segments, the Reno-friendly estimate of RFC 9438 section 4.3.</summary>
    public double RenoEstimateSegments { get; private set; }

    /// <summary>
    /// RFC 9438 section 4.2-4.5, once per ACK in congestion avoidance. <paramref name="rtt"/> is SRTT
    /// (section 4.2 uses it to aim at W_cubic(t + RTT)).
    /// </summary>
    protected override void OnCongestionAvoidanceAck(long bytesAcked, Instant now, Duration rtt)
    {
        double smss = MaxSegmentBytes;
        double cwnd = CongestionWindowBytes / smss;
        if (!_epochStarted)
        {
            StartEpoch(now, cwnd);
        }

        double t = (now.TotalMicros - _epochStartMicros) / 1e6;
        double segmentsAcked = bytesAcked / smss;

        // Section 4.3: W_est grows by alpha_cubic per window acknowledged; alpha becomes 1 at cwnd_prior.
        double alpha = RenoEstimateSegments >= _cwndPriorSegments ? 1.0 : Alpha;
        RenoEstimateSegments += alpha * segmentsAcked / cwnd;

        double cubicNow = CubicWindow(t);
        double newCwnd;
        if (cubicNow < RenoEstimateSegments)
        {
            // Section 4.3: in the Reno-friendly region cwnd SHOULD be set to W_est.
            newCwnd = Math.Max(cwnd, RenoEstimateSegments);
        }
        else
        {
            // Section 4.2/4.4/4.5: target = W_cubic(t + RTT) clamped to [cwnd, 1.5*cwnd];
            // cwnd += (target - cwnd)/cwnd per acknowledged segment.
            double target = CubicWindow(t + rtt.TotalSeconds);
            target = Math.Clamp(target, cwnd, 1.5 * cwnd);
            newCwnd = cwnd + ((target - cwnd) / cwnd * segmentsAcked);
        }

        double bytes = (newCwnd * smss) + _carryBytes;
        long whole = (long)Math.Floor(bytes);
        if (whole > CongestionWindowBytes)
        {
            _carryBytes = bytes - whole;
            CongestionWindowBytes = whole;
        }
        else
        {
            _carryBytes = Math.Max(bytes - CongestionWindowBytes, 0);
        }
    }

    /// <summary>
    /// RFC 9438 section 4.6 and 4.7: W_max (with fast convergence), cwnd_prior, and
    /// ssthresh = FlightSize * beta_cubic. The epoch restarts at the next congestion-avoidance ACK.
    /// </summary>
    protected override long SlowStartThresholdAfterLoss(long flightSizeBytes, Instant now, bool isTimeout)
    {
        double cwnd = CongestionWindowBytes / (double)MaxSegmentBytes;
        // Section 4.7: if the window did not reach the previous W_max, release bandwidth faster.
        WMaxSegments = _fastConvergence && cwnd < WMaxSegments ? cwnd * (1.0 + Beta) / 2.0 : cwnd;
        _cwndPriorSegments = cwnd;
        _epochStarted = false;
        _carryBytes = 0;
        return (long)(flightSizeBytes * Beta);
    }

    /// <inheritdoc/>
    protected override void OnRecoveryExited(Instant now) => _epochStarted = false;

    /// <inheritdoc/>
    protected override void OnSaveUndo()
    {
        _undoWMax = WMaxSegments;
        _undoCwndPrior = _cwndPriorSegments;
    }

    /// <inheritdoc/>
    /// <remarks>RFC 9438 section 4.9: a spurious congestion event restores W_max and cwnd_prior; a new epoch starts.</remarks>
    protected override void OnUndo()
    {
        WMaxSegments = _undoWMax;
        _cwndPriorSegments = _undoCwndPrior;
        _epochStarted = false;
        _timeoutEpoch = false;
        _carryBytes = 0;
    }

    /// <summary>RFC 9438 section 4.8: the next congestion-avoidance stage starts with K = 0 and W_max = cwnd.</summary>
    protected override void OnTimeoutReset(Instant now)
    {
        _epochStarted = false;
        _timeoutEpoch = true;
    }

    private void StartEpoch(Instant now, double cwnd)
    {
        _epochStarted = true;
        _epochStartMicros = now.TotalMicros;
        _cwndEpochSegments = cwnd;
        _carryBytes = 0;
        if (_timeoutEpoch || WMaxSegments <= cwnd)
        {
            // Section 4.8 after a timeout (and likewise when cwnd already exceeds W_max): K = 0, W_max = cwnd.
            KSeconds = 0;
            WMaxSegments = cwnd;
        }
        else
        {
            // Section 4.2, Figure 2.
            KSeconds = Math.Cbrt((WMaxSegments - _cwndEpochSegments) / C);
        }
        _timeoutEpoch = false;
        // Section 4.3: W_est starts at cwnd_epoch.
        RenoEstimateSegments = cwnd;
    }

    private double CubicWindow(double tSeconds)
    {
        double d = tSeconds - KSeconds;
        return (C * d * d * d) + WMaxSegments;
    }
}
