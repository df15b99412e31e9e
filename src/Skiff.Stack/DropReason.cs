namespace Skiff.Stack;

/// <summary>Why the interface dropped a frame. Each has a counter in <see cref="InterfaceCounters"/>.</summary>
public enum DropReason : byte
{
    /// <summary>Shorter than an Ethernet header.</summary>
    EthernetMalformed,
    /// <summary>Destination MAC is neither ours nor broadcast.</summary>
    NotOurMac,
    /// <summary>A VLAN tag other than priority-only (VLAN 0).</summary>
    VlanUnsupported,
    /// <summary>An EtherType the stack does not speak (IPv6 too, unless the interface has IPv6 options).</summary>
    UnknownEtherType,
    /// <summary>An ARP packet that does not parse: shorter than its header, or not Ethernet/IPv4 ARP (hardware type 1 with 6-byte addresses, protocol 0x0800 with 4-byte addresses; RFC 826).</summary>
    ArpMalformed,
    /// <summary>ARP for an address that is not ours, after updating any existing cache entry.</summary>
    ArpNotForUs,
    /// <summary>Someone else claims one of our addresses (RFC 5227 conflict).</summary>
    ArpConflict,
    /// <summary>An IPv4 header that does not parse (RFC 791 section 3.1): truncated, a version other than 4, a header length under 20 bytes or past the total length, a total length the frame does not hold, a malformed option, or a fragment that would end past 65535 bytes.</summary>
    Ipv4Malformed,
    /// <summary>An IPv4 header checksum that does not verify (RFC 791 section 3.1), unless the device had already verified it. Checked after the destination, so a frame for another host counts as <see cref="Ipv4NotForUs"/>.</summary>
    Ipv4BadChecksum,
    /// <summary>Destination address is not one of ours (Skiff does not forward).</summary>
    Ipv4NotForUs,
    /// <summary>Source address is multicast, broadcast or ours (RFC 1122 3.2.1.3).</summary>
    Ipv4BadSource,
    /// <summary>Fragment held for reassembly (not an error: the datagram is incomplete).</summary>
    FragmentHeld,
    /// <summary>Fragment refused: overlap, bad length, or a reassembly bound.</summary>
    FragmentRefused,
    /// <summary>A reassembled datagram with no buffer large enough to hold it.</summary>
    ReassemblyNoBuffer,
    /// <summary>An IP protocol with no handler; a protocol-unreachable is sent.</summary>
    UnknownProtocol,
    /// <summary>An ICMP message shorter than its 8-byte header, or an error message too short to quote the offending header (RFC 792).</summary>
    IcmpMalformed,
    /// <summary>An ICMP checksum over the whole message that does not verify (RFC 792), unless the device had verified it.</summary>
    IcmpBadChecksum,
    /// <summary>An ICMP message the stack discards silently (RFC 1122 3.2.2): a type it does not act on (Redirect, Source Quench, Timestamp and its reply, undefined types) or one it consumes without an answer.</summary>
    IcmpIgnored,
    /// <summary>A UDP datagram shorter than its 8-byte header, or whose length field is under 8 or past the IP payload (RFC 768).</summary>
    UdpMalformed,
    /// <summary>A non-zero UDP checksum over the pseudo-header and datagram that does not verify (RFC 768; zero means none was sent), unless the device had verified it.</summary>
    UdpBadChecksum,
    /// <summary>No UDP socket on the port; a port-unreachable is sent (rate limited).</summary>
    UdpNoSocket,
    /// <summary>The UDP socket's receive queue was full.</summary>
    UdpQueueFull,
    /// <summary>A TCP segment shorter than its 20-byte header, with a data offset under 5 words or past the segment, with options that do not parse, or with two or more of SYN, FIN and RST (RFC 9293 section 3.1). Options are checked before the checksum.</summary>
    TcpMalformed,
    /// <summary>A TCP checksum over the pseudo-header and segment that does not verify (RFC 9293 section 3.1), unless the device had verified it.</summary>
    TcpBadChecksum,
    /// <summary>TCP to a broadcast or multicast address.</summary>
    TcpNotUnicast,
    /// <summary>A frame to transmit with no route to its destination.</summary>
    NoRoute,
    /// <summary>Packets dropped waiting for ARP (queue overflow, or resolution failed).</summary>
    NeighborUnresolved,
    /// <summary>No free frame in the pool to build a reply or a fragment.</summary>
    NoBuffer,
    /// <summary>The device refused the transmit burst and the pending queue was full.</summary>
    TxQueueFull,
    /// <summary>ICMP errors withheld by the rate limit.</summary>
    IcmpRateLimited,
    /// <summary>A hook (an RX or TX hook, a <c>--drop</c> filter) returned Drop.</summary>
    Filter,
    /// <summary>A hook returned Abort: the program failed on this frame (XDP_ABORTED); counted as an error.</summary>
    HookAborted,
    /// <summary>A hook redirected the frame to a port this loop does not serve.</summary>
    RedirectInvalid,
    /// <summary>An IPv6 header that does not parse, or whose extension headers run past the packet.</summary>
    Ipv6Malformed,
    /// <summary>An IPv6 destination that is not ours: another address, a tentative or duplicate one, or a group we did not join.</summary>
    Ipv6NotForUs,
    /// <summary>An IPv6 source that is multicast or loopback (RFC 4291), or a loopback destination.</summary>
    Ipv6BadSource,
    /// <summary>An extension header refused: Hop-by-Hop not first, an option whose type says discard, a routing header with segments left, too many headers.</summary>
    Ipv6ExtensionHeader,
    /// <summary>A Next Header value with no handler (ESP and AH included); a Parameter Problem is sent.</summary>
    Ipv6UnknownNextHeader,
    /// <summary>No Next Header (59): nothing follows.</summary>
    Ipv6NoNextHeader,
    /// <summary>TCP or UDP over IPv6, which phase 2 of issue 16 adds.</summary>
    Ipv6TransportUnsupported,
    /// <summary>A solicitation or advertisement revealing that another node uses (or tests) one of our addresses.</summary>
    Ipv6DuplicateAddress,
    /// <summary>An ICMPv6 message shorter than its 4-byte header or than the fixed part of its type, or a non-NDP message whose body does not parse (RFC 4443 section 2.1); a neighbour discovery message that does not parse counts as <see cref="NdpInvalid"/>.</summary>
    Icmpv6Malformed,
    /// <summary>An ICMPv6 checksum over the IPv6 pseudo-header and message that does not verify (RFC 4443 section 2.3), unless the device had verified it.</summary>
    Icmpv6BadChecksum,
    /// <summary>An ICMPv6 message the stack consumes silently: errors (until phase 2), echo replies, MLD, router solicitations.</summary>
    Icmpv6Ignored,
    /// <summary>ICMPv6 errors withheld by the rate limit.</summary>
    Icmpv6RateLimited,
    /// <summary>A neighbour discovery message whose hop limit is not 255 (RFC 4861: it was forwarded, or forged off-link).</summary>
    NdpBadHopLimit,
    /// <summary>A neighbour discovery message that fails RFC 4861's validation (options, addresses, flags, a non-link-local router).</summary>
    NdpInvalid,
    /// <summary>A Neighbor Solicitation for an address that is not ours, or an advertisement of our own.</summary>
    NdpNotForUs,
    /// <summary>A Redirect, ignored unless redirects are enabled (RFC 4861 section 8).</summary>
    NdpRedirectIgnored,
    /// <summary>A default router, on-link prefix or SLAAC address refused because its table was full.</summary>
    NdpTableFull,
    /// <summary>A packet to forward whose TTL ran out (RFC 1812 5.3.1); a Time Exceeded went back.</summary>
    TtlExpired,
    /// <summary>A packet to forward larger than the next hop's MTU with Don't Fragment set; fragmentation-needed went back (RFC 1191).</summary>
    FragmentationNeeded,
    /// <summary>
    /// A frame the engine's egress qdisc dropped (a queue limit, CoDel's control law, fq_codel's memory limit): the drop
    /// point of a live capture records it with this cause. Counted in the qdisc's statistics (<c>skiff stats --qdisc</c>),
    /// not in the interface's drops.
    /// </summary>
    QDiscDropped,
}
