namespace Skiff.Wire;

/// <summary>Router advertisement flags (RFC 4861 section 4.2). Other bits (home agent, RFC 4191 router preference) are preserved as numbers.</summary>
[Flags]
public enum NdpRouterFlags : byte
{
    /// <summary>No flag: addresses and other configuration come from the advertisement alone (SLAAC, RFC 4862).</summary>
    None = 0,
    /// <summary>O: other configuration is available by DHCPv6.</summary>
    OtherConfiguration = 0x40,
    /// <summary>M: addresses are available by DHCPv6.</summary>
    ManagedAddressConfiguration = 0x80,
}
