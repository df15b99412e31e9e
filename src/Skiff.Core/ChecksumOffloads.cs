namespace Skiff;

/// <summary>Checksum work a device does in hardware (or that a virtual device makes unnecessary).</summary>
[Flags]
public enum ChecksumOffloads : byte
{
    /// <summary>The device checks and fills no checksum: the stack does all of them.</summary>
    None = 0,
    /// <summary>The IPv4 header checksum (RFC 791 section 3.1).</summary>
    Ipv4 = 1,
    /// <summary>The TCP checksum over the pseudo-header and segment, IPv4 and IPv6 (RFC 9293 section 3.1).</summary>
    Tcp = 2,
    /// <summary>The UDP checksum over the pseudo-header and datagram, IPv4 and IPv6 (RFC 768).</summary>
    Udp = 4,
    /// <summary>The ICMPv4 and ICMPv6 message checksums (RFC 792, RFC 4443 section 2.3); no NIC does them, virtual devices may make them unnecessary.</summary>
    Icmp = 8,
    /// <summary>Every checksum above: what an in-memory or veth-like link that cannot corrupt frames may declare.</summary>
    All = Ipv4 | Tcp | Udp | Icmp,
}
