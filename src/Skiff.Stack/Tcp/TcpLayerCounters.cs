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

    /// <summary>TIME-WAIT connections recycled because MaxTimeWait was reached.</summary>
    public long TimeWaitRecycled;

    /// <summary>TIME-WAIT connections reused by a new SYN or connect (RFC 6191 / tcp_tw_reuse).</summary>
    public long TimeWaitReused;

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
}
