namespace Skiff.Wire;

/// <summary>Codes of ICMPv4 destination unreachable (RFC 792; RFC 1122 section 3.2.2.1; RFC 1812 section 5.2.7.1). Other values are preserved.</summary>
public enum Icmpv4DestinationUnreachableCode : byte
{
    /// <summary>A router has no route to the destination network (RFC 792).</summary>
    NetUnreachable = 0,
    /// <summary>The last router could not deliver to the host, e.g. ARP got no answer (RFC 792).</summary>
    HostUnreachable = 1,
    /// <summary>The destination host does not speak the IP protocol number carried (RFC 792).</summary>
    ProtocolUnreachable = 2,
    /// <summary>No socket listens on the destination UDP port (RFC 792; RFC 1122 section 4.1.3.1).</summary>
    PortUnreachable = 3,
    /// <summary>Fragmentation needed and DF set; carries the next-hop MTU (RFC 1191 section 4).</summary>
    FragmentationNeeded = 4,
    /// <summary>A source route option could not be followed (RFC 792).</summary>
    SourceRouteFailed = 5,
    /// <summary>The destination network is unknown (RFC 1122 section 3.2.2.1).</summary>
    NetUnknown = 6,
    /// <summary>The destination host is unknown (RFC 1122 section 3.2.2.1).</summary>
    HostUnknown = 7,
    /// <summary>The source host is isolated; obsolete (RFC 1122 section 3.2.2.1).</summary>
    SourceHostIsolated = 8,
    /// <summary>Communication with the destination network is administratively prohibited (RFC 1122 section 3.2.2.1).</summary>
    NetProhibited = 9,
    /// <summary>Communication with the destination host is administratively prohibited (RFC 1122 section 3.2.2.1).</summary>
    HostProhibited = 10,
    /// <summary>The network is unreachable for the requested type of service (RFC 1122 section 3.2.2.1).</summary>
    NetUnreachableForTos = 11,
    /// <summary>The host is unreachable for the requested type of service (RFC 1122 section 3.2.2.1).</summary>
    HostUnreachableForTos = 12,
    /// <summary>A router's filter prohibits the packet (RFC 1812 section 5.2.7.1).</summary>
    CommunicationProhibited = 13,
    /// <summary>The requested precedence is not permitted for this source, destination or port (RFC 1812 section 5.2.7.1).</summary>
    HostPrecedenceViolation = 14,
    /// <summary>The packet's precedence is below the minimum the network requires (RFC 1812 section 5.2.7.1).</summary>
    PrecedenceCutoff = 15,
}
