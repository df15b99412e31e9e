using Skiff.Wire;

namespace Skiff.Stack.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// Emits what the connection owes now, at most <paramref name="maxSegments"/> segments: a reset,
    /// the handshake, retransmissions, new data, a FIN, probes, and a (possibly delayed) ACK. Returns
    /// how many segments went out.
    /// </summary>
    internal int Dispatch<TEmitter>(Instant now, ref TEmitter emitter, int maxSegments)
        where TEmitter : struct, ITcpEmitter
    {
        _lastNow = now;
        if (_windowUpdateDeferred)
        {
            _windowUpdateDeferred = false;
            if (_delayedAckAt == Instant.Never)
            {
                _delayedAckAt = now + _config.DelayedAckTimeout;
            }
        }
        int sent = 0;
        if (_pendingReset && sent < maxSegments)
        {
            // <SEQ=SEG.ACK><CTL=RST> for an unacceptable ACK (RFC 9293 3.10.7.3 and .4).
            TcpRepr rst = BaseRepr(_pendingResetSeq, TcpFlags.Rst) with { AcknowledgmentNumber = 0, WindowLength = 0 };
            if (!emitter.TryEmit(_tuple, rst, default, default))
            {
                return sent;
            }
            _pendingReset = false;
            Counters.ResetsSent++;
            sent++;
        }
        if (State is TcpState.Closed or TcpState.TimeWait)
        {
            return sent; // a connection in TIME-WAIT speaks through its record
        }
        if (_sendRst)
        {
            TcpRepr rst = BaseRepr(AcceptableSeq, TcpFlags.Rst | TcpFlags.Ack);
            if (emitter.TryEmit(_tuple, rst, default, default))
            {
                Counters.ResetsSent++;
                EnterClosed(TcpError.Aborted);
                sent++;
            }
            return sent;
        }

        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            return sent + DispatchHandshake(now, ref emitter);
        }

        bool ackSent = false;
        sent += DispatchRetransmissions(now, ref emitter, maxSegments - sent, ref ackSent);
        if (_tlpProbe && sent < maxSegments && DispatchTailLossProbe(now, ref emitter))
        {
            ackSent = true;
            sent++;
        }
        if (_persistProbe && sent < maxSegments && DispatchWindowProbeData(now, ref emitter))
        {
            ackSent = true;
            sent++;
        }
        sent += DispatchData(now, ref emitter, maxSegments - sent, ref ackSent);
        if (sent < maxSegments && (_persistProbe || _keepAliveProbe))
        {
            // Zero-window probe and keepalive alike: a segment one below SND.UNA with no data makes
            // the peer answer with an ACK carrying its current window (RFC 1122 4.2.2.17 / 4.2.3.6;
            // Linux probes the same way).
            if (emitter.TryEmit(_tuple, BaseRepr(_sndUna - 1, TcpFlags.Ack), default, default))
            {
                if (_persistProbe)
                {
                    Counters.WindowProbes++;
                }
                else
                {
                    Counters.KeepAlivesSent++;
                }
                _persistProbe = false;
                _keepAliveProbe = false;
                sent++;
                OnAckSent();
                ackSent = true;
            }
        }
        if (!ackSent && sent < maxSegments && (_ackNow || now >= _delayedAckAt))
        {
            if (emitter.TryEmit(_tuple, BaseRepr(AcceptableSeq, TcpFlags.Ack), default, default))
            {
                Counters.PureAcksSent++;
                OnAckSent();
                sent++;
            }
        }
        return sent;
    }

    private int DispatchHandshake<TEmitter>(Instant now, ref TEmitter emitter)
        where TEmitter : struct, ITcpEmitter
    {
        bool synAck = State == TcpState.SynReceived;
        if (_sndNxt == _iss)
        {
            TcpRepr syn = SynRepr(synAck);
            if (!emitter.TryEmit(_tuple, syn, default, default))
            {
                return 0;
            }
            if (_retransmits == 0 && _sndMax == _iss)
            {
                _rttTiming = true;
                _rttSeq = _iss;
                _rttSentAt = now;
            }
            else
            {
                _rttTiming = false; // Karn: never time a retransmitted SYN
                _retransmitTs = TsNow(now);
                _retransmitTsValid = true;
                Counters.Retransmissions++;
                _layerCounters.Retransmissions++;
            }
            _sndNxt = _iss + 1;
            _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
            if (_rtoAt == Instant.Never)
            {
                _rtoAt = now + _rtt.Rto;
            }
            if (synAck)
            {
                OnAckSent();
            }
            return 1;
        }
        if (_ackNow && synAck)
        {
            // A challenge ACK or a duplicate in SYN-RECEIVED: repeat the SYN-ACK's acknowledgement.
            if (emitter.TryEmit(_tuple, BaseRepr(_sndNxt, TcpFlags.Ack), default, default))
            {
                OnAckSent();
                return 1;
            }
        }
        return 0;
    }

    private int DispatchRetransmissions<TEmitter>(Instant now, ref TEmitter emitter, int budget, ref bool ackSent)
        where TEmitter : struct, ITcpEmitter
    {
        int sent = 0;
        if (_retransmitHead && budget > 0 && _sndUna < _sndMax)
        {
            // The head segment goes whatever the window (after a timeout too: RFC 9293 3.8.1, RFC 6298 5.4): up to
            // the window's end, or a full segment when the window is closed or was shrunk (Linux tcp_retransmit_skb).
            long room = _sndWnd;
            int length = room > 0 ? (int)Math.Min(SendMss, room) : SendMss;
            if (!EmitSegmentAt(now, ref emitter, _sndUna, length, retransmission: true, out int emitted, out bool withFin))
            {
                return 0;
            }
            // After a timeout SND.NXT was rewound to SND.UNA: it moves past what just went out.
            _sndNxt = SeqNumber.Max(_sndNxt, _sndUna + emitted + (withFin ? 1 : 0));
            // A head segment longer than what was outstanding carried new data too: SND.MAX moves with it, or the
            // peer's ACK of those bytes would lie beyond SND.MAX and be refused (RFC 5961 5.2), data and all.
            _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
            _retransmitHead = false;
            ackSent = true;
            sent++;
        }
        if (_rack is not null)
        {
            int rackSent = DispatchRackRetransmissions(now, ref emitter, budget - sent);
            ackSent |= rackSent > 0;
            return sent + rackSent;
        }
        // RFC 6675 5 step C: during SACK recovery send what NextSeg() picks (lost holes first, then new
        // data, then other unSACKed data, then one rescue) while cwnd - pipe leaves a full segment.
        while (_cc.InRecovery && _sackOk && _scoreboard is not null && sent < budget)
        {
            long pipe = _scoreboard.SetPipe();
            if (_cc.CongestionWindowBytes - pipe < SendMss)
            {
                break;
            }
            int unsent = _sendBuffer!.Count - (_sndNxt - _sndUna);
            long windowRoom = _sndWnd - (_sndNxt - _sndUna);
            int newData = (int)Math.Max(0, Math.Min(unsent, windowRoom));
            SackSegment next = _scoreboard.NextSeg(newData);
            if (next.Kind == SackSegmentKind.None)
            {
                break;
            }
            if (next.Kind == SackSegmentKind.NewData)
            {
                if (!EmitSegmentAt(now, ref emitter, _sndNxt, Math.Min(next.LengthBytes, SendMss), retransmission: false, out int len, out bool withFin))
                {
                    break;
                }
                _sndNxt += len + (withFin ? 1 : 0);
                _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
            }
            else if (!EmitSegmentAt(now, ref emitter, next.Start, next.LengthBytes, retransmission: true, out _, out _, next.Kind == SackSegmentKind.Rescue))
            {
                break;
            }
            ackSent = true;
            sent++;
        }
        return sent;
    }

    /// <summary>
    /// The persist timer fired while the peer's window is open but too small for the sender's silly-window rule
    /// (1 to MSS-1 bytes) and nothing is in flight to bring an update: send min(window, MSS) bytes anyway, RFC 9293
    /// 3.8.6.2.1's override timeout, as Linux's tcp_write_wakeup does. A closed window gets the zero-window probe.
    /// </summary>
    private bool DispatchWindowProbeData<TEmitter>(Instant now, ref TEmitter emitter)
        where TEmitter : struct, ITcpEmitter
    {
        int unsent = _sendBuffer!.Count - (_sndNxt - _sndUna);
        long room = _sndWnd - (_sndNxt - _sndUna);
        if (unsent <= 0 || room <= 0)
        {
            return false;
        }
        int len = (int)Math.Min(Math.Min(unsent, SendMss), room);
        bool retransmission = _sndNxt < _sndMax;
        if (!EmitSegmentAt(now, ref emitter, _sndNxt, len, retransmission, out int emitted, out bool withFin))
        {
            return false;
        }
        _sndNxt += emitted + (withFin ? 1 : 0);
        _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
        _persistProbe = false;
        Counters.WindowProbes++;
        return true;
    }

    /// <summary>
    /// How many bytes of new data may go at SND.NXT now (0 while held), by the one rule both
    /// <see cref="DispatchData{TEmitter}"/> and <see cref="HasImmediateWork"/> apply: the usable window, the
    /// sender's silly-window avoidance and Nagle.
    /// </summary>
    private int SendableLength(int unsent)
    {
        long usable = UsableWindow();
        if (usable <= 0)
        {
            return 0;
        }
        int len = (int)Math.Min(Math.Min(unsent, SendMss), usable);
        // Sender-side silly window avoidance (RFC 9293 3.8.6.2.1): wait for a full segment unless
        // the window is at least half the largest the peer ever offered.
        if (len < SendMss && len < unsent && len < _maxSndWnd / 2)
        {
            return 0;
        }
        // Nagle (RFC 9293 3.7.4): one small segment in flight at a time.
        if (len < SendMss && _config.Nagle && _sndNxt > _sndUna && _sndNxt >= _sndMax)
        {
            return 0;
        }
        return len;
    }

    private int DispatchData<TEmitter>(Instant now, ref TEmitter emitter, int budget, ref bool ackSent)
        where TEmitter : struct, ITcpEmitter
    {
        int sent = 0;
        while (sent < budget)
        {
            int offset = _sndNxt - _sndUna;
            int unsent = _sendBuffer!.Count - offset;
            bool finDue = _closeRequested && unsent <= 0 && (!_finSent || _sndNxt == _finSeq);
            if (unsent <= 0 && !finDue)
            {
                break;
            }
            if (unsent <= 0)
            {
                // A bare FIN (RFC 9293 3.10.4): it takes one sequence number and needs no window.
                if (!EmitFin(now, ref emitter))
                {
                    break;
                }
                ackSent = true;
                sent++;
                break;
            }

            long sackRoom = long.MaxValue;
            if (_sndNxt < _sndMax && _scoreboard is not null && _scoreboard.RangeCount > 0)
            {
                // Resending after a timeout: data the peer SACKed is not sent again.
                SeqNumber from = _scoreboard.SkipSacked(_sndNxt, out sackRoom);
                if (from != _sndNxt)
                {
                    _sndNxt = SeqNumber.Min(from, _sndMax);
                    continue;
                }
            }
            int len = (int)Math.Min(SendableLength(unsent), sackRoom);
            if (len == 0)
            {
                if (_sndMax == _sndUna && _persistAt == Instant.Never)
                {
                    // Held with nothing in flight to bring a window update, by a closed window or one too small to
                    // use: probe (RFC 9293 3.8.6.1), or override the silly-window rule (3.8.6.2.1), when the timer fires.
                    _persistBackoff = _persistBackoff == Duration.Zero ? _rtt.Rto : Duration.Min(_persistBackoff * 2, Duration.FromSeconds(60));
                    _persistAt = now + _persistBackoff;
                }
                break;
            }
            bool retransmission = _sndNxt < _sndMax;
            if (!EmitSegmentAt(now, ref emitter, _sndNxt, len, retransmission, out int emitted, out bool withFin))
            {
                break;
            }
            if (!retransmission && !_tsOk && !_rttTiming)
            {
                _rttTiming = true;
                _rttSeq = _sndNxt;
                _rttSentAt = now;
            }
            _sndNxt += emitted + (withFin ? 1 : 0);
            _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
            _persistAt = Instant.Never; // the window let data go: nothing to probe
            _persistProbe = false;
            ackSent = true;
            sent++;
            if (!retransmission && _rack is not null)
            {
                ArmTlp(now); // RFC 8985 7.2: new data (re)starts the probe timeout
            }
        }
        return sent;
    }

    /// <summary>
    /// The sequence number for a segment without data (a pure ACK, a RST): the highest sequence sent, or
    /// the right edge of the peer's window if that is lower. Not SND.NXT: after a timeout it is rewound
    /// below what the peer already holds, and a segment below RCV.NXT is dropped unread (RFC 9293
    /// 3.10.7.4), ACK field and all. Linux's tcp_acceptable_seq makes the same choice.
    /// </summary>
    private SeqNumber AcceptableSeq
    {
        get
        {
            SeqNumber windowEnd = _sndUna + (int)Math.Min(_sndWnd, int.MaxValue);
            SeqNumber max = _finSent && _sndMax == _finSeq + 1 && _sndNxt <= _finSeq ? _finSeq : _sndMax;
            return windowEnd >= max ? max : windowEnd;
        }
    }

    private long UsableWindow()
    {
        long window = Math.Min(_sndWnd, CongestionWindowBytes + (long)_limitedTransmitSegments * SendMss);
        if (_cc.InRecovery && _rack is not null)
        {
            // RACK with PRR: cwnd - pipe (PRR sets cwnd = pipe + sndcnt), within the peer's window.
            return Math.Min(_sndWnd - (_sndNxt - _sndUna), _cc.CongestionWindowBytes - _rack.InFlightBytes(_scoreboard!.Ranges));
        }
        if (_cc.InRecovery && _sackOk)
        {
            // RFC 6675: during recovery the pipe, not SND.NXT - SND.UNA, measures what is in flight.
            return window - _scoreboard!.SetPipe();
        }
        return window - (_sndNxt - _sndUna);
    }

    private bool EmitFin<TEmitter>(Instant now, ref TEmitter emitter)
        where TEmitter : struct, ITcpEmitter
    {
        SeqNumber seq = _sndNxt;
        if (!emitter.TryEmit(_tuple, BaseRepr(seq, TcpFlags.Fin | TcpFlags.Ack), default, default))
        {
            return false;
        }
        OnFinEmitted(now, seq);
        _sndNxt = seq + 1;
        _sndMax = SeqNumber.Max(_sndMax, _sndNxt);
        OnAckSent();
        return true;
    }

    private void OnFinEmitted(Instant now, SeqNumber seq)
    {
        if (_finSent)
        {
            Counters.Retransmissions++;
            _layerCounters.Retransmissions++;
        }
        _finSent = true;
        _finSeq = seq;
        if (State == TcpState.Established)
        {
            State = TcpState.FinWait1;
        }
        else if (State == TcpState.CloseWait)
        {
            State = TcpState.LastAck;
        }
        if (_rtoAt == Instant.Never)
        {
            _rtoAt = now + _rtt.Rto;
        }
    }

    /// <summary>Sends up to <paramref name="maxLength"/> bytes from sequence <paramref name="seq"/>; FIN rides along when this empties the queue after Close().</summary>
    private bool EmitSegmentAt<TEmitter>(Instant now, ref TEmitter emitter, SeqNumber seq, int maxLength, bool retransmission, out int length)
        where TEmitter : struct, ITcpEmitter => EmitSegmentAt(now, ref emitter, seq, maxLength, retransmission, out length, out _);

    private bool EmitSegmentAt<TEmitter>(Instant now, ref TEmitter emitter, SeqNumber seq, int maxLength, bool retransmission, out int length, out bool finSent, bool rescue = false)
        where TEmitter : struct, ITcpEmitter
    {
        finSent = false;
        int offset = seq - _sndUna;
        int available = _sendBuffer!.Count - offset;
        length = Math.Max(0, Math.Min(maxLength, available));
        bool fin = _closeRequested && offset + length == _sendBuffer.Count && (!_finSent || seq + length == _finSeq);
        if (length == 0 && !fin)
        {
            return false;
        }
        TcpRepr repr = BaseRepr(seq, TcpFlags.Ack);
        // RFC 9293 3.7.1: Eff.snd.MSS = min(SendMSS + 20, MMS_S) - TCPhdrsize, with the options actually
        // carried (SACK blocks for the reverse direction make the header longer than the MSS assumed).
        int maxData = Math.Min(_peerMss, _localMss) + 20 - repr.HeaderLength;
        if (length > maxData)
        {
            length = Math.Max(1, maxData);
            fin = false;
        }
        TcpFlags flags = TcpFlags.Ack;
        if (offset + length == _sendBuffer.Count)
        {
            flags |= TcpFlags.Psh;
        }
        if (fin)
        {
            flags |= TcpFlags.Fin;
        }
        _sendBuffer.Peek(offset, length, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second);
        repr = repr with { Flags = flags, PayloadLength = length };
        if (!emitter.TryEmit(_tuple, repr, first, second))
        {
            return false;
        }
        Counters.SegmentsSent++;
        Counters.BytesSent += length;
        if (length > 0)
        {
            _scoreboard?.OnSegmentSent(seq, length, rescue);
            _rack?.OnSent(seq, length, now, retransmission);
            _cc.OnRecoveryDataSent(length);
            if (retransmission)
            {
                OnEpisodeRetransmission(seq, length, now);
            }
        }
        if (retransmission)
        {
            _retransmitTs = TsNow(now);
            _retransmitTsValid = true;
            Counters.Retransmissions++;
            _layerCounters.Retransmissions++;
            Counters.BytesRetransmitted += length;
            if (_rttTiming && _rttSeq >= seq && _rttSeq < seq + Math.Max(1, length))
            {
                _rttTiming = false; // Karn
            }
        }
        if (fin)
        {
            OnFinEmitted(now, seq + length);
            finSent = true;
        }
        if (_rtoAt == Instant.Never)
        {
            _rtoAt = now + _rtt.Rto;
        }
        OnAckSent();
        return true;
    }

    private void OnAckSent()
    {
        if (_dsackPending)
        {
            _dsackPending = false;
            Counters.DsacksSent++;
        }
        _lastAckSent = _rcvNxt;
        _ackNow = false;
        _segmentsSinceAck = 0;
        _delayedAckAt = Instant.Never;
        _windowUpdateDeferred = false;
        _readSinceAdvertised = 0;
    }

    /// <summary>The window field to advertise, keeping the right edge from moving left (RFC 9293 3.8.6.2.2).</summary>
    private ushort AdvertiseWindow()
    {
        int free = ReceiveFree();
        SeqNumber edge = _rcvNxt + free;
        // Receiver SWS avoidance: move the right edge only by at least min(buffer/2, MSS).
        if (edge - _rcvEdge >= Math.Min(_config.ReceiveBufferBytes / 2, _localMss) || _rcvEdge < _rcvNxt)
        {
            _rcvEdge = edge;
        }
        long window = Math.Max(0, _rcvEdge - _rcvNxt);
        // Round up so that scaling never shrinks the window below the edge already advertised (as Linux
        // does), and then accept exactly what the field says: the peer computes its edge as ACK + field
        // << shift, so our acceptance edge must be that value, not the unrounded one. Otherwise the peer
        // sends into bytes we trim, its SND.NXT passes our RCV.NXT, and at a zero window its ACKs fail the
        // sequence check and are lost.
        // Rounding up is allowed only into room the receive queue is sure to have (ReceiveQueue.GuaranteedBytes):
        // otherwise every ACK of a small segment would creep the edge right by up to 2^shift - 1 bytes, past what the
        // segment cap takes. Rounded down instead, the field is a little short of the edge we keep accepting to.
        long up = (window + (1L << _rcvWscale) - 1) >> _rcvWscale;
        long scaled = Math.Min(up << _rcvWscale <= SegmentRoom() ? up : window >> _rcvWscale, 65535);
        SeqNumber advertised = _rcvNxt + (int)(scaled << _rcvWscale);
        if (advertised > _rcvEdge)
        {
            _rcvEdge = advertised;
        }
        return (ushort)scaled;
    }

    private TcpRepr BaseRepr(SeqNumber seq, TcpFlags flags)
    {
        TcpRepr repr = new()
        {
            SourcePort = _tuple.LocalPort,
            DestinationPort = _tuple.RemotePort,
            SequenceNumber = seq.Value,
            AcknowledgmentNumber = (flags & TcpFlags.Ack) != 0 ? _rcvNxt.Value : 0,
            Flags = flags,
            WindowLength = (flags & TcpFlags.Rst) != 0 ? (ushort)0 : AdvertiseWindow(),
        };
        if (_tsOk && (flags & TcpFlags.Rst) == 0)
        {
            repr = repr with { Timestamp = new TcpTimestamp(TsNow(_lastNow), _tsRecent) };
        }
        if (_sackOk && (flags & TcpFlags.Rst) == 0 && (_dsackPending || !_ooo!.IsEmpty))
        {
            // With timestamps, 3 SACK blocks fit in the 40 option bytes; without, 4 (RFC 2018 3). A D-SACK block goes
            // first (RFC 2883 4), then the usual blocks, the most recent first.
            Span<SackBlock> blocks = stackalloc SackBlock[4];
            int max = _tsOk ? 3 : 4;
            int n = 0;
            if (_dsackPending)
            {
                blocks[n++] = _dsack;
            }
            n += _ooo!.WriteSackBlocks(blocks[n..max]);
            TcpSackBlocks wire = default;
            for (int i = 0; i < n; i++)
            {
                wire.TryAdd(blocks[i].Left.Value, blocks[i].Right.Value);
            }
            repr = repr with { SackBlocks = wire };
        }
        return repr;
    }

    private TcpRepr SynRepr(bool synAck)
    {
        // In a SYN the window is never scaled (RFC 7323 2.2).
        int window = Math.Min(ReceiveFree(), 65535);
        _rcvEdge = _rcvNxt + window;
        TcpRepr repr = new()
        {
            SourcePort = _tuple.LocalPort,
            DestinationPort = _tuple.RemotePort,
            SequenceNumber = _iss.Value,
            AcknowledgmentNumber = synAck ? _rcvNxt.Value : 0,
            Flags = synAck ? TcpFlags.Syn | TcpFlags.Ack : TcpFlags.Syn,
            WindowLength = (ushort)window,
            MaxSegmentSize = (ushort)Math.Min(_localMss, 65535),
        };
        // Offer an option in a SYN-ACK only when the peer's SYN offered it (RFC 7323 2.2 / 3.2, RFC 2018 2).
        bool offerWscale = _config.WindowScaling && (!synAck || _wscaleOk);
        bool offerSack = _config.Sack && (!synAck || _sackOk);
        bool offerTs = _config.Timestamps && (!synAck || _tsOk);
        if (offerWscale)
        {
            repr = repr with { WindowScale = _rcvWscale };
        }
        if (offerSack)
        {
            repr = repr with { SackPermitted = true };
        }
        if (offerTs)
        {
            repr = repr with { Timestamp = new TcpTimestamp(TsNow(_lastNow), synAck ? _tsRecent : 0) };
        }
        return repr;
    }
}
