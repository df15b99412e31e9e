namespace Skiff.Wire;

/// <summary>The Ethernet type field (IEEE 802.3, IANA EtherType registry). Values below 0x0600 are 802.3 lengths, not types.</summary>
public enum EtherType : ushort
{
    /// <summary>Zero: no type (an 802.3 length, not an EtherType); the enum's default, never sent.</summary>
    Unknown = 0,
    /// <summary>0x0800: an IPv4 packet follows (RFC 894).</summary>
    Ipv4 = 0x0800,
    /// <summary>0x0806: an ARP packet follows (RFC 826).</summary>
    Arp = 0x0806,
    /// <summary>0x8100: an IEEE 802.1Q VLAN tag (4 bytes: priority, DEI, 12-bit VLAN ID) follows, then the real type.</summary>
    Vlan = 0x8100,
    /// <summary>0x86DD: an IPv6 packet follows (RFC 2464).</summary>
    Ipv6 = 0x86DD,
    /// <summary>0x88A8: an IEEE 802.1ad service (outer, "QinQ") VLAN tag follows, normally then an 802.1Q tag.</summary>
    QinQ = 0x88A8,
}
