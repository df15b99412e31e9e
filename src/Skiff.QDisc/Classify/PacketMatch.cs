using Skiff.Hooks.Bpf;

namespace Skiff.QDisc.Classify;

/// <summary>
/// A classifier's test (Linux's tc filters): prio and HTB try their filters in order and send a frame to the band or class
/// of the first that matches. One virtual call per filter per frame, as cls_* do.
/// </summary>
public abstract class PacketMatch
{
    /// <summary>True when <paramref name="frame"/> matches.</summary>
    public abstract bool Matches(PacketBuffer frame);

    /// <summary>The filter as the specification wrote it.</summary>
    public abstract override string ToString();
}

/// <summary>A tcpdump expression, run by Skiff's cBPF JIT (<see cref="BpfFilter"/>; tc's cls_bpf with a classic program).</summary>
public sealed class BpfMatch(BpfFilter filter) : PacketMatch
{
    public BpfFilter Filter { get; } = filter;

    public override bool Matches(PacketBuffer frame) => Filter.Matches(frame.Data);

    public override string ToString() => $"bpf '{Filter.Expression}'";
}

/// <summary>The mark a socket or hook set (<see cref="PacketBuffer.Mark"/>), under a mask (tc's fw filter).</summary>
public sealed class MarkMatch(uint value, uint mask = uint.MaxValue) : PacketMatch
{
    public override bool Matches(PacketBuffer frame) => (frame.Mark & mask) == value;

    public override string ToString() => mask == uint.MaxValue ? $"mark {value}" : $"mark {value}/0x{mask:x}";
}

/// <summary>The priority a socket or hook set, or the one the TOS gives (<see cref="Priomap.PriorityOf"/>).</summary>
public sealed class PriorityMatch(byte priority) : PacketMatch
{
    public override bool Matches(PacketBuffer frame) => Priomap.PriorityOf(frame) == priority;

    public override string ToString() => $"priority {priority}";
}

/// <summary>The DSCP of an IP frame (tc's u32 match on the TOS byte's top six bits).</summary>
public sealed class DscpMatch(byte dscp) : PacketMatch
{
    public override bool Matches(PacketBuffer frame) => Priomap.DscpOf(frame) == dscp;

    public override string ToString() => $"dscp {dscp}";
}

/// <summary>A flow-hash bucket (tc's flow filter with <c>divisor</c>): spreads flows over classes.</summary>
public sealed class FlowBucketMatch(int bucket, int buckets, uint seed = 0) : PacketMatch
{
    public override bool Matches(PacketBuffer frame) => FlowHash.Bucket(FlowHash.Of(frame, seed), buckets) == bucket;

    public override string ToString() => $"flow {bucket}/{buckets}";
}

/// <summary>A filter: a test and the band or class it sends a frame to.</summary>
public readonly record struct QDiscFilter(PacketMatch Match, int Target);
