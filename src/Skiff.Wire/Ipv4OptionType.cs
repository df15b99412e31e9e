namespace Skiff.Wire;

/// <summary>IPv4 option type octets (RFC 791 section 3.1; IANA "IP Option Numbers"). Other values are preserved as numbers.</summary>
public enum Ipv4OptionType : byte
{
    /// <summary>End of option list (single octet).</summary>
    EndOfList = 0,
    /// <summary>No operation, used as padding (single octet).</summary>
    NoOperation = 1,
    /// <summary>Record route: each router appends its address (RFC 791 section 3.1).</summary>
    RecordRoute = 7,
    /// <summary>Internet timestamp: routers append a timestamp, optionally with their address (RFC 791 section 3.1).</summary>
    Timestamp = 68,
    /// <summary>Loose source and record route: the packet must visit the listed routers, by any path between them (RFC 791 section 3.1); copied into fragments.</summary>
    LooseSourceRoute = 131,
    /// <summary>Strict source and record route: the packet must visit exactly the listed routers, in order (RFC 791 section 3.1); copied into fragments.</summary>
    StrictSourceRoute = 137,
    /// <summary>Router alert (RFC 2113).</summary>
    RouterAlert = 148,
}
