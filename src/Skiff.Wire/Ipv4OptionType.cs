namespace Skiff.Wire;

/// <summary>IPv4 option type octets (RFC 791 section 3.1; IANA "IP Option Numbers"). Other values are preserved as numbers.</summary>
public enum Ipv4OptionType : byte
{
    /// <summary>End of option list (single octet).</summary>
    EndOfList = 0,
    /// <summary>No operation, used as padding (single octet).</summary>
    NoOperation = 1,
    RecordRoute = 7,
    Timestamp = 68,
    LooseSourceRoute = 131,
    StrictSourceRoute = 137,
    /// <summary>Router alert (RFC 2113).</summary>
    RouterAlert = 148,
}
