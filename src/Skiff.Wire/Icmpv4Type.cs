namespace Skiff.Wire;

/// <summary>ICMPv4 message types (RFC 792; IANA "ICMP Type Numbers"). Values not listed are preserved as numbers.</summary>
public enum Icmpv4Type : byte
{
    EchoReply = 0,
    DestinationUnreachable = 3,
    /// <summary>Deprecated (RFC 6633); parsed as unsupported.</summary>
    SourceQuench = 4,
    Redirect = 5,
    EchoRequest = 8,
    TimeExceeded = 11,
    ParameterProblem = 12,
    Timestamp = 13,
    TimestampReply = 14,
}
