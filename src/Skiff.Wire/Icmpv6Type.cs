namespace Skiff.Wire;

/// <summary>ICMPv6 message types (RFC 4443 section 2.1, RFC 4861 section 4, RFC 3810; IANA "ICMPv6 Parameters"). Values not listed are preserved as numbers.</summary>
public enum Icmpv6Type : byte
{
    DestinationUnreachable = 1,
    PacketTooBig = 2,
    TimeExceeded = 3,
    ParameterProblem = 4,
    EchoRequest = 128,
    EchoReply = 129,
    MulticastListenerQuery = 130,
    MulticastListenerReport = 131,
    MulticastListenerDone = 132,
    RouterSolicitation = 133,
    RouterAdvertisement = 134,
    NeighborSolicitation = 135,
    NeighborAdvertisement = 136,
    Redirect = 137,
    MulticastListenerReportV2 = 143,
}
