namespace Skiff.Wire;

/// <summary>The Ethernet type field (IEEE 802.3, IANA EtherType registry). Values below 0x0600 are 802.3 lengths, not types.</summary>
public enum EtherType : ushort
{
    Unknown = 0,
    Ipv4 = 0x0800,
    Arp = 0x0806,
    Vlan = 0x8100,
    Ipv6 = 0x86DD,
    QinQ = 0x88A8,
}
