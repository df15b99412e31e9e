namespace Skiff.Wire;

/// <summary>IP protocol numbers / IPv6 next-header values (IANA).</summary>
public enum IpProtocol : byte
{
    HopByHop = 0,
    Icmp = 1,
    Igmp = 2,
    Tcp = 6,
    Udp = 17,
    Ipv6Route = 43,
    Ipv6Fragment = 44,
    Esp = 50,
    Ah = 51,
    Icmpv6 = 58,
    Ipv6NoNext = 59,
    Ipv6Options = 60,
    Unknown = 255,
}
