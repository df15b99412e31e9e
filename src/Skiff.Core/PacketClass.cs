namespace Skiff;

/// <summary>
/// What the engine's classification found in a frame's headers (<see cref="PacketBuffer.Classification"/>), with
/// <see cref="PacketBuffer.L3Offset"/> and <see cref="PacketBuffer.L4Offset"/>: set once on receive so that hooks,
/// filters and the QDisc need not parse again. Flags: one L3 kind, at most one L4 kind, and what else was seen.
/// </summary>
[Flags]
public enum PacketClass : ushort
{
    /// <summary>Not classified yet.</summary>
    None = 0,

    /// <summary>Classification ran (the other flags say what it found; only this one: an unknown EtherType).</summary>
    Classified = 1 << 0,

    /// <summary>The frame carries an 802.1Q tag (L3 starts 4 bytes later).</summary>
    Vlan = 1 << 1,

    /// <summary>ARP.</summary>
    Arp = 1 << 2,

    /// <summary>IPv4 with a well-formed header.</summary>
    Ipv4 = 1 << 3,

    /// <summary>IPv6 with a well-formed fixed header.</summary>
    Ipv6 = 1 << 4,

    /// <summary>An IP fragment; a later fragment has no L4 header (<see cref="PacketBuffer.L4Offset"/> 0).</summary>
    Fragment = 1 << 5,

    /// <summary>TCP.</summary>
    Tcp = 1 << 6,

    /// <summary>UDP.</summary>
    Udp = 1 << 7,

    /// <summary>ICMP for IPv4.</summary>
    Icmp = 1 << 8,

    /// <summary>ICMPv6.</summary>
    Icmpv6 = 1 << 9,

    /// <summary>The headers are truncated or impossible; the stack drops such a frame and counts why.</summary>
    Malformed = 1 << 10,
}
