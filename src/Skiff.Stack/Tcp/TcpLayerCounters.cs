namespace Skiff.Stack.Tcp;

/// <summary>Layer-wide TCP counters (per-connection ones live in <see cref="TcpConnectionCounters"/>).</summary>
public sealed class TcpLayerCounters
{
    /// <summary>Connections opened actively (connect).</summary>
    public long ActiveOpens;

    /// <summary>Connections opened passively (a SYN to a listener, or a valid cookie).</summary>
    public long PassiveOpens;

    /// <summary>Segments for no connection or listener, answered with a RST.</summary>
    public long ResetsForNoConnection;

    /// <summary>RSTs the layer rate limit withheld.</summary>
    public long ResetsRateLimited;

    /// <summary>Control replies (RSTs, cookie SYN-ACKs) dropped because their queue was full.</summary>
    public long ControlRepliesDropped;

    /// <summary>Connections refused because every socket slot was taken.</summary>
    public long NoFreeSocket;

    /// <summary>TIME-WAIT connections ended early because MaxTimeWait was reached (Linux's TCPTimeWaitOverflow).</summary>
    public long TimeWaitRecycled;

    /// <summary>TIME-WAIT connections reused by a new SYN or connect (RFC 6191 / tcp_tw_reuse).</summary>
    public long TimeWaitReused;

    /// <summary>Segments that reached a connection in TIME-WAIT (answered by its record: a retransmitted FIN, a stray ACK, PAWS).</summary>
    public long TimeWaitSegments;

    /// <summary>ACKs sent for connections in TIME-WAIT (the one for the peer's FIN included).</summary>
    public long TimeWaitAcks;

    /// <summary>Challenge ACKs a TIME-WAIT record withheld (the connection's ChallengeAcksPerSecond, RFC 5961 7).</summary>
    public long TimeWaitChallengeAcksSuppressed;

    /// <summary>Segments dropped at the layer (a RST for nothing, a stray SYN-ACK, ...).</summary>
    public long SegmentsDropped;

    /// <summary>Connections reset because data arrived after the application released them (Linux's TCPAbortOnData).</summary>
    public long AbortsOnData;

    /// <summary>Connections whose resources went back to the pool.</summary>
    public long ConnectionsFreed;

    /// <summary>
    /// Segments sent again by every connection of the layer, over its lifetime: the sum of
    /// <see cref="TcpConnectionCounters.Retransmissions"/>, kept when connections are freed and their counters reset.
    /// </summary>
    public long Retransmissions;

    /// <summary>D-SACK blocks (RFC 2883) received by every connection of the layer: data the peers got twice.</summary>
    public long DsacksReceived;

    /// <summary>Segments RACK (RFC 8985) marked lost, over every connection of the layer.</summary>
    public long RackLostSegments;

    /// <summary>Tail loss probes (RFC 8985 section 7) sent by every connection of the layer.</summary>
    public long TailLossProbes;

    /// <summary>Loss responses (fast recoveries and timeouts) undone as spurious by every connection of the layer.</summary>
    public long SpuriousRetransmissionsUndone;
}
