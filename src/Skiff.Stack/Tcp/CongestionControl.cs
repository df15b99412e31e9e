namespace Skiff.Stack.Tcp;

/// <summary>
/// Sender congestion control for one connection: the window (cwnd), the slow-start threshold, and the
/// fast retransmit / fast recovery machinery shared by every algorithm (RFC 5681 sections 3.1-3.2,
/// RFC 6582 NewReno recovery, or RFC 6675 SACK recovery when constructed with <c>sackRecovery</c>).
/// Subclasses decide only the growth in congestion avoidance and the threshold after a loss.
/// </summary>
/// <remarks>
/// <para>Sans-I/O and allocation-free; not thread-safe (one instance per connection, on its core).
/// All byte counts are bytes; <c>flightSizeBytes</c> is RFC 5681's FlightSize (SND.MAX - SND.UNA less
/// anything known to have left the network), <c>sndMax</c> is one past the highest sequence number
/// ever sent (SND.MAX; not SND.NXT, which an RTO rewinds).</para>
/// <para><b>Calling sequence</b> for each arriving ACK the state machine has found acceptable
/// (RFC 9293 section 3.10.7.4):</para>
/// <list type="number">
/// <item>ACK advances SND.UNA by <c>n</c> bytes to <c>ack</c>:
///   if <see cref="InRecovery"/> and <see cref="IsFullAck"/>(ack): <see cref="OnExitRecovery"/>(flight after the ACK, now);
///   else if <see cref="InRecovery"/>: act on <see cref="OnPartialAck"/>(n) (retransmit SND.UNA, restart the timer);
///   else <see cref="OnAck"/>(n, now, SRTT).</item>
/// <item>A duplicate ACK (RFC 5681 section 2; with SACK, RFC 6675 section 2: one that SACKs new data):
///   if <see cref="OnDuplicateAck"/>(ack, flight, SND.MAX, now) returns true, fast-retransmit the
///   segment at SND.UNA (with SACK: <c>scoreboard.BeginRecovery()</c> then the NextSeg loop).</item>
/// <item>SACK only (RFC 6675 section 5 step 2): if not in recovery, fewer than DupThresh duplicates, and
///   <c>scoreboard.IsLost(SND.UNA)</c>, call <see cref="OnEnterRecovery"/> yourself, then as above.</item>
/// <item>Retransmission timer expiry: <see cref="OnRetransmitTimeout"/>(flight, SND.MAX, now), then
///   retransmit from SND.UNA (and <c>RttEstimator.Backoff()</c>, <c>scoreboard.Reset()</c>).</item>
/// </list>
/// <para>The sender may have <c>min(cwnd, rwnd) - flight</c> bytes outstanding (RFC 5681 section 3);
/// in SACK recovery it sends while <c>cwnd - pipe &gt;= SMSS</c> (RFC 6675 section 5 step C).</para>
/// </remarks>
public abstract class CongestionControl
{
    /// <summary>DupThresh: duplicate ACKs that trigger fast retransmit (RFC 5681 section 3.2, RFC 6675 section 2).</summary>
    public const int DuplicateAckThreshold = 3;

    /// <summary>
    /// Upper bound on cwnd: 2^30 bytes, the largest window a peer can advertise (RFC 7323 section 2.3:
    /// 65535 shifted by at most 14). Growth beyond it could never be used, so it is refused.
    /// </summary>
    public const long MaxCongestionWindowBytes = 1L << 30;

    private long _slowStartLimitBytes;
    private bool _slowStartAfterTimeout;
    private bool _timeoutWithoutProgress;
    private bool _partialAckSeen;
    private long _recoverFs;
    private bool _undoValid;
    private long _undoCwnd;
    private long _undoSsthresh;
    private SeqNumber _undoRecoverSeq;

    /// <summary>
    /// Creates the controller once the handshake has fixed SMSS and the ISS.
    /// </summary>
    /// <param name="maxSegmentBytes">SMSS (RFC 5681 section 2), at least 1.</param>
    /// <param name="initialSendSequence">ISS: RFC 6582 section 3.2 step 1 initialises <c>recover</c> to it.</param>
    /// <param name="sackRecovery">True when SACK was negotiated: recovery follows RFC 6675 (cwnd = ssthresh, no inflation) and the connection drives retransmission with <see cref="SackScoreboard"/>.</param>
    /// <param name="synRetransmitted">True when the SYN or SYN-ACK was retransmitted: the initial window is one segment (RFC 5681 section 3.1, RFC 6928 section 2).</param>
    /// <param name="slowStartLimitSegments">L of RFC 3465 section 2.3: the most one ACK may grow cwnd in slow start, in SMSS (default 2).</param>
    protected CongestionControl(int maxSegmentBytes, SeqNumber initialSendSequence, bool sackRecovery, bool synRetransmitted, int slowStartLimitSegments)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slowStartLimitSegments, 1);
        MaxSegmentBytes = maxSegmentBytes;
        SackRecovery = sackRecovery;
        _slowStartLimitBytes = (long)slowStartLimitSegments * maxSegmentBytes;
        CongestionWindowBytes = synRetransmitted ? maxSegmentBytes : InitialWindowBytes(maxSegmentBytes);
        // RFC 5681 section 3.1: the initial ssthresh SHOULD be arbitrarily high.
        SlowStartThresholdBytes = long.MaxValue;
        RecoverSeq = initialSendSequence;
    }

    /// <summary>
    /// Makes a pooled instance new again for the next connection, exactly as the constructor leaves it
    /// (a connection pool reuses one controller per socket instead of allocating one per connection).
    /// </summary>
    public void Restart(int maxSegmentBytes, SeqNumber initialSendSequence, bool sackRecovery, bool synRetransmitted)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentBytes, 1);
        long limitSegments = _slowStartLimitBytes / MaxSegmentBytes;
        MaxSegmentBytes = maxSegmentBytes;
        SackRecovery = sackRecovery;
        _slowStartLimitBytes = limitSegments * maxSegmentBytes;
        CongestionWindowBytes = synRetransmitted ? maxSegmentBytes : InitialWindowBytes(maxSegmentBytes);
        SlowStartThresholdBytes = long.MaxValue;
        RecoverSeq = initialSendSequence;
        _slowStartAfterTimeout = false;
        _timeoutWithoutProgress = false;
        _partialAckSeen = false;
        _recoverFs = 0;
        _undoValid = false;
        PrrDelivered = 0;
        PrrOut = 0;
        Undos = 0;
        InRecovery = false;
        DuplicateAckCount = 0;
        FastRecoveries = 0;
        RetransmitTimeouts = 0;
        SuppressedFastRetransmits = 0;
        OnRestart();
    }

    /// <summary>Resets the algorithm's own state for <see cref="Restart"/>.</summary>
    protected abstract void OnRestart();

    /// <summary>SMSS in bytes.</summary>
    public int MaxSegmentBytes { get; private set; }

    /// <summary>True when recovery follows RFC 6675 (SACK) rather than RFC 6582 (NewReno).</summary>
    public bool SackRecovery { get; private set; }

    /// <summary>cwnd in bytes; never below one SMSS.</summary>
    public long CongestionWindowBytes { get; protected set; }

    /// <summary>ssthresh in bytes; <see cref="long.MaxValue"/> until the first loss.</summary>
    public long SlowStartThresholdBytes { get; protected set; }

    /// <summary>True between entering fast recovery and the full ACK (or an RTO).</summary>
    public bool InRecovery { get; private set; }

    /// <summary>
    /// RFC 6582's <c>recover</c> (RFC 6675's RecoveryPoint), stored as one past the highest sequence number
    /// sent when recovery or the last RTO began (so RFC 6582's value is <c>RecoverSeq - 1</c>).
    /// An ACK at or beyond it is a full ACK.
    /// </summary>
    public SeqNumber RecoverSeq { get; private set; }

    /// <summary>Consecutive duplicate ACKs since the last ACK that advanced SND.UNA.</summary>
    public int DuplicateAckCount { get; private set; }

    /// <summary>True while cwnd &lt; ssthresh (RFC 5681 section 3.1; at equality Skiff uses congestion avoidance).</summary>
    public bool InSlowStart => CongestionWindowBytes < SlowStartThresholdBytes;

    /// <summary>Fast recoveries entered.</summary>
    public long FastRecoveries { get; private set; }

    /// <summary>Retransmission timeouts reported.</summary>
    public long RetransmitTimeouts { get; private set; }

    /// <summary>Third duplicate ACKs that did not start recovery because they did not cover <see cref="RecoverSeq"/> (RFC 6582 section 3.2 step 2).</summary>
    public long SuppressedFastRetransmits { get; private set; }

    /// <summary>prr_delivered of RFC 6937: bytes delivered to the receiver (cumulatively ACKed or SACKed) since recovery began.</summary>
    public long PrrDelivered { get; private set; }

    /// <summary>prr_out of RFC 6937: bytes sent (new or again) since recovery began.</summary>
    public long PrrOut { get; private set; }

    /// <summary>Loss responses undone as spurious (<see cref="UndoLossResponse"/>).</summary>
    public long Undos { get; private set; }

    /// <summary>True while the window from before the current loss response is kept for <see cref="UndoLossResponse"/>.</summary>
    public bool CanUndo => _undoValid;

    /// <summary>IW of RFC 6928 section 2: min(10*MSS, max(2*MSS, 14600)).</summary>
    public static long InitialWindowBytes(int maxSegmentBytes) =>
        Math.Min(10L * maxSegmentBytes, Math.Max(2L * maxSegmentBytes, 14600));

    /// <summary>True when <paramref name="ack"/> covers <see cref="RecoverSeq"/> (RFC 6582 section 3.2 step 3 "full acknowledgment").</summary>
    public bool IsFullAck(SeqNumber ack) => ack >= RecoverSeq;

    /// <summary>
    /// An ACK advanced SND.UNA by <paramref name="bytesAcked"/> outside recovery: grow cwnd by slow start
    /// (RFC 5681 section 3.1 with RFC 3465 byte counting: cwnd += min(N, L*SMSS)) or by the subclass's
    /// congestion avoidance. Resets the duplicate-ACK count. During recovery it changes nothing but the
    /// count (use <see cref="OnPartialAck"/> / <see cref="OnExitRecovery"/> there).
    /// </summary>
    /// <param name="bytesAcked">Bytes newly acknowledged by this ACK (SEG.ACK - old SND.UNA).</param>
    /// <param name="now">The current instant (CUBIC's time axis).</param>
    /// <param name="rtt">SRTT (or the latest sample); <see cref="Duration.Zero"/> when none yet.</param>
    public void OnAck(long bytesAcked, Instant now, Duration rtt)
    {
        DuplicateAckCount = 0;
        if (InRecovery || bytesAcked <= 0)
        {
            return;
        }
        _timeoutWithoutProgress = false;
        if (InSlowStart)
        {
            long limit = _slowStartAfterTimeout ? MaxSegmentBytes : _slowStartLimitBytes;
            CongestionWindowBytes = Math.Min(CongestionWindowBytes + Math.Min(bytesAcked, limit), MaxCongestionWindowBytes);
            return;
        }
        _slowStartAfterTimeout = false;
        OnCongestionAvoidanceAck(bytesAcked, now, rtt);
        CongestionWindowBytes = Math.Min(CongestionWindowBytes, MaxCongestionWindowBytes);
    }

    /// <summary>
    /// A duplicate ACK arrived. Outside recovery it counts; the DupThresh-th one enters fast recovery and
    /// returns true (RFC 5681 section 3.2 step 2) unless <paramref name="ack"/> does not cover
    /// <see cref="RecoverSeq"/>, in which case RFC 6582 section 3.2 step 2 says wait for the timer (false,
    /// counted in <see cref="SuppressedFastRetransmits"/>). In NewReno recovery each further duplicate
    /// inflates cwnd by SMSS (RFC 5681 section 3.2 step 4); in SACK recovery it changes nothing.
    /// </summary>
    /// <returns>True exactly when the connection must fast-retransmit now (recovery has just been entered).</returns>
    public bool OnDuplicateAck(SeqNumber ack, long flightSizeBytes, SeqNumber sndMax, Instant now)
    {
        if (InRecovery)
        {
            if (!SackRecovery)
            {
                CongestionWindowBytes = Math.Min(CongestionWindowBytes + MaxSegmentBytes, MaxCongestionWindowBytes);
            }
            return false;
        }
        DuplicateAckCount++;
        if (DuplicateAckCount != DuplicateAckThreshold)
        {
            return false;
        }
        if (ack < RecoverSeq)
        {
            SuppressedFastRetransmits++;
            return false;
        }
        OnEnterRecovery(flightSizeBytes, sndMax, now);
        return true;
    }

    /// <summary>
    /// Enters fast recovery: <c>recover</c> = SND.MAX (RFC 6582 section 3.2 step 2), ssthresh from the
    /// subclass (RFC 5681 equation 4 for NewReno), cwnd = ssthresh + 3*SMSS (RFC 5681 section 3.2 step 3)
    /// or, with SACK, cwnd = ssthresh (RFC 6675 section 5 step 4.2). Called by <see cref="OnDuplicateAck"/>;
    /// call it directly only for RFC 6675's IsLost trigger. No-op when already in recovery.
    /// The connection retransmits the segment at SND.UNA.
    /// </summary>
    public void OnEnterRecovery(long flightSizeBytes, SeqNumber sndMax, Instant now)
    {
        if (InRecovery)
        {
            return;
        }
        SaveUndo();
        InRecovery = true;
        _partialAckSeen = false;
        FastRecoveries++;
        RecoverSeq = sndMax;
        _recoverFs = Math.Max(flightSizeBytes, 1);
        PrrDelivered = 0;
        PrrOut = 0;
        long ssthresh = Math.Max(SlowStartThresholdAfterLoss(flightSizeBytes, now, isTimeout: false), 2L * MaxSegmentBytes);
        SlowStartThresholdBytes = ssthresh;
        CongestionWindowBytes = SackRecovery ? ssthresh : ssthresh + (DuplicateAckThreshold * (long)MaxSegmentBytes);
    }

    /// <summary>
    /// A partial ACK in recovery (SND.UNA advanced by <paramref name="bytesAcked"/> but not to <see cref="RecoverSeq"/>).
    /// NewReno (RFC 6582 section 3.2 step 3): deflate cwnd by the bytes acknowledged, add back SMSS if at
    /// least SMSS was acknowledged, and ask for the first unacknowledged segment to be retransmitted.
    /// SACK (RFC 6675 section 5 step B): cwnd is unchanged and the scoreboard picks what to send.
    /// Either way the first partial ACK of a recovery restarts the retransmission timer (RFC 6582 section 4).
    /// Outside recovery returns <see cref="PartialAckAction.None"/> and changes nothing.
    /// </summary>
    public PartialAckAction OnPartialAck(long bytesAcked)
    {
        if (!InRecovery)
        {
            return PartialAckAction.None;
        }
        DuplicateAckCount = 0;
        _timeoutWithoutProgress = false;
        PartialAckAction action = _partialAckSeen ? PartialAckAction.None : PartialAckAction.RestartRetransmitTimer;
        _partialAckSeen = true;
        if (SackRecovery)
        {
            return action;
        }
        long cwnd = CongestionWindowBytes - Math.Max(bytesAcked, 0);
        if (bytesAcked >= MaxSegmentBytes)
        {
            cwnd += MaxSegmentBytes;
        }
        CongestionWindowBytes = Math.Max(cwnd, MaxSegmentBytes);
        return action | PartialAckAction.RetransmitFirstUnacked;
    }

    /// <summary>
    /// The full ACK: leaves recovery. NewReno (RFC 6582 section 3.2 step 3, option 1):
    /// cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) with FlightSize measured after this ACK,
    /// which avoids a burst. SACK (RFC 6675 section 5 step A): cwnd stays at ssthresh.
    /// Then the subclass starts a new congestion-avoidance epoch. No-op outside recovery.
    /// </summary>
    public void OnExitRecovery(long flightSizeBytes, Instant now)
    {
        if (!InRecovery)
        {
            return;
        }
        InRecovery = false;
        DuplicateAckCount = 0;
        if (!SackRecovery)
        {
            CongestionWindowBytes = Math.Min(SlowStartThresholdBytes, Math.Max(flightSizeBytes, MaxSegmentBytes) + MaxSegmentBytes);
        }
        else
        {
            // RFC 6937 section 3: at the end of recovery cwnd = ssthresh (PRR may have left it below).
            CongestionWindowBytes = SlowStartThresholdBytes;
        }
        CongestionWindowBytes = Math.Max(CongestionWindowBytes, MaxSegmentBytes);
        OnRecoveryExited(now);
    }

    /// <summary>
    /// The retransmission timer expired (RFC 5681 section 3.1): ssthresh from the subclass (equation 4,
    /// max(FlightSize/2, 2*SMSS), for NewReno), cwnd = loss window = 1 SMSS, <c>recover</c> = SND.MAX
    /// (RFC 6582 section 3.2 step 4; RFC 6675 section 5.1), recovery ends and the duplicate count resets.
    /// Per RFC 5681 section 3.1, ssthresh is only reduced for the first timeout of a retransmitted
    /// segment: call this once per expiry; a further expiry before any new data is acknowledged keeps ssthresh.
    /// </summary>
    public void OnRetransmitTimeout(long flightSizeBytes, SeqNumber sndMax, Instant now)
    {
        SaveUndo();
        RetransmitTimeouts++;
        if (!_timeoutWithoutProgress)
        {
            SlowStartThresholdBytes = Math.Max(SlowStartThresholdAfterLoss(flightSizeBytes, now, isTimeout: true), 2L * MaxSegmentBytes);
        }
        CongestionWindowBytes = MaxSegmentBytes;
        RecoverSeq = sndMax;
        InRecovery = false;
        DuplicateAckCount = 0;
        _slowStartAfterTimeout = true;
        _timeoutWithoutProgress = true;
        OnTimeoutReset(now);
    }

    /// <summary>
    /// Proportional Rate Reduction (RFC 6937 section 3) for one ACK in SACK recovery: adds
    /// <paramref name="deliveredBytes"/> (DeliveredData: the change in SND.UNA plus the change in SACKed bytes) to
    /// <see cref="PrrDelivered"/>, computes sndcnt (proportional while <paramref name="pipeBytes"/> exceeds ssthresh,
    /// slow-start reduction bound, PRR-SSRB, below it) and sets cwnd = pipe + sndcnt, so the connection's
    /// <c>cwnd - pipe</c> rule sends exactly sndcnt. The first ACK of a recovery always allows one segment, the fast
    /// retransmit (as Linux's tcp_cwnd_reduction). No-op outside SACK recovery.
    /// </summary>
    public void OnRecoveryAck(long deliveredBytes, long pipeBytes)
    {
        if (!InRecovery || !SackRecovery)
        {
            return;
        }
        long delivered = Math.Max(0, deliveredBytes);
        PrrDelivered += delivered;
        long ssthresh = SlowStartThresholdBytes;
        long sndcnt;
        if (pipeBytes > ssthresh)
        {
            // sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
            sndcnt = (long)((((Int128)PrrDelivered * ssthresh) + _recoverFs - 1) / _recoverFs) - PrrOut;
        }
        else
        {
            // PRR-SSRB: sndcnt = MIN(ssthresh - pipe, MAX(prr_delivered - prr_out, DeliveredData) + MSS)
            sndcnt = Math.Min(ssthresh - pipeBytes, Math.Max(PrrDelivered - PrrOut, delivered) + MaxSegmentBytes);
        }
        sndcnt = Math.Max(sndcnt, PrrOut == 0 ? MaxSegmentBytes : 0);
        CongestionWindowBytes = Math.Min(Math.Max(pipeBytes + sndcnt, MaxSegmentBytes), MaxCongestionWindowBytes);
    }

    /// <summary>RFC 6937: <paramref name="bytes"/> were sent (new data or a retransmission) during recovery; adds them to <see cref="PrrOut"/>.</summary>
    public void OnRecoveryDataSent(long bytes)
    {
        if (InRecovery && SackRecovery)
        {
            PrrOut += Math.Max(0, bytes);
        }
    }

    /// <summary>
    /// The last loss response (fast recovery or a timeout) was spurious, as Eifel (RFC 3522) or D-SACKs (RFC 2883)
    /// showed: restores cwnd and ssthresh to at least what they were before it (RFC 4015 section 3; Linux's
    /// tcp_undo_cwnd_reduction) and <c>recover</c>, and leaves recovery. Returns false when nothing is kept to restore.
    /// </summary>
    public bool UndoLossResponse()
    {
        if (!_undoValid)
        {
            return false;
        }
        _undoValid = false;
        CongestionWindowBytes = Math.Max(CongestionWindowBytes, _undoCwnd);
        SlowStartThresholdBytes = Math.Max(SlowStartThresholdBytes, _undoSsthresh);
        RecoverSeq = _undoRecoverSeq;
        InRecovery = false;
        DuplicateAckCount = 0;
        _partialAckSeen = false;
        _slowStartAfterTimeout = false;
        _timeoutWithoutProgress = false;
        Undos++;
        OnUndo();
        return true;
    }

    /// <summary>The loss response stands (its retransmissions were needed): forgets the window kept for an undo.</summary>
    public void DiscardUndo() => _undoValid = false;

    // The first loss response of an episode keeps the window from before it, for UndoLossResponse.
    private void SaveUndo()
    {
        if (_undoValid)
        {
            return;
        }
        _undoValid = true;
        _undoCwnd = CongestionWindowBytes;
        _undoSsthresh = SlowStartThresholdBytes;
        _undoRecoverSeq = RecoverSeq;
        OnSaveUndo();
    }

    /// <summary>A loss response is about to change the window: keep the algorithm's own state for <see cref="OnUndo"/>.</summary>
    protected virtual void OnSaveUndo()
    {
    }

    /// <summary>The loss response was undone: restore the algorithm's state kept by <see cref="OnSaveUndo"/>.</summary>
    protected virtual void OnUndo()
    {
    }

    /// <summary>
    /// Growth for one ACK of <paramref name="bytesAcked"/> new bytes in congestion avoidance
    /// (cwnd &gt;= ssthresh, not in recovery). Must not allocate.
    /// </summary>
    protected abstract void OnCongestionAvoidanceAck(long bytesAcked, Instant now, Duration rtt);

    /// <summary>
    /// The new ssthresh for a loss (fast retransmit or timeout); the caller applies the 2*SMSS floor.
    /// Called before cwnd changes, so <see cref="CongestionWindowBytes"/> is still the window at the loss.
    /// </summary>
    protected abstract long SlowStartThresholdAfterLoss(long flightSizeBytes, Instant now, bool isTimeout);

    /// <summary>Fast recovery ended with a full ACK; cwnd has its post-recovery value.</summary>
    protected virtual void OnRecoveryExited(Instant now)
    {
    }

    /// <summary>A retransmission timeout set cwnd to one segment.</summary>
    protected virtual void OnTimeoutReset(Instant now)
    {
    }
}
