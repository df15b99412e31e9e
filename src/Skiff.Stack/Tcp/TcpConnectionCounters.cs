namespace Skiff.Stack.Tcp;

/// <summary>Counters of one connection. Plain fields: the connection's owning loop writes them, readers may see slightly stale values.</summary>
public sealed class TcpConnectionCounters
{
    /// <summary>Payload bytes the peer acknowledged.</summary>
    public long BytesAcked;

    /// <summary>Payload bytes delivered in order to the receive queue.</summary>
    public long BytesReceived;

    /// <summary>Payload bytes sent again.</summary>
    public long BytesRetransmitted;

    /// <summary>Payload bytes sent, retransmissions included.</summary>
    public long BytesSent;

    /// <summary>Bytes dropped because they lay beyond the advertised window.</summary>
    public long BytesTrimmedBeyondWindow;

    /// <summary>Challenge ACKs sent (RFC 5961).</summary>
    public long ChallengeAcksSent;

    /// <summary>Challenge ACKs the per-connection rate limit withheld.</summary>
    public long ChallengeAcksSuppressed;

    /// <summary>ACKs for data never sent (RFC 5961 section 5.2).</summary>
    public long DroppedAckAhead;

    /// <summary>ACKs below SND.UNA - MAX.SND.WND (RFC 5961 section 5.2).</summary>
    public long DroppedAckTooOld;

    /// <summary>Segments without ACK in a synchronized state.</summary>
    public long DroppedNoAck;

    /// <summary>Out-of-order segments the bound refused.</summary>
    public long DroppedOutOfOrderFull;

    /// <summary>Segments outside the receive window.</summary>
    public long DroppedOutOfWindow;

    /// <summary>Segments dropped by PAWS (RFC 7323 section 5).</summary>
    public long DroppedPaws;

    /// <summary>In-order segments refused because the receive queue held its maximum of segments.</summary>
    public long DroppedReceiveQueueFull;

    /// <summary>Segments with an unacceptable ACK in SYN-SENT.</summary>
    public long DroppedUnacceptable;

    /// <summary>Duplicate ACKs received (RFC 5681 section 2).</summary>
    public long DuplicateAcks;

    /// <summary>Retransmission timeouts after which the SACK scoreboard was kept (the peer had not reneged), so the resend skipped SACKed data.</summary>
    public long SackKeptOnTimeout;

    /// <summary>Segments sent whose SACK option began with a D-SACK block reporting data received twice (RFC 2883).</summary>
    public long DsacksSent;

    /// <summary>ACKs received whose first SACK block was a D-SACK (RFC 2883 section 4): the peer got some data twice.</summary>
    public long DsacksReceived;

    /// <summary>Segments RACK marked lost by time (RFC 8985 section 6.2 step 5).</summary>
    public long RackLostSegments;

    /// <summary>Expiries of RACK's reordering timer (RFC 8985 section 6.2).</summary>
    public long RackReorderTimeouts;

    /// <summary>Tail loss probes sent (RFC 8985 section 7.3).</summary>
    public long TailLossProbes;

    /// <summary>Tail loss probes that repaired a loss, answered by one cwnd reduction (RFC 8985 section 7.4).</summary>
    public long TailLossProbeRecoveries;

    /// <summary>Fast recoveries undone as spurious, by Eifel (RFC 3522) or D-SACK (RFC 2883): cwnd and ssthresh restored.</summary>
    public long SpuriousRecoveriesUndone;

    /// <summary>Retransmission timeouts undone as spurious (RFC 3522 detection, RFC 4015 response): cwnd and ssthresh restored, new data resumed.</summary>
    public long SpuriousTimeoutsUndone;

    /// <summary>Fast retransmits (entries into fast recovery).</summary>
    public long FastRetransmits;

    /// <summary>Keepalive probes sent.</summary>
    public long KeepAlivesSent;

    /// <summary>Segments held out of order.</summary>
    public long OutOfOrderSegments;

    /// <summary>ACKs sent without data.</summary>
    public long PureAcksSent;

    /// <summary>Segments sent again (timeout, fast retransmit, SACK recovery, SYN and FIN retries).</summary>
    public long Retransmissions;

    /// <summary>Segments handed to this connection.</summary>
    public long SegmentsReceived;

    /// <summary>Segments carrying data (or a FIN with data) sent, retransmissions included.</summary>
    public long SegmentsSent;

    /// <summary>Retransmission, user or keepalive timeouts.</summary>
    public long Timeouts;

    /// <summary>Zero-window probes sent.</summary>
    public long WindowProbes;

    /// <summary>Acceptable RSTs received.</summary>
    public long ResetsReceived;

    /// <summary>RSTs sent.</summary>
    public long ResetsSent;

    /// <summary>RSTs owed for unacceptable ACKs.</summary>
    public long ResetsOwed;

    /// <summary>Zeroes every counter (a pooled socket starting a new connection).</summary>
    public void Reset()
    {
        BytesAcked = 0;
        BytesReceived = 0;
        BytesRetransmitted = 0;
        BytesSent = 0;
        BytesTrimmedBeyondWindow = 0;
        ChallengeAcksSent = 0;
        ChallengeAcksSuppressed = 0;
        DroppedAckAhead = 0;
        DroppedAckTooOld = 0;
        DroppedNoAck = 0;
        DroppedOutOfOrderFull = 0;
        DroppedOutOfWindow = 0;
        DroppedPaws = 0;
        DroppedReceiveQueueFull = 0;
        DroppedUnacceptable = 0;
        DuplicateAcks = 0;
        FastRetransmits = 0;
        DsacksSent = 0;
        RackLostSegments = 0;
        RackReorderTimeouts = 0;
        TailLossProbes = 0;
        TailLossProbeRecoveries = 0;
        SpuriousRecoveriesUndone = 0;
        SpuriousTimeoutsUndone = 0;
        DsacksReceived = 0;
        SackKeptOnTimeout = 0;
        KeepAlivesSent = 0;
        OutOfOrderSegments = 0;
        PureAcksSent = 0;
        Retransmissions = 0;
        SegmentsReceived = 0;
        SegmentsSent = 0;
        Timeouts = 0;
        WindowProbes = 0;
        ResetsReceived = 0;
        ResetsSent = 0;
        ResetsOwed = 0;
    }
}
