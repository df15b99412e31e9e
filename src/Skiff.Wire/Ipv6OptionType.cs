namespace Skiff.Wire;

/// <summary>
/// Option types in hop-by-hop and destination options headers (RFC 8200 section 4.2; IANA "Destination Options and
/// Hop-by-Hop Options"). Other values are preserved as numbers; their top two bits say what to do with an unknown one.
/// </summary>
public enum Ipv6OptionType : byte
{
    /// <summary>A single octet of padding.</summary>
    Pad1 = 0,
    /// <summary>Padding of two or more octets.</summary>
    PadN = 1,
    /// <summary>Router alert (RFC 2711).</summary>
    RouterAlert = 5,
    /// <summary>Jumbo payload (RFC 2675).</summary>
    JumboPayload = 0xC2,
}
