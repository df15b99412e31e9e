namespace Skiff.Wire;

/// <summary>Codes of ICMPv4 destination unreachable (RFC 792; RFC 1122 section 3.2.2.1; RFC 1812 section 5.2.7.1). Other values are preserved.</summary>
public enum Icmpv4DestinationUnreachableCode : byte
{
    NetUnreachable = 0,
    HostUnreachable = 1,
    ProtocolUnreachable = 2,
    PortUnreachable = 3,
    /// <summary>Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 section 4).</summary>
    FragmentationNeeded = 4,
    SourceRouteFailed = 5,
    NetUnknown = 6,
    HostUnknown = 7,
    SourceHostIsolated = 8,
    NetProhibited = 9,
    HostProhibited = 10,
    NetUnreachableForTos = 11,
    HostUnreachableForTos = 12,
    CommunicationProhibited = 13,
    HostPrecedenceViolation = 14,
    PrecedenceCutoff = 15,
}
