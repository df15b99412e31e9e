namespace Skiff.QDisc;

/// <summary>A qdisc's counters as <c>tc -s qdisc</c> shows them.</summary>
/// <param name="Kind">pfifo, tbf, fq_codel...</param>
/// <param name="SentBytes">Bytes dequeued towards the device.</param>
/// <param name="SentPackets">Frames dequeued towards the device.</param>
/// <param name="Dropped">Frames dropped here and below (limits, AQM, policers).</param>
/// <param name="Overlimits">Times a shaper held a frame back for want of tokens.</param>
/// <param name="Requeues">Dequeued frames the device refused and the egress kept for its next burst.</param>
/// <param name="BacklogBytes">Bytes queued now.</param>
/// <param name="BacklogPackets">Frames queued now.</param>
public readonly record struct QDiscStatistics(string Kind, long SentBytes, long SentPackets, long Dropped, long Overlimits, long Requeues,
    long BacklogBytes, long BacklogPackets)
{
    /// <summary>codel and fq_codel: frames CE-marked instead of dropped.</summary>
    public long EcnMarks { get; init; }

    /// <summary>codel and fq_codel: frames the control law dropped (sojourn time above target).</summary>
    public long CodelDrops { get; init; }

    /// <summary>fq_codel: times a flow became new.</summary>
    public long NewFlowCount { get; init; }

    /// <summary>fq_codel: frames dropped at the packet or memory limit.</summary>
    public long DropOverlimit { get; init; }

    /// <summary>fq_codel: flows in the new list now.</summary>
    public long NewFlowsLength { get; init; }

    /// <summary>fq_codel: flows in the old list now.</summary>
    public long OldFlowsLength { get; init; }

    /// <summary>tc's two lines: "Sent B bytes P pkt (dropped D, overlimits O requeues R)" and "backlog Bb Pp requeues R".</summary>
    public override string ToString() =>
        $"Sent {SentBytes} bytes {SentPackets} pkt (dropped {Dropped}, overlimits {Overlimits} requeues {Requeues})\n backlog {BacklogBytes}b {BacklogPackets}p requeues {Requeues}";
}
