namespace Skiff.Wire;

/// <summary>ICMPv6 message types (RFC 4443 section 2.1, RFC 4861 section 4, RFC 3810; IANA "ICMPv6 Parameters"). Values not listed are preserved as numbers.</summary>
public enum Icmpv6Type : byte
{
    /// <summary>A packet could not be delivered; the code (<see cref="Icmpv6DestinationUnreachableCode"/>) says why (RFC 4443 section 3.1).</summary>
    DestinationUnreachable = 1,
    /// <summary>A packet was larger than the next link's MTU, which the message carries (RFC 4443 section 3.2; path MTU discovery, RFC 8201).</summary>
    PacketTooBig = 2,
    /// <summary>The hop limit ran out or reassembly timed out; the code (<see cref="Icmpv6TimeExceededCode"/>) says which (RFC 4443 section 3.3).</summary>
    TimeExceeded = 3,
    /// <summary>A header field is bad or an option or next header unknown; the pointer gives its offset (RFC 4443 section 3.4).</summary>
    ParameterProblem = 4,
    /// <summary>A request to echo its identifier, sequence number and data back (ping6; RFC 4443 section 4.1).</summary>
    EchoRequest = 128,
    /// <summary>The answer to an <see cref="EchoRequest"/> (RFC 4443 section 4.2).</summary>
    EchoReply = 129,
    /// <summary>MLD query: a router asks which multicast groups have listeners (RFC 2710, RFC 3810); parsed as unsupported.</summary>
    MulticastListenerQuery = 130,
    /// <summary>MLDv1 report: a node listens to a group (RFC 2710); parsed as unsupported.</summary>
    MulticastListenerReport = 131,
    /// <summary>MLDv1 done: a node stops listening to a group (RFC 2710); parsed as unsupported.</summary>
    MulticastListenerDone = 132,
    /// <summary>A host asks routers to advertise now (RFC 4861 section 4.1).</summary>
    RouterSolicitation = 133,
    /// <summary>A router announces itself, its prefixes and link parameters (RFC 4861 section 4.2).</summary>
    RouterAdvertisement = 134,
    /// <summary>Asks for a neighbour's link-layer address, checks it is still reachable, or detects a duplicate address (RFC 4861 section 4.3).</summary>
    NeighborSolicitation = 135,
    /// <summary>Answers a solicitation or announces a changed link-layer address (RFC 4861 section 4.4).</summary>
    NeighborAdvertisement = 136,
    /// <summary>A router tells a host a better first hop for a destination (RFC 4861 section 4.5); parsed as unsupported.</summary>
    Redirect = 137,
    /// <summary>MLDv2 report: a node's multicast listening state, with sources (RFC 3810); parsed as unsupported.</summary>
    MulticastListenerReportV2 = 143,
}
