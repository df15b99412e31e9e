using Skiff.Stack.Tcp.Internal;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>Our timestamp clock: milliseconds (RFC 7323 5.4 allows 1 ms to 1 s per tick) plus a per-connection offset.</summary>
    private uint TsNow(Instant now) => unchecked((uint)(now.TotalMicros / 1000) + _tsOffset);

    /// <summary>Bytes sent and not yet acknowledged (FlightSize, RFC 5681).</summary>
    private int FlightSize => _sndMax - _sndUna;

    // RFC 9293 3.10.7.4, fifth step, for the states past SYN-RECEIVED.
    private void ProcessAck(Instant now, in TcpRepr seg, SeqNumber seq, SeqNumber ack, int dataLength)
    {
        bool windowChanged = false;
        if (_sndWl1 < seq || (_sndWl1 == seq && _sndWl2 <= ack))
        {
            long window = (long)seg.WindowLength << _sndWscale;
            windowChanged = window != _sndWnd;
            _sndWnd = window;
            _maxSndWnd = Math.Max(_maxSndWnd, window);
            _sndWl1 = seq;
            _sndWl2 = ack;
        }

        bool newSack = false;
        bool dsack = false;
        SackBlock dsackBlock = default;
        long sackedBefore = 0;
        if (_sackOk && _scoreboard is not null)
        {
            // RFC 6675 4 Update(): cumulative ACK and SACK blocks.
            Span<SackBlock> blocks = stackalloc SackBlock[TcpSackBlocks.Capacity];
            int n = Math.Min(seg.SackBlocks.Count, blocks.Length);
            for (int i = 0; i < n; i++)
            {
                (uint left, uint right) = seg.SackBlocks[i];
                blocks[i] = new SackBlock(new SeqNumber(left), new SeqNumber(right));
            }
            sackedBefore = _scoreboard.SackedBytes;
            if (IsDsack(blocks[..n], ack))
            {
                dsack = true;
                dsackBlock = blocks[0];
                OnDsackReceived(blocks[0]);
            }
            newSack = _scoreboard.Update(blocks[..n], SeqNumber.Max(ack, _sndUna));
        }

        int acked = ack - _sndUna;
        if (acked > 0)
        {
            OnNewAck(now, seg, ack, acked);
        }
        else if (acked == 0 && _sndMax > _sndUna
                 && (_sackOk
                     ? newSack // RFC 6675 2: a duplicate ACK is one whose SACK blocks carry new information
                     : dataLength == 0 && (seg.Flags & (TcpFlags.Syn | TcpFlags.Fin)) == 0 && !windowChanged)) // RFC 5681 2
        {
            OnDuplicateAck(now, ack);
        }
        if (_sackOk && _scoreboard is not null && State != TcpState.Closed)
        {
            OnSackAck(now, seg, SeqNumber.Max(ack, _sndUna), acked, sackedBefore, newSack, dsack, dsackBlock);
        }

        // The persist timer stays armed through a window too small to use (1 to MSS-1 bytes): were its one
        // update lost, nothing else would wake the sender. DispatchData disarms it once data goes.

        if (_finSent && _sndUna == _finSeq + 1)
        {
            switch (State)
            {
                case TcpState.FinWait1:
                    State = TcpState.FinWait2;
                    break;
                case TcpState.Closing:
                    EnterTimeWait(now);
                    break;
                case TcpState.LastAck:
                    EnterClosed(TcpError.None);
                    break;
            }
        }
    }

    /// <summary>
    /// RFC 2883 section 4: the first SACK block is a D-SACK when it lies at or below the cumulative ACK, or inside the
    /// second block. It must also cover data we sent (a forged or stale block is not a D-SACK).
    /// </summary>
    private bool IsDsack(ReadOnlySpan<SackBlock> blocks, SeqNumber ack)
    {
        if (blocks.Length == 0)
        {
            return false;
        }
        SackBlock first = blocks[0];
        if (first.Right <= first.Left || first.Right > _sndMax || first.Left < _iss)
        {
            return false;
        }
        return first.Right <= ack
            || (blocks.Length > 1 && first.Left >= blocks[1].Left && first.Right <= blocks[1].Right);
    }

    /// <summary>The peer reported bytes it received twice: one of our retransmissions (or the original) was unnecessary.</summary>
    private void OnDsackReceived(SackBlock block)
    {
        Counters.DsacksReceived++;
        _layerCounters.DsacksReceived++;
        CheckUndoOnDsack(block);
    }

    private void OnNewAck(Instant now, in TcpRepr seg, SeqNumber ack, int acked)
    {
        int dataAcked = acked;
        if (_sndUna == _iss)
        {
            dataAcked--; // the SYN
        }
        if (_finSent && ack == _finSeq + 1)
        {
            dataAcked--; // the FIN
        }
        if (dataAcked > 0)
        {
            _sendBuffer!.Release(Math.Min(dataAcked, _sendBuffer.Count));
        }
        _sndUna = ack;
        if (_sndNxt < _sndUna)
        {
            _sndNxt = _sndUna;
        }
        _lastProgressAt = now;
        _retransmits = 0;
        _persistBackoff = Duration.Zero; // the peer took data: probing, if needed again, starts from one RTO
        Counters.BytesAcked += Math.Max(0, dataAcked);

        // RTT: with timestamps every ACK that advances SND.UNA carries a valid sample (RFC 7323 4.1);
        // without them, one timed segment at a time, never a retransmitted one (Karn).
        Duration? sample = null;
        if (_tsOk && seg.Timestamp is TcpTimestamp ts && ts.EchoReply != 0)
        {
            // An echo older than our last retransmission measures the retransmission timeout, not the
            // path: the receiver answered an old duplicate with an old TS.Recent (RFC 7323 5.3 R2 drops
            // before R3 updates). Such samples would feed RTO back into itself, so skip them, as Linux
            // does with retrans_stamp (the Eifel test of RFC 3522).
            if (!_retransmitTsValid || (int)(ts.EchoReply - _retransmitTs) >= 0)
            {
                _retransmitTsValid = false;
                sample = Duration.FromMillis(Math.Max(0, (int)(TsNow(now) - ts.EchoReply)));
                _rtt.OnSample(sample.Value, fromRetransmittedSegment: false, fromTimestamp: true);
            }
        }
        else if (_rttTiming && ack > _rttSeq)
        {
            sample = now - _rttSentAt;
            _rtt.OnSample(sample.Value, fromRetransmittedSegment: false);
            _rttTiming = false;
        }

        CheckUndoOnAck(now, seg, ack);
        CheckTimeoutRecoveryEnd(ack);
        if (_cc.InRecovery)
        {
            if (_cc.IsFullAck(ack))
            {
                _cc.OnExitRecovery(FlightSize, now);
                _rack?.OnRecoveryEnded();
            }
            else
            {
                // RFC 6582 3.2 step 5 / RFC 6675: a partial ACK.
                PartialAckAction action = _cc.OnPartialAck(acked);
                if ((action & PartialAckAction.RetransmitFirstUnacked) != 0 && !_sackOk)
                {
                    _retransmitHead = true;
                }
            }
        }
        else
        {
            _cc.OnAck(acked, now, _rtt.HasSample ? _rtt.SmoothedRtt : Duration.Zero);
        }
        _limitedTransmitSegments = 0;
        _rtoAt = _sndMax > _sndUna ? now + _rtt.Rto : Instant.Never;
    }

    private void OnDuplicateAck(Instant now, SeqNumber ack)
    {
        Counters.DuplicateAcks++;
        if (_rack is not null)
        {
            // RACK decides losses by time (OnSackAck); duplicates only open limited transmit (RFC 3042).
            if (!_cc.InRecovery && _limitedTransmitSegments < 2)
            {
                _limitedTransmitSegments++;
            }
            return;
        }
        bool wasInRecovery = _cc.InRecovery;
        bool enter = _cc.OnDuplicateAck(ack, FlightSize, _sndMax, now);
        if (!enter && !_cc.InRecovery && _sackOk && _scoreboard is not null && _scoreboard.IsLost(_sndUna))
        {
            // RFC 6675 5 step 2: SACK shows the first segment lost before three duplicates arrived.
            _cc.OnEnterRecovery(FlightSize, _sndMax, now);
            enter = true;
        }
        if (!enter && !_cc.InRecovery && _limitedTransmitSegments < 2)
        {
            // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment go out,
            // so a small window still collects the duplicates that fast retransmit needs.
            _limitedTransmitSegments++;
        }
        if (enter && !wasInRecovery)
        {
            BeginUndoEpisode(timeout: false);
            _limitedTransmitSegments = 0;
            _retransmitHead = true;
            Counters.FastRetransmits++;
            _scoreboard?.BeginRecovery();
        }
    }

    private void EnterTimeWait(Instant now)
    {
        // The layer hands the connection to a TIME-WAIT record right after this segment (TcpLayer.AfterProcess).
        State = TcpState.TimeWait;
        _rtoAt = Instant.Never;
        _rackAt = Instant.Never;
        _tlpAt = Instant.Never;
        _tlpProbe = false;
        _persistAt = Instant.Never;
        _keepAliveAt = Instant.Never;
        _sendBuffer?.Clear();
    }

    private void SendChallengeAck(Instant now)
    {
        // RFC 5961 7: rate-limited, per connection (a global limit is itself a side channel, CVE-2016-5696).
        if (_challengeAcks!.TryAcquire(now))
        {
            Counters.ChallengeAcksSent++;
            _ackNow = true;
        }
        else
        {
            Counters.ChallengeAcksSuppressed++;
        }
    }

    // RFC 9293 3.10.7.4, seventh and eighth steps.
    private bool ReceiveData(Instant now, SeqNumber seq, PacketBuffer? payload, int dataLength, bool fin)
    {
        // Trim what lies left of RCV.NXT (retransmitted bytes) and right of the window.
        if (seq < _rcvNxt)
        {
            int stale = _rcvNxt - seq;
            if (stale >= dataLength)
            {
                // Entirely old data (perhaps with a FIN we already have): ACK at once, it is a retransmission.
                _ackNow = true;
                if (dataLength > 0)
                {
                    RecordDuplicate(seq, seq + dataLength);
                }
                if (fin && seq + dataLength == _rcvNxt - 1 && _finReceived)
                {
                    return false;
                }
                if (!(fin && seq + dataLength == _rcvNxt))
                {
                    return false;
                }
                dataLength = 0;
                payload = null;
                seq = _rcvNxt;
            }
            else
            {
                RecordDuplicate(seq, _rcvNxt);
                payload!.TryAdjust(stale);
                dataLength -= stale;
                seq = _rcvNxt;
            }
        }
        int window = Math.Max(0, _rcvEdge - _rcvNxt);
        int beyond = (seq + dataLength) - (_rcvNxt + window);
        if (beyond > 0)
        {
            payload!.TryTrim(Math.Min(beyond, dataLength));
            dataLength -= Math.Min(beyond, dataLength);
            fin = false; // the FIN lies beyond the window
            Counters.BytesTrimmedBeyondWindow += beyond;
            // Data we could not take (a zero window probe, or a sender overrunning the window) is answered
            // with an ACK at once, so the sender learns the current window (RFC 9293 3.8.6.1).
            _ackNow = true;
        }

        if (seq != _rcvNxt)
        {
            // Out of order: hold it (bounded), ACK at once so the sender's fast retransmit sees a dup ACK
            // and SACK blocks (RFC 5681 4.2, RFC 2018).
            _ackNow = true;
            if (dataLength == 0 && !fin)
            {
                return false;
            }
            OutOfOrderQueue.InsertResult r = _ooo!.Insert(seq, dataLength > 0 ? payload : null, fin);
            if (r == OutOfOrderQueue.InsertResult.Queued)
            {
                Counters.OutOfOrderSegments++;
                return dataLength > 0;
            }
            if (r == OutOfOrderQueue.InsertResult.Full)
            {
                Counters.DroppedOutOfOrderFull++;
            }
            else if (r == OutOfOrderQueue.InsertResult.Duplicate && dataLength > 0)
            {
                RecordDuplicate(seq, seq + dataLength);
            }
            return false;
        }

        bool taken = false;
        if (dataLength > 0)
        {
            if (!_rx!.TryEnqueue(payload!, out bool coalesced))
            {
                // Cannot happen within the window we advertised (AdvertiseWindow caps it by what the queue is
                // sure to take); kept as a bound against a bug: drop without ACKing, the peer retransmits.
                Counters.DroppedReceiveQueueFull++;
                _ackNow = true;
                return false;
            }
            taken = !coalesced; // copied into the tail buffer: the caller frees this one
            _rcvNxt += dataLength;
            Counters.BytesReceived += dataLength;
        }
        bool hadHole = !_ooo!.IsEmpty;
        if (hadHole)
        {
            DrainOutOfOrder(ref fin);
            _ackNow = true; // a segment that fills (part of) a hole is ACKed at once (RFC 5681 4.2)
        }
        if (fin)
        {
            OnFinReceived(now);
        }
        else if (dataLength > 0)
        {
            ScheduleAck(now, dataLength);
        }
        return taken;
    }

    /// <summary>How far below RCV.NXT a duplicate may start and still be reported (older ones are not worth a block).</summary>
    private const int MaxDsackDistance = 1 << 30;

    /// <summary>
    /// A segment brought bytes we already hold, [<paramref name="left"/>, <paramref name="right"/>): with SACK on, the
    /// next segment we send reports them as a D-SACK block, first in its SACK option (RFC 2883 section 4), so the
    /// sender learns its retransmission was spurious (undo, RFC 8985's reordering window). Only the latest is kept.
    /// </summary>
    private void RecordDuplicate(SeqNumber left, SeqNumber right)
    {
        if (!_sackOk || right <= left)
        {
            return;
        }
        _dsack = new SackBlock(left, right);
        _dsackPending = true;
        _ackNow = true;
    }

    private void DrainOutOfOrder(ref bool fin)
    {
        while (_ooo!.TryTakeNext(_rcvNxt, out PacketBuffer? buffer, out bool entryFin))
        {
            if (buffer is not null && buffer.Length > 0)
            {
                int n = buffer.Length;
                if (!_rx!.TryEnqueue(buffer, out bool coalesced))
                {
                    buffer.Free();
                    Counters.DroppedReceiveQueueFull++;
                    break;
                }
                if (coalesced)
                {
                    buffer.Free();
                }
                _rcvNxt += n;
                Counters.BytesReceived += n;
            }
            else
            {
                buffer?.Free();
            }
            if (entryFin)
            {
                fin = true;
                _ooo.Clear(); // nothing can follow a FIN
                break;
            }
        }
    }

    private void OnFinReceived(Instant now)
    {
        _rcvNxt += 1;
        _finReceived = true;
        _ackNow = true;
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                // Our FIN acknowledged already? Then straight to TIME-WAIT, else CLOSING.
                if (_finSent && _sndUna == _finSeq + 1)
                {
                    EnterTimeWait(now);
                }
                else
                {
                    State = TcpState.Closing;
                }
                break;
            case TcpState.FinWait2:
                EnterTimeWait(now);
                break;
        }
    }

    private void ScheduleAck(Instant now, int dataLength)
    {
        // RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3: ACK at least every second full-sized segment, and delay
        // any ACK by less than 0.5 s (DelayedAckTimeout).
        if (!_config.DelayedAck)
        {
            _ackNow = true;
            return;
        }
        if (dataLength >= SendMss && ++_segmentsSinceAck >= 2)
        {
            _ackNow = true;
            return;
        }
        if (_delayedAckAt == Instant.Never)
        {
            _delayedAckAt = now + _config.DelayedAckTimeout;
        }
    }
}
