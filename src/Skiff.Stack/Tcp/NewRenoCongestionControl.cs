namespace Skiff.Stack.Tcp;

/// <summary>
/// Reno congestion avoidance (RFC 5681 section 3.1) with RFC 3465 byte counting, over the NewReno
/// (RFC 6582) or SACK (RFC 6675) recovery of <see cref="CongestionControl"/>. Allocation-free; not thread-safe.
/// </summary>
public sealed class NewRenoCongestionControl : CongestionControl
{
    private long _bytesAckedInAvoidance;

    /// <summary>See <see cref="CongestionControl"/>'s constructor for the parameters.</summary>
    public NewRenoCongestionControl(int maxSegmentBytes, SeqNumber initialSendSequence, bool sackRecovery = false, bool synRetransmitted = false, int slowStartLimitSegments = 2)
        : base(maxSegmentBytes, initialSendSequence, sackRecovery, synRetransmitted, slowStartLimitSegments)
    {
    }

    /// <summary>Forgets the bytes acknowledged towards the next congestion-avoidance increase.</summary>
    protected override void OnRestart() => _bytesAckedInAvoidance = 0;

    /// <summary>
    /// RFC 3465 section 2.1: bytes acknowledged accumulate; each time they reach cwnd, cwnd grows by
    /// one SMSS and cwnd is subtracted, i.e. about SMSS*SMSS/cwnd per ACK (RFC 5681 equation 3),
    /// exactly one SMSS per window of data acknowledged.
    /// </summary>
    protected override void OnCongestionAvoidanceAck(long bytesAcked, Instant now, Duration rtt)
    {
        _bytesAckedInAvoidance += bytesAcked;
        if (_bytesAckedInAvoidance >= CongestionWindowBytes)
        {
            _bytesAckedInAvoidance -= CongestionWindowBytes;
            CongestionWindowBytes += MaxSegmentBytes;
        }
    }

    /// <summary>RFC 5681 equation 4: ssthresh = max(FlightSize / 2, 2*SMSS) (the floor is applied by the base).</summary>
    protected override long SlowStartThresholdAfterLoss(long flightSizeBytes, Instant now, bool isTimeout)
    {
        _bytesAckedInAvoidance = 0;
        return flightSizeBytes / 2;
    }
}
