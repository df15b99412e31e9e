namespace Skiff.Stack.Ipv6;

/// <summary>Where an address of ours is in duplicate address detection (RFC 4862 section 5.4).</summary>
public enum Ipv6AddressState : byte
{
    /// <summary>DAD is under way: the address is not used, and packets to it are dropped.</summary>
    Tentative,
    /// <summary>DAD passed (or is disabled): the address is used.</summary>
    Preferred,
    /// <summary>Valid but past its preferred lifetime (SLAAC, RFC 4862 section 5.5.4): answered, not chosen as a source.</summary>
    Deprecated,
    /// <summary>Another node uses it: it is never used (RFC 4862 section 5.4.5).</summary>
    Duplicate,
}

/// <summary>How an address was configured.</summary>
public enum Ipv6AddressOrigin : byte
{
    /// <summary>fe80::/64 with the modified EUI-64 interface identifier of the MAC (RFC 4291 appendix A).</summary>
    LinkLocal,
    /// <summary>Given in <see cref="Ipv6Options.Addresses"/>.</summary>
    Static,
    /// <summary>Formed from a Router Advertisement's prefix (RFC 4862 section 5.5.3).</summary>
    Slaac,
}

/// <summary>One IPv6 address of the interface, as <see cref="Interface.Ipv6Addresses"/> reports it.</summary>
/// <param name="Prefix">The address with its prefix length (the on-link prefix it belongs to).</param>
/// <param name="State">Where the address is in duplicate address detection; only Preferred addresses are chosen as sources.</param>
/// <param name="Origin">How the address was configured: link-local, static or SLAAC.</param>
public readonly record struct Ipv6InterfaceAddress(Ipv6Prefix Prefix, Ipv6AddressState State, Ipv6AddressOrigin Origin)
{
    /// <summary>The address itself, without its prefix length.</summary>
    public Skiff.Wire.Ipv6Address Address => Prefix.Address;
}
