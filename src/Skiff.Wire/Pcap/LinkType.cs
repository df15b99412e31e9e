namespace Skiff.Wire.Pcap;

/// <summary>
/// The link-layer header type of captured frames (tcpdump.org LINKTYPE_ registry, also used by pcapng's
/// Interface Description Block). Values not listed are kept as their number.
/// </summary>
public enum LinkType : ushort
{
    /// <summary>BSD loopback (4-byte host-order address family).</summary>
    Null = 0,
    /// <summary>IEEE 802.3 Ethernet; what Skiff reads and writes.</summary>
    Ethernet = 1,
    /// <summary>Raw IPv4 or IPv6, no link header.</summary>
    Raw = 101,
    /// <summary>IEEE 802.11 wireless.</summary>
    Ieee80211 = 105,
    /// <summary>Linux "cooked" capture, version 1 (tcpdump -i any).</summary>
    LinuxSll = 113,
    /// <summary>Linux "cooked" capture, version 2.</summary>
    LinuxSll2 = 276,
    /// <summary>Not stated, or unreadable (a malformed interface description). Not an assigned LINKTYPE value.</summary>
    Unknown = 0xFFFF,
}
