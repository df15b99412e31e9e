using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// Loss recovery with SACK: RACK-TLP (RFC 8985) loss detection and tail loss probes, proportional rate reduction
/// (RFC 6937) and the undo of spurious loss responses by Eifel (RFC 3522) or D-SACK (RFC 2883).
/// </summary>
public sealed partial class TcpSocket
{
    /// <summary>WCDelAckT of RFC 8985 section 7.2: the worst-case delayed ACK added to the PTO when one segment is in flight.</summary>
    internal static readonly Duration TlpWorstCaseDelayedAck = Duration.FromMillis(200);

    /// <summary>RFC 8985 section 7.2: the PTO before any RTT sample.</summary>
    internal static readonly Duration TlpInitialPto = Duration.FromSeconds(1);

    // RACK-TLP (null without SACK, or with TcpConfig.RackTlp off: RFC 6675's DupThresh rules then).
    private RackState? _rackPool;
    private RackState? _rack;
    private Instant _rackAt = Instant.Never;  // the RACK reordering timer
    private Instant _tlpAt = Instant.Never;   // the probe timeout (PTO)
    private bool _tlpProbe;                   // the next dispatch sends a tail loss probe
    private bool _tlpOutstanding;             // TLP.end_seq is set: a probe awaits its ACK
    private SeqNumber _tlpEndSeq;
    private bool _tlpIsRetrans;
    private bool _timeoutRecovery;            // after an RTO, until SND.UNA passes what was outstanding then
    private SeqNumber _timeoutRecoveryEnd;

    // Undo of the current loss episode (fast recovery, RACK recovery or timeouts).
    private bool _undoArmed;
    private bool _undoTsSet;          // the episode's first retransmission went out with _undoTsVal
    private uint _undoTsVal;
    private SeqNumber _undoSeq;       // where that first retransmission started
    private bool _undoEifelDecided;   // the first ACK past it decided: not spurious
    private int _undoRetransSegments; // retransmissions of the episode not yet reported as duplicates by a D-SACK
    private bool _undoAfterTimeout;
    private bool _undoEpisodeOver;    // SND.UNA reached _undoEndSeq; D-SACKs may still come for one more ACK
    private SeqNumber _undoEndSeq;    // SND.MAX at the latest loss response of the episode

    /// <summary>True when RACK-TLP is this connection's loss detection (SACK negotiated, <see cref="TcpConfig.RackTlp"/> on).</summary>
    internal bool UsesRack => _rack is not null;

    /// <summary>RACK's state, for tests; null when RACK is off.</summary>
    internal RackState? Rack => _rack;

    private void ResetRecoveryState()
    {
        _rack = null;
        _rackAt = Instant.Never;
        _tlpAt = Instant.Never;
        _tlpProbe = false;
        _tlpOutstanding = false;
        _tlpEndSeq = default;
        _tlpIsRetrans = false;
        _timeoutRecovery = false;
        _timeoutRecoveryEnd = default;
        _undoArmed = false;
        _undoTsSet = false;
        _undoEifelDecided = false;
        _undoRetransSegments = 0;
        _undoAfterTimeout = false;
        _undoEpisodeOver = false;
    }

    /// <summary>Creates (or reuses) RACK's per-segment record once SACK is negotiated; bounded by the send buffer in segments.</summary>
    private void StartRack()
    {
        if (!_sackOk || !_config.RackTlp)
        {
            _rack = null;
            return;
        }
        int capacity = Math.Clamp(2 * (_config.SendBufferBytes / Math.Max(SendMss, 1)) + 8, 64, 8192);
        if (_rackPool is null)
        {
            _rackPool = new RackState(capacity);
        }
        else
        {
            _rackPool.Restart(capacity);
        }
        _rack = _rackPool;
    }

    /// <summary>Bytes in flight for SACK recovery: RACK's (lost records do not count) or RFC 6675's SetPipe.</summary>
    private long RecoveryPipe() => _rack is not null ? _rack.InFlightBytes(_scoreboard!.Ranges) : _scoreboard!.SetPipe();

    /// <summary>
    /// After an ACK with SACK on: RACK's steps 2-5 (RFC 8985 6.2), proportional rate reduction for the ACK (RFC 6937),
    /// the tail loss probe's outcome (7.4) and the next PTO (7.2).
    /// </summary>
    private void OnSackAck(Instant now, in TcpRepr seg, SeqNumber ack, int acked, long sackedBefore, bool newSack, bool dsack, SackBlock dsackBlock)
    {
        long deliveredBySack = _scoreboard!.SackedBytes - sackedBefore;
        if (_rack is not null)
        {
            _rack.OnAck(_sndUna, _scoreboard.Ranges, now, _rtt.MinRtt, EchoedSentAt(seg));
            if (dsack)
            {
                _rack.OnDsack(_sndNxt);
            }
            RackDetectLoss(now);
        }
        if (_cc.InRecovery)
        {
            _cc.OnRecoveryAck(Math.Max(0, acked) + deliveredBySack, RecoveryPipe());
        }
        if (_rack is not null)
        {
            ProcessTlpAck(now, ack, acked, newSack, dsack, dsackBlock);
            if (acked > 0)
            {
                ArmTlp(now);
            }
        }
    }

    /// <summary>The instant our timestamp echoed by <paramref name="seg"/> was taken (ms resolution), or never without one.</summary>
    private Instant EchoedSentAt(in TcpRepr seg)
    {
        if (!_tsOk || seg.Timestamp is not TcpTimestamp ts || ts.EchoReply == 0)
        {
            return Instant.Never;
        }
        // TsNow counts milliseconds from the clock's epoch plus _tsOffset; the echo is one of those, up to 2^31 ms back.
        int back = (int)(TsNow(_lastNow) - ts.EchoReply);
        if (back < 0)
        {
            return Instant.Never;
        }
        // Round up to the end of the echoed millisecond, so a transmission within that millisecond is not "later".
        return new Instant(((_lastNow.TotalMicros / 1000) - back + 1) * 1000 - 1);
    }

    /// <summary>RFC 8985 step 5 and the reordering timer; losses start recovery unless one is on (fast or after a timeout).</summary>
    private void RackDetectLoss(Instant now)
    {
        RackState rack = _rack!;
        bool inRecovery = _cc.InRecovery || _timeoutRecovery;
        Duration reoWnd = rack.ReoWnd(inRecovery, _rtt.MinRtt, _rtt.HasSample ? _rtt.SmoothedRtt : Duration.Zero);
        int marked = rack.DetectLoss(now, reoWnd, out Duration timeout);
        _rackAt = timeout > Duration.Zero ? now + timeout : Instant.Never;
        if (_rackAt != Instant.Never)
        {
            _tlpAt = Instant.Never; // RFC 8985 7.2: no PTO while the reordering timer runs
        }
        if (marked == 0)
        {
            return;
        }
        Counters.RackLostSegments += marked;
        _layerCounters.RackLostSegments += marked;
        if (!inRecovery)
        {
            BeginUndoEpisode(timeout: false);
            _cc.OnEnterRecovery(FlightSize, _sndMax, now);
            _scoreboard!.BeginRecovery();
            Counters.FastRetransmits++;
            _limitedTransmitSegments = 0;
            _tlpAt = Instant.Never;
        }
    }

    /// <summary>A retransmission timeout: RTO recovery lasts until SND.UNA passes SND.MAX of now; RACK takes everything unSACKed as lost.</summary>
    private void OnTimeoutRecovery()
    {
        _timeoutRecovery = true;
        _timeoutRecoveryEnd = _sndMax;
        _rack?.OnRetransmissionTimeout();
        _rackAt = Instant.Never;
        _tlpAt = Instant.Never;
        _tlpProbe = false;
        _tlpOutstanding = false;
    }

    /// <summary>An ACK advanced SND.UNA: RTO recovery ends once it passes what was outstanding at the timeout.</summary>
    private void CheckTimeoutRecoveryEnd(SeqNumber ack)
    {
        if (_timeoutRecovery && ack >= _timeoutRecoveryEnd)
        {
            _timeoutRecovery = false;
            _rack?.OnRecoveryEnded();
        }
    }

    /// <summary>The RACK reordering timer fired: detect again; a loss found now gets one segment's worth of PRR budget.</summary>
    private void OnRackTimer(Instant now)
    {
        _rackAt = Instant.Never;
        if (_rack is null || _sndMax == _sndUna)
        {
            return;
        }
        Counters.RackReorderTimeouts++;
        RackDetectLoss(now);
        if (_cc.InRecovery)
        {
            _cc.OnRecoveryAck(0, RecoveryPipe());
        }
        else
        {
            ArmTlp(now);
        }
    }

    /// <summary>
    /// RFC 8985 section 7.2: (re)arms the probe timeout while data is in flight, no recovery is on, no probe is
    /// outstanding and the reordering timer is idle. PTO = 2·SRTT (+ WCDelAckT with one segment in flight), 1 s
    /// before any sample, never later than the RTO.
    /// </summary>
    private void ArmTlp(Instant now)
    {
        if (_rack is null || _cc.InRecovery || _timeoutRecovery || _tlpOutstanding || _rackAt != Instant.Never
            || _sndMax == _sndUna || !IsConnected)
        {
            _tlpAt = Instant.Never;
            return;
        }
        Duration pto = TlpInitialPto;
        if (_rtt.HasSample)
        {
            pto = _rtt.SmoothedRtt * 2;
            if (FlightSize <= SendMss)
            {
                pto += TlpWorstCaseDelayedAck;
            }
        }
        Instant at = now + pto;
        if (_rtoAt != Instant.Never && at > _rtoAt)
        {
            at = _rtoAt;
        }
        _tlpAt = at;
    }

    /// <summary>The PTO fired (RFC 8985 7.3): the next dispatch sends a probe.</summary>
    private void OnTlpTimer()
    {
        _tlpAt = Instant.Never;
        if (_rack is not null && _sndMax > _sndUna && !_cc.InRecovery && !_tlpOutstanding)
        {
            _tlpProbe = true;
        }
    }

    /// <summary>
    /// RFC 8985 section 7.3: one segment of new data if there is some and the peer's window takes it, otherwise the
    /// last segment sent again; either way regardless of cwnd. TLP.end_seq = SND.MAX, and the RTO restarts.
    /// </summary>
    private bool DispatchTailLossProbe<TEmitter>(Instant now, ref TEmitter emitter)
        where TEmitter : struct, ITcpEmitter
    {
        _tlpProbe = false;
        int unsent = _sendBuffer!.Count - (_sndNxt - _sndUna);
        long room = _sndWnd - (_sndNxt - _sndUna);
        SeqNumber start;
        int length;
        bool retransmission;
        if (unsent > 0 && room > 0 && _sndNxt == _sndMax)
        {
            start = _sndNxt;
            length = (int)Math.Min(Math.Min(unsent, SendMss), room);
            retransmission = false;
        }
        else if (_rack!.Last(out SeqNumber lastStart, out SeqNumber lastEnd))
        {
            length = Math.Min(lastEnd - lastStart, SendMss);
            start = lastEnd - length;
            retransmission = true;
        }
        else
        {
            return false;
        }
        if (!EmitSegmentAt(now, ref emitter, start, length, retransmission, out int emitted, out bool withFin))
        {
            return false;
        }
        if (!retransmission)
        {
            _sndNxt += emitted + (withFin ? 1 : 0);
            _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
        }
        _tlpOutstanding = true;
        _tlpEndSeq = _sndMax;
        _tlpIsRetrans = retransmission;
        Counters.TailLossProbes++;
        _layerCounters.TailLossProbes++;
        _rtoAt = now + _rtt.Rto;
        return true;
    }

    /// <summary>
    /// RFC 8985 section 7.4 (as Linux's tcp_process_tlp_ack): a probe of new data, or one a D-SACK shows redundant,
    /// ends the episode; an ACK beyond TLP.end_seq without such a D-SACK means the probe repaired a loss, and the
    /// congestion control reduces cwnd once; a pure duplicate at TLP.end_seq ends it too.
    /// </summary>
    private void ProcessTlpAck(Instant now, SeqNumber ack, int acked, bool newSack, bool dsack, SackBlock dsackBlock)
    {
        if (!_tlpOutstanding || ack < _tlpEndSeq)
        {
            return;
        }
        if (!_tlpIsRetrans || (dsack && dsackBlock.Left < _tlpEndSeq && dsackBlock.Right >= _tlpEndSeq - 1))
        {
            _tlpOutstanding = false;
        }
        else if (ack > _tlpEndSeq)
        {
            _tlpOutstanding = false;
            if (!_cc.InRecovery)
            {
                _cc.OnEnterRecovery(FlightSize, _sndMax, now);
                _cc.OnExitRecovery(FlightSize, now);
                _cc.DiscardUndo();
                Counters.TailLossProbeRecoveries++;
            }
        }
        else if (acked <= 0 && !newSack)
        {
            _tlpOutstanding = false;
        }
    }

    /// <summary>A loss response begins (recovery or a timeout): remember what lets it be undone if it proves spurious.</summary>
    private void BeginUndoEpisode(bool timeout)
    {
        if (_undoArmed && _undoEpisodeOver)
        {
            // The last episode ended without an undo: this one starts afresh.
            _undoArmed = false;
            _cc.DiscardUndo();
        }
        if (!_undoArmed)
        {
            _undoArmed = true;
            _undoTsSet = false;
            _undoEifelDecided = false;
            _undoRetransSegments = 0;
            _undoAfterTimeout = false;
            _undoEpisodeOver = false;
        }
        _undoAfterTimeout |= timeout;
        _undoEndSeq = _sndMax;
    }

    /// <summary>A data segment went out again during an undoable episode: Eifel's timestamp and D-SACK's count.</summary>
    private void OnEpisodeRetransmission(SeqNumber seq, int length, Instant now)
    {
        if (!_undoArmed || _undoEpisodeOver)
        {
            return;
        }
        if (!_undoTsSet)
        {
            _undoTsSet = true;
            _undoTsVal = TsNow(now);
            _undoSeq = seq;
        }
        _undoRetransSegments += Math.Max(1, (length + SendMss - 1) / SendMss);
    }

    /// <summary>
    /// Eifel detection (RFC 3522) on an ACK that advances SND.UNA past the episode's first retransmission: an echoed
    /// timestamp older than that retransmission's means the original arrived, so the loss response was spurious. Also
    /// ends the episode's undo window once SND.UNA has passed everything outstanding at its last loss response.
    /// </summary>
    private void CheckUndoOnAck(Instant now, in TcpRepr seg, SeqNumber ack)
    {
        if (!_undoArmed)
        {
            return;
        }
        if (_undoTsSet && !_undoEifelDecided && ack > _undoSeq)
        {
            if (_tsOk && seg.Timestamp is TcpTimestamp ts && ts.EchoReply != 0 && (int)(ts.EchoReply - _undoTsVal) < 0)
            {
                UndoSpuriousEpisode();
                return;
            }
            _undoEifelDecided = true;
        }
        if (_undoEpisodeOver && ack > _undoEndSeq)
        {
            _undoArmed = false;
            _cc.DiscardUndo();
        }
        else if (ack >= _undoEndSeq && !_cc.InRecovery)
        {
            _undoEpisodeOver = true;
        }
    }

    /// <summary>RFC 2883 section 5 / Linux's undo_retrans: once every retransmission of the episode came back as a D-SACK, none was needed.</summary>
    private void CheckUndoOnDsack(SackBlock block)
    {
        if (!_undoArmed || !_undoTsSet || _undoRetransSegments <= 0 || block.Left < _undoSeq || block.Right > _undoEndSeq)
        {
            return;
        }
        _undoRetransSegments -= Math.Max(1, (block.Right - block.Left + SendMss - 1) / SendMss);
        if (_undoRetransSegments <= 0)
        {
            UndoSpuriousEpisode();
        }
    }

    /// <summary>
    /// The episode's loss response was spurious: cwnd and ssthresh come back (RFC 4015 section 3), nothing stays marked
    /// lost, reordering is noted for RACK, and after a timeout sending resumes with new data (SND.NXT = SND.MAX) instead
    /// of resending what the peer holds.
    /// </summary>
    private void UndoSpuriousEpisode()
    {
        bool timeout = _undoAfterTimeout;
        _undoArmed = false;
        if (!_cc.UndoLossResponse())
        {
            return;
        }
        if (timeout)
        {
            Counters.SpuriousTimeoutsUndone++;
            _timeoutRecovery = false;
            _sndNxt = SeqNumber.Max(_sndNxt, _sndMax);
            _retransmitHead = false;
        }
        else
        {
            Counters.SpuriousRecoveriesUndone++;
        }
        _layerCounters.SpuriousRetransmissionsUndone++;
        _limitedTransmitSegments = 0;
        if (_rack is not null)
        {
            _rack.ClearLost();
            _rack.OnSpuriousRetransmission();
        }
    }

    /// <summary>
    /// RACK's recovery sends (RFC 8985 with RFC 6937): while cwnd - pipe leaves a full segment, the first record
    /// marked lost goes again (its unSACKed part, up to an MSS). New data follows in <see cref="DispatchData{TEmitter}"/>.
    /// </summary>
    private int DispatchRackRetransmissions<TEmitter>(Instant now, ref TEmitter emitter, int budget)
        where TEmitter : struct, ITcpEmitter
    {
        int sent = 0;
        RackState rack = _rack!;
        while ((_cc.InRecovery || _timeoutRecovery) && sent < budget && rack.NextLost(out SeqNumber lostStart, out SeqNumber lostEnd))
        {
            if (!_cc.InRecovery && lostStart >= _sndNxt)
            {
                break; // after a timeout, what lies beyond SND.NXT goes again in order (DispatchData)
            }
            SeqNumber from = _scoreboard!.SkipSacked(lostStart, out long room);
            if (from >= lostEnd)
            {
                rack.ClearLost(lostStart); // SACKed whole in pieces: delivered, not lost
                continue;
            }
            if (_cc.CongestionWindowBytes - rack.InFlightBytes(_scoreboard.Ranges) < SendMss)
            {
                break;
            }
            int length = (int)Math.Min(Math.Min(lostEnd - from, room), SendMss);
            if (!EmitSegmentAt(now, ref emitter, from, length, retransmission: true, out _, out _))
            {
                break;
            }
            sent++;
        }
        return sent;
    }
}
