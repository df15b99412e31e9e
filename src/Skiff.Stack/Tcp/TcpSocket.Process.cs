using Skiff.Wire;

namespace Skiff.Stack.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// Handles one arriving segment (RFC 9293 section 3.10.7, "SEGMENT ARRIVES"). <paramref name="payload"/>
    /// is the buffer whose data window is exactly the segment's payload, or null when there is none.
    /// Returns true when the socket took ownership of <paramref name="payload"/> (it is queued for the
    /// application); otherwise the caller still owns it and frees it.
    /// </summary>
    internal bool Process(Instant now, in TcpRepr seg, PacketBuffer? payload)
    {
        Counters.SegmentsReceived++;
        _lastNow = now;
        _keepAliveProbes = 0;
        if (_config.KeepAlive && IsConnected)
        {
            _keepAliveAt = now + _config.KeepAliveIdle;
        }
        return State switch
        {
            // TIME-WAIT is answered by the layer's record (TimeWaitRecords); the socket no longer owns the 4-tuple.
            TcpState.Closed or TcpState.Listen or TcpState.TimeWait => false,
            TcpState.SynSent => ProcessSynSent(now, seg),
            _ => ProcessSynchronized(now, seg, payload),
        };
    }

    /// <summary>A passive open: a listener hands a SYN to a fresh socket in SYN-RECEIVED (RFC 9293 3.10.7.2).</summary>
    internal void AcceptSyn(Instant now, in TcpRepr syn)
    {
        _passiveOpen = true;
        _irs = new SeqNumber(syn.SequenceNumber);
        _rcvNxt = _irs + 1;
        ApplySynOptions(syn);
        _sndWnd = syn.WindowLength; // never scaled in a SYN (RFC 7323 2.2)
        _maxSndWnd = _sndWnd;
        _sndWl1 = _irs;
        _sndWl2 = _iss;
        State = TcpState.SynReceived;
        _ackNow = true;
        _rcvEdge = _rcvNxt + ReceiveFree();
    }

    /// <summary>
    /// A connection re-created from a valid SYN cookie on the handshake's final ACK (RFC 4987 3.6): the
    /// cookie carried the MSS (and, with timestamps, the other options).
    /// </summary>
    internal void AcceptCookie(Instant now, in TcpRepr ack, int mss, bool wscaleOk, byte sndWscale, bool sackOk)
    {
        FromCookie = true;
        _passiveOpen = true;
        _irs = new SeqNumber(ack.SequenceNumber) - 1;
        _rcvNxt = new SeqNumber(ack.SequenceNumber);
        _peerMss = Math.Max(_config.MinMssBytes, mss);
        _tsOk = _config.Timestamps && ack.Timestamp.HasValue;
        if (_tsOk)
        {
            _tsRecent = ack.Timestamp!.Value.Value;
        }
        _wscaleOk = wscaleOk && _config.WindowScaling;
        _sndWscale = _wscaleOk ? sndWscale : (byte)0;
        if (!_wscaleOk)
        {
            _rcvWscale = 0;
        }
        _sackOk = sackOk && _config.Sack;
        _sndUna = _iss + 1;
        _sndNxt = _sndUna;
        _sndMax = _sndUna;
        _sndWnd = (long)ack.WindowLength << _sndWscale;
        _maxSndWnd = _sndWnd;
        _sndWl1 = _rcvNxt;
        _sndWl2 = _sndUna;
        _rcvEdge = _rcvNxt + ReceiveFree();
        State = TcpState.Established;
        StartCongestionControl();
        _lastProgressAt = now;
    }

    /// <summary>Creates the congestion controller once the handshake has fixed SMSS (RFC 5681 3.1).</summary>
    private void StartCongestionControl()
    {
        int smss = SendMss;
        bool synRetransmitted = _retransmits > 0 || Counters.Retransmissions > 0;
        if (_config.CongestionControl == CongestionControlKind.NewReno)
        {
            if (_newReno is null)
            {
                _newReno = new NewRenoCongestionControl(smss, _iss, _sackOk, synRetransmitted);
            }
            else
            {
                _newReno.Restart(smss, _iss, _sackOk, synRetransmitted);
            }
            _cc = _newReno;
        }
        else
        {
            if (_cubic is null)
            {
                _cubic = new CubicCongestionControl(smss, _iss, _sackOk, synRetransmitted);
            }
            else
            {
                _cubic.Restart(smss, _iss, _sackOk, synRetransmitted);
            }
            _cc = _cubic;
        }
        if (_sackOk)
        {
            if (_sackBoard is null)
            {
                _sackBoard = new SackScoreboard(smss, _sndUna);
            }
            else
            {
                _sackBoard.Restart(smss, _sndUna);
            }
            _scoreboard = _sackBoard;
        }
        else
        {
            _scoreboard = null;
        }
        StartRack();
        _retransmits = 0;
    }

    private void ApplySynOptions(in TcpRepr syn)
    {
        int mss = syn.MaxSegmentSize ?? 536; // RFC 9293 3.7.1: no option means 536
        _peerMss = Math.Max(_config.MinMssBytes, mss);
        if (_config.WindowScaling && syn.WindowScale is byte ws)
        {
            _wscaleOk = true;
            _sndWscale = Math.Min(ws, (byte)14); // RFC 7323 2.3: a shift above 14 is used as 14
        }
        else
        {
            _wscaleOk = false;
            _sndWscale = 0;
            _rcvWscale = 0;
        }
        _sackOk = _config.Sack && syn.SackPermitted;
        if (_config.Timestamps && syn.Timestamp is TcpTimestamp ts)
        {
            _tsOk = true;
            _tsRecent = ts.Value;
        }
        else
        {
            _tsOk = false;
        }
    }

    // RFC 9293 3.10.7.3: SYN-SENT.
    private bool ProcessSynSent(Instant now, in TcpRepr seg)
    {
        bool hasAck = (seg.Flags & TcpFlags.Ack) != 0;
        SeqNumber ack = new(seg.AcknowledgmentNumber);
        if (hasAck && (ack <= _iss || ack > _sndMax))
        {
            // Unacceptable ACK: answer with a RST unless it is one (the layer sends it for us).
            if ((seg.Flags & TcpFlags.Rst) == 0)
            {
                Counters.ResetsOwed++;
                _pendingResetSeq = ack;
                _pendingReset = true;
            }
            Counters.DroppedUnacceptable++;
            return false;
        }
        if ((seg.Flags & TcpFlags.Rst) != 0)
        {
            if (hasAck)
            {
                EnterClosed(TcpError.Refused);
            }
            return false;
        }
        if ((seg.Flags & TcpFlags.Syn) == 0)
        {
            return false;
        }
        _irs = new SeqNumber(seg.SequenceNumber);
        _rcvNxt = _irs + 1;
        ApplySynOptions(seg);
        if (hasAck)
        {
            OnSynAcked(now, ack);
            // The window in a SYN-ACK is never scaled (RFC 7323 2.2).
            _sndWnd = seg.WindowLength;
            _maxSndWnd = _sndWnd;
            _sndWl1 = _irs;
            _sndWl2 = ack;
            State = TcpState.Established;
            SampleRttFromSyn(now, seg);
            StartCongestionControl();
            _rcvEdge = _rcvNxt + ReceiveFree();
            _ackNow = true;
            if (_config.KeepAlive)
            {
                _keepAliveAt = now + _config.KeepAliveIdle;
            }
            return false;
        }
        // Simultaneous open (RFC 9293 3.5, figure 8): send SYN,ACK with our original ISS.
        State = TcpState.SynReceived;
        _sndWnd = seg.WindowLength;
        _maxSndWnd = _sndWnd;
        _sndWl1 = _irs;
        _sndWl2 = _iss;
        _sndNxt = _iss; // resend the SYN, now with ACK
        _rcvEdge = _rcvNxt + ReceiveFree();
        _ackNow = true;
        return false;
    }

    private void OnSynAcked(Instant now, SeqNumber ack)
    {
        _sndUna = ack;
        if (_sndNxt < _sndUna)
        {
            _sndNxt = _sndUna;
        }
        _retransmits = 0;
        _rtoAt = Instant.Never;
        _lastProgressAt = now;
    }

    private void SampleRttFromSyn(Instant now, in TcpRepr seg)
    {
        // Karn: only a SYN that was never retransmitted gives a sample.
        if (_tsOk && seg.Timestamp is TcpTimestamp ts && ts.EchoReply != 0)
        {
            _rtt.OnSample(Duration.FromMillis(Math.Max(0, (int)(TsNow(now) - ts.EchoReply))), fromRetransmittedSegment: false, fromTimestamp: true);
        }
        else if (_rttTiming)
        {
            _rtt.OnSample(now - _rttSentAt, fromRetransmittedSegment: false);
        }
        _rttTiming = false;
    }

    // RFC 9293 3.10.7.4: every synchronized state (and SYN-RECEIVED).
    private bool ProcessSynchronized(Instant now, in TcpRepr seg, PacketBuffer? payload)
    {
        TcpFlags flags = seg.Flags;
        SeqNumber seq = new(seg.SequenceNumber);
        int dataLength = payload?.Length ?? 0;
        int segLength = dataLength + ((flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((flags & TcpFlags.Fin) != 0 ? 1 : 0);

        // RFC 7323 5.3: PAWS. A segment whose timestamp is older than TS.Recent is a duplicate from an
        // earlier incarnation of the sequence space: drop it and ACK (unless it is a RST).
        if (_tsOk && (flags & TcpFlags.Rst) == 0 && seg.Timestamp is TcpTimestamp tsOpt
            && (int)(tsOpt.Value - _tsRecent) < 0)
        {
            Counters.DroppedPaws++;
            _ackNow = true;
            return false;
        }

        if (State == TcpState.SynReceived && (flags & (TcpFlags.Syn | TcpFlags.Rst)) == TcpFlags.Syn && seq == _irs)
        {
            SeqNumber synAck = new(seg.AcknowledgmentNumber);
            if ((flags & TcpFlags.Ack) != 0 && !_passiveOpen && synAck > _iss && synAck <= _sndMax)
            {
                // RFC 9293 3.5 figure 8, line 6: in a simultaneous open the peer's SYN,ACK repeats its SYN
                // at IRS and acknowledges ours; it completes the handshake (Linux tcp_validate_incoming
                // lets it pass the same way). Process it as the ACK it carries, one past the SYN.
                TcpRepr asAck = seg with { Flags = flags & ~TcpFlags.Syn, SequenceNumber = seg.SequenceNumber + 1 };
                return ProcessSynchronized(now, asAck, payload);
            }
            if ((flags & TcpFlags.Ack) == 0)
            {
                // The peer retransmitted its SYN, so our SYN-ACK was lost: send it again (as Linux
                // tcp_check_req does). The SYN lies left of the window, so this must come before the
                // acceptability test (RFC 9293 3.10.7.4), which would only answer with a bare ACK.
                _sndNxt = _iss;
                _ackNow = true;
                return false;
            }
        }

        // First: sequence acceptability (the four cases of RFC 9293 3.10.7.4).
        int rcvWnd = Math.Max(0, _rcvEdge - _rcvNxt);
        if (!IsAcceptable(seq, segLength, rcvWnd))
        {
            Counters.DroppedOutOfWindow++;
            if ((flags & TcpFlags.Rst) == 0)
            {
                _ackNow = true;
                if (dataLength > 0 && seq + dataLength <= _rcvNxt && _rcvNxt - seq <= MaxDsackDistance)
                {
                    // Wholly below RCV.NXT: a duplicate (a spurious retransmission, or one the network doubled).
                    RecordDuplicate(seq, seq + dataLength);
                }
            }
            return false;
        }

        // Second: RST (RFC 5961 3.2): accepted only at exactly RCV.NXT; elsewhere in the window it earns a challenge ACK.
        if ((flags & TcpFlags.Rst) != 0)
        {
            if (seq == _rcvNxt)
            {
                Counters.ResetsReceived++;
                // SYN-RECEIVED from a simultaneous open means the peer refused us; from a listener the
                // half-open connection just goes away (RFC 9293: "return to LISTEN").
                EnterClosed(State == TcpState.SynReceived && !_passiveOpen ? TcpError.Refused : TcpError.Reset);
                return false;
            }
            SendChallengeAck(now);
            return false;
        }

        // Fourth: a SYN in a synchronized state always earns a challenge ACK (RFC 5961 4.2).
        if ((flags & TcpFlags.Syn) != 0)
        {
            SendChallengeAck(now);
            return false;
        }

        // Fifth: the ACK field.
        if ((flags & TcpFlags.Ack) == 0)
        {
            Counters.DroppedNoAck++;
            return false;
        }
        SeqNumber ack = new(seg.AcknowledgmentNumber);
        if (State == TcpState.SynReceived)
        {
            if (ack <= _sndUna || ack > _sndMax)
            {
                // RFC 9293: <SEQ=SEG.ACK><CTL=RST>.
                _pendingReset = true;
                _pendingResetSeq = ack;
                return false;
            }
            State = TcpState.Established;
            StartCongestionControl();
            _sndWnd = (long)seg.WindowLength << _sndWscale;
            _maxSndWnd = Math.Max(_maxSndWnd, _sndWnd);
            _sndWl1 = seq;
            _sndWl2 = ack;
            if (_config.KeepAlive)
            {
                _keepAliveAt = now + _config.KeepAliveIdle;
            }
        }

        // RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.MAX].
        if (ack > _sndMax)
        {
            Counters.DroppedAckAhead++;
            SendChallengeAck(now);
            return false;
        }
        if (ack < _sndUna - (int)Math.Min(_maxSndWnd, int.MaxValue))
        {
            Counters.DroppedAckTooOld++;
            SendChallengeAck(now);
            return false;
        }

        // RFC 7323 4.3: TS.Recent takes the segment's TSval when it covers Last.ACK.sent.
        if (_tsOk && seg.Timestamp is TcpTimestamp ts && seq <= _lastAckSent && (int)(ts.Value - _tsRecent) >= 0)
        {
            _tsRecent = ts.Value;
        }

        ProcessAck(now, seg, seq, ack, dataLength);
        if (State == TcpState.Closed)
        {
            return false;
        }

        // Seventh: segment text (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2).
        bool taken = false;
        bool fin = (flags & TcpFlags.Fin) != 0;
        if (State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            if (dataLength > 0 || fin)
            {
                taken = ReceiveData(now, seq, payload, dataLength, fin);
            }
        }
        else if (dataLength > 0 || fin)
        {
            // Data or FIN after the peer's FIN: a retransmission; ACK it again.
            _ackNow = true;
        }
        return taken;
    }

    private bool IsAcceptable(SeqNumber seq, int segLength, int rcvWnd) => IsAcceptable(seq, segLength, _rcvNxt, rcvWnd);

    /// <summary>RFC 9293 3.10.7.4, the four cases of segment acceptability.</summary>
    internal static bool IsAcceptable(SeqNumber seq, int segLength, SeqNumber rcvNxt, int rcvWnd)
    {
        if (segLength == 0)
        {
            return rcvWnd == 0 ? seq == rcvNxt : seq >= rcvNxt && seq < rcvNxt + rcvWnd;
        }
        if (rcvWnd == 0)
        {
            // Zero window: still accept the in-order segment so its ACK and FIN/RST fields are processed
            // (RFC 9293 3.10.7.4); its data is dropped later for want of room.
            return seq == rcvNxt;
        }
        SeqNumber last = seq + (segLength - 1);
        return (seq >= rcvNxt && seq < rcvNxt + rcvWnd) || (last >= rcvNxt && last < rcvNxt + rcvWnd);
    }
}
