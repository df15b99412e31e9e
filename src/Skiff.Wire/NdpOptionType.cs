namespace Skiff.Wire;

/// <summary>Neighbor discovery option types (RFC 4861 section 4.6; IANA). Values not listed are preserved and, per section 4.6, ignored by receivers.</summary>
public enum NdpOptionType : byte
{
    SourceLinkLayerAddress = 1,
    TargetLinkLayerAddress = 2,
    PrefixInformation = 3,
    RedirectedHeader = 4,
    Mtu = 5,
    /// <summary>Recursive DNS server (RFC 8106).</summary>
    RecursiveDnsServer = 25,
}
