namespace Skiff.Wire;

/// <summary>The TCP timestamps option (RFC 7323 section 3.2): TSval and TSecr, raw 32-bit clock values.</summary>
/// <param name="Value">TSval, the sender's timestamp clock.</param>
/// <param name="EchoReply">TSecr, the most recent TSval received from the peer (0 on a SYN).</param>
public readonly record struct TcpTimestamp(uint Value, uint EchoReply)
{
    /// <summary>tcpdump's form, e.g. "TS val 1000 ecr 0". Allocates.</summary>
    public override string ToString() => $"TS val {Value} ecr {EchoReply}";
}
