namespace Skiff.Wire;

/// <summary>Neighbor discovery option types (RFC 4861 section 4.6; IANA). Values not listed are preserved and, per section 4.6, ignored by receivers.</summary>
public enum NdpOptionType : byte
{
    /// <summary>The sender's link-layer address, in RS, RA and NS (RFC 4861 section 4.6.1).</summary>
    SourceLinkLayerAddress = 1,
    /// <summary>The target's link-layer address, in NA and redirect (RFC 4861 section 4.6.1).</summary>
    TargetLinkLayerAddress = 2,
    /// <summary>An on-link or autoconfiguration prefix, in RA (RFC 4861 section 4.6.2).</summary>
    PrefixInformation = 3,
    /// <summary>The start of the redirected packet, in redirect (RFC 4861 section 4.6.3).</summary>
    RedirectedHeader = 4,
    /// <summary>The link MTU hosts should use, in RA (RFC 4861 section 4.6.4).</summary>
    Mtu = 5,
    /// <summary>Recursive DNS server (RFC 8106).</summary>
    RecursiveDnsServer = 25,
}
