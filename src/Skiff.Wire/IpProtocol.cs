namespace Skiff.Wire;

/// <summary>IP protocol numbers / IPv6 next-header values (IANA).</summary>
public enum IpProtocol : byte
{
    /// <summary>IPv6 hop-by-hop options header, examined by every node on the path (RFC 8200 section 4.3); must come first.</summary>
    HopByHop = 0,
    /// <summary>ICMP for IPv4 (RFC 792).</summary>
    Icmp = 1,
    /// <summary>IGMP, IPv4 multicast group membership (RFC 3376).</summary>
    Igmp = 2,
    /// <summary>TCP (RFC 9293).</summary>
    Tcp = 6,
    /// <summary>UDP (RFC 768).</summary>
    Udp = 17,
    /// <summary>IPv6 routing header (RFC 8200 section 4.4).</summary>
    Ipv6Route = 43,
    /// <summary>IPv6 fragment header (RFC 8200 section 4.5).</summary>
    Ipv6Fragment = 44,
    /// <summary>IPsec Encapsulating Security Payload (RFC 4303); what follows is encrypted.</summary>
    Esp = 50,
    /// <summary>IPsec Authentication Header (RFC 4302).</summary>
    Ah = 51,
    /// <summary>ICMPv6, including neighbor discovery (RFC 4443, RFC 4861).</summary>
    Icmpv6 = 58,
    /// <summary>No next header: nothing follows this header (RFC 8200 section 4.7).</summary>
    Ipv6NoNext = 59,
    /// <summary>IPv6 destination options header, examined by the destination (RFC 8200 section 4.6).</summary>
    Ipv6Options = 60,
    /// <summary>255, reserved by IANA and never a real protocol; the value Skiff uses for "none known".</summary>
    Unknown = 255,
}
