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
/// <param name="filter">The compiled expression.</param>
public sealed class BpfMatch(BpfFilter filter) : PacketMatch
{
    /// <summary>The compiled filter, with the expression it came from.</summary>
    public BpfFilter Filter { get; } = filter;

    /// <summary>True when the program accepts the frame's data window, read from its Ethernet header.</summary>
    public override bool Matches(PacketBuffer frame) => Filter.Matches(frame.Data);

    /// <c>bpf 'EXPRESSION'</c>.
    public override string ToString() => $"bpf '{Filter.Expression}'";
}

/// <summary>The mark a socket or hook set (<see cref="PacketBuffer.Mark"/>), under a mask (tc's fw filter).</summary>
/// <param name="value">The mark to match, compared with the frame's mark under <paramref name="mask"/>; it must lie within the mask (<see cref="ArgumentException"/> otherwise: it could never match).</param>
/// <param name="mask">The bits of the mark compared; default all.</param>
public sealed class MarkMatch(uint value, uint mask = uint.MaxValue) : PacketMatch
{
    private readonly uint _value = (value & ~mask) == 0 ? value
        : throw new ArgumentException($"The mark 0x{value:x} has bits outside the mask 0x{mask:x}, so it could never match; give 0x{value & mask:x}.", nameof(value));

    /// <summary>True when the frame's mark under the mask equals the value.</summary>
    public override bool Matches(PacketBuffer frame) => (frame.Mark & mask) == _value;

    /// <c>mark V</c>, or <c>mark V/0xMASK</c> when a mask was given.
    public override string ToString() => mask == uint.MaxValue ? $"mark {_value}" : $"mark {_value}/0x{mask:x}";
}

/// <summary>The priority a socket or hook set, or the one the TOS gives (<see cref="Priomap.PriorityOf"/>).</summary>
/// <param name="priority">The priority to match, 0 to <see cref="Priomap.Max"/> for a TOS-derived one.</param>
public sealed class PriorityMatch(byte priority) : PacketMatch
{
    /// <summary>True when the frame's priority equals the one given.</summary>
    public override bool Matches(PacketBuffer frame) => Priomap.PriorityOf(frame) == priority;

    /// <c>priority P</c>.
    public override string ToString() => $"priority {priority}";
}

/// <summary>The DSCP of an IP frame (tc's u32 match on the TOS byte's top six bits).</summary>
/// <param name="dscp">The DSCP to match, 0 to 63.</param>
public sealed class DscpMatch(byte dscp) : PacketMatch
{
    /// <summary>True when the frame's DSCP equals the one given; a non-IP frame counts as DSCP 0.</summary>
    public override bool Matches(PacketBuffer frame) => Priomap.DscpOf(frame) == dscp;

    /// <c>dscp D</c>.
    public override string ToString() => $"dscp {dscp}";
}

/// <summary>A flow-hash bucket (tc's flow filter with <c>divisor</c>): spreads flows over classes.</summary>
/// <param name="bucket">The bucket to match, 0 to <paramref name="buckets"/> - 1.</param>
/// <param name="buckets">How many buckets the hash is spread over (the divisor), positive.</param>
/// <param name="seed">The hash's perturbation; filters meant to partition one set of flows share it.</param>
/// <exception cref="ArgumentOutOfRangeException"><paramref name="buckets"/> is not positive, or <paramref name="bucket"/> is outside 0 to buckets - 1 (it could never match).</exception>
public sealed class FlowBucketMatch(int bucket, int buckets, uint seed = 0) : PacketMatch
{
    private readonly int _buckets = buckets > 0 ? buckets
        : throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "A flow filter spreads flows over at least one bucket; give a positive divisor, e.g. flow 0/4.");
    private readonly int _bucket = bucket >= 0 && bucket < buckets ? bucket
        : throw new ArgumentOutOfRangeException(nameof(bucket), bucket, $"Bucket {bucket} of {buckets} could never match; give 0 to {buckets - 1}.");

    /// <summary>True when the frame's flow hash falls in the bucket.</summary>
    public override bool Matches(PacketBuffer frame) => FlowHash.Bucket(FlowHash.Of(frame, seed), _buckets) == _bucket;

    /// <c>flow B/N</c>.
    public override string ToString() => $"flow {_bucket}/{_buckets}";
}

/// <summary>A filter: a test and the band or class it sends a frame to.</summary>
/// <param name="Match">The test.</param>
/// <param name="Target">Where a matching frame goes: a band number for prio, a leaf class number for htb.</param>
public readonly record struct QDiscFilter(PacketMatch Match, int Target);
