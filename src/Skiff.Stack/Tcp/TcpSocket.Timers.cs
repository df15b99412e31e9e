namespace Skiff.Stack.Tcp;

public sealed partial class TcpSocket
{
    /// <summary>
    /// Fires the timers that are due at <paramref name="now"/>: retransmission (RFC 6298 5), persist
    /// (RFC 9293 3.8.6.1), keepalive (RFC 1122 4.2.3.6), user timeout (RFC 5482) and TIME-WAIT.
    /// The delayed ACK needs no firing: <see cref="Dispatch{TEmitter}"/> sends it when due.
    /// </summary>
    internal void OnTimers(Instant now)
    {
        _lastNow = now;
        if (State == TcpState.Closed)
        {
            return;
        }
        if (_config.UserTimeout is Duration userTimeout && _sndMax > _sndUna && now - _lastProgressAt >= userTimeout)
        {
            Counters.Timeouts++;
            _sendRst = true;
            Error = TcpError.TimedOut;
            return;
        }
        if (now >= _rtoAt)
        {
            OnRetransmissionTimeout(now);
            if (State == TcpState.Closed)
            {
                return;
            }
        }
        if (now >= _rackAt)
        {
            OnRackTimer(now);
        }
        if (now >= _tlpAt)
        {
            OnTlpTimer();
        }
        if (now >= _persistAt)
        {
            _persistAt = Instant.Never;
            // Still held with nothing in flight? (An update may have let the data go meanwhile.)
            _persistProbe = _sendBuffer is not null && _sendBuffer.Count > _sndNxt - _sndUna && _sndMax == _sndUna;
        }
        if (now >= _keepAliveAt)
        {
            if (_keepAliveProbes >= _config.KeepAliveProbes)
            {
                Counters.Timeouts++;
                EnterClosed(TcpError.TimedOut);
                return;
            }
            _keepAliveProbes++;
            _keepAliveProbe = true;
            _keepAliveAt = now + _config.KeepAliveInterval;
        }
    }

    /// <summary>An ICMP unreachable for our SYN: a hard one ends the connect attempt; a soft one is remembered for a timeout.</summary>
    internal void OnIcmpUnreachable(uint quotedSequence, TcpError error, bool hard)
    {
        if (State != TcpState.SynSent || quotedSequence != _iss.Value)
        {
            return;
        }
        if (hard)
        {
            EnterClosed(error);
        }
        else
        {
            _softError = error;
        }
    }

    private void OnRetransmissionTimeout(Instant now)
    {
        Counters.Timeouts++;
        _retransmits++;
        bool handshake = State is TcpState.SynSent or TcpState.SynReceived;
        int limit = handshake ? _config.MaxSynRetransmissions : _config.MaxRetransmissions;
        if (_retransmits > limit)
        {
            if (handshake)
            {
                EnterClosed(_softError != TcpError.None ? _softError : TcpError.TimedOut);
            }
            else
            {
                // Give up and tell the peer (RFC 9293 3.8.3: R2 reached, close the connection).
                _sendRst = true;
                Error = TcpError.TimedOut;
            }
            _rtoAt = Instant.Never;
            return;
        }
        // RFC 6298 5.5-5.7: back off, retransmit the earliest unacknowledged segment, restart the timer.
        _rtt.Backoff();
        _rttTiming = false;
        if (handshake)
        {
            _sndNxt = _iss;
        }
        else
        {
            // RFC 5681 3.1 eq. 4 and RFC 6582 4: ssthresh from the flight, cwnd to the loss window,
            // recover = SND.MAX so duplicates of this window start no fast retransmit.
            BeginUndoEpisode(timeout: true);
            _cc.OnRetransmitTimeout(FlightSize, _sndMax, now);
            _sndNxt = _sndUna;
            // RFC 8985: everything not SACKed is lost; no probe or reordering timer runs through a timeout.
            OnTimeoutRecovery();
            // The head segment goes out whatever the window (DispatchRetransmissions); the rest follows as cwnd allows.
            _retransmitHead = true;
            _limitedTransmitSegments = 0;
            // The SACK scoreboard survives the timeout unless the peer reneged: the resend skips what it holds.
            if (_scoreboard is not null && _scoreboard.OnRetransmissionTimeout())
            {
                Counters.SackKeptOnTimeout++;
            }
        }
        _rtoAt = now + _rtt.Rto;
    }

    /// <summary>
    /// When the socket next needs attention: <paramref name="now"/> if it has something to send,
    /// otherwise its earliest timer, or <see cref="Instant.Never"/>.
    /// </summary>
    internal Instant PollAt(Instant now)
    {
        if (State == TcpState.Closed)
        {
            return _pendingReset ? now : Instant.Never;
        }
        if (HasImmediateWork())
        {
            return now;
        }
        Instant at = Instant.Min(Instant.Min(_rtoAt, _delayedAckAt), Instant.Min(_persistAt, _keepAliveAt));
        at = Instant.Min(at, Instant.Min(_rackAt, _tlpAt));
        if (_config.UserTimeout is Duration userTimeout && _sndMax > _sndUna)
        {
            at = Instant.Min(at, _lastProgressAt + userTimeout);
        }
        return at;
    }

    private bool HasImmediateWork()
    {
        if (State == TcpState.TimeWait)
        {
            return false; // its TIME-WAIT record answers for it
        }
        if (_ackNow || _windowUpdateDeferred || _sendRst || _pendingReset || _retransmitHead || _persistProbe || _keepAliveProbe || _tlpProbe)
        {
            return true;
        }
        if (State is TcpState.SynSent or TcpState.SynReceived)
        {
            return _sndNxt == _iss;
        }
        if (_sendBuffer is null)
        {
            return false;
        }
        int unsent = _sendBuffer.Count - (_sndNxt - _sndUna);
        if (unsent > 0)
        {
            // The same rule DispatchData applies: data held by Nagle or the window is no work now, so the engine
            // sleeps until a timer or an ACK instead of spinning on a dispatch that sends nothing.
            return SendableLength(unsent) > 0;
        }
        return _closeRequested && (!_finSent || _sndNxt == _finSeq);
    }
}
