namespace Skiff.Wire;

/// <summary>ICMPv4 message types (RFC 792; IANA "ICMP Type Numbers"). Values not listed are preserved as numbers.</summary>
public enum Icmpv4Type : byte
{
    /// <summary>The answer to an <see cref="EchoRequest"/>, echoing its identifier, sequence number and data (ping's reply).</summary>
    EchoReply = 0,
    /// <summary>A packet could not be delivered; the code (<see cref="Icmpv4DestinationUnreachableCode"/>) says why, and the body quotes the offending packet's header.</summary>
    DestinationUnreachable = 3,
    /// <summary>Deprecated (RFC 6633); parsed as unsupported.</summary>
    SourceQuench = 4,
    /// <summary>A router tells the host a better first hop for a destination (RFC 792); parsed as unsupported.</summary>
    Redirect = 5,
    /// <summary>A request to echo its identifier, sequence number and data back (ping).</summary>
    EchoRequest = 8,
    /// <summary>TTL reached zero in transit or reassembly timed out; the code (<see cref="Icmpv4TimeExceededCode"/>) says which (traceroute's answer).</summary>
    TimeExceeded = 11,
    /// <summary>A header field is bad; the pointer names the offending octet.</summary>
    ParameterProblem = 12,
    /// <summary>Timestamp request (RFC 792); parsed as unsupported.</summary>
    Timestamp = 13,
    /// <summary>Timestamp reply (RFC 792); parsed as unsupported.</summary>
    TimestampReply = 14,
}
