namespace Skiff.Wire;

/// <summary>Neighbor advertisement flags, the top bits of the word after the checksum (RFC 4861 section 4.4).</summary>
[Flags]
public enum NdpNeighborFlags : byte
{
    /// <summary>No flag: an unsolicited advertisement from a host that does not override cached entries.</summary>
    None = 0,
    /// <summary>O: override an existing cache entry.</summary>
    Override = 0x20,
    /// <summary>S: sent in response to a solicitation.</summary>
    Solicited = 0x40,
    /// <summary>R: the sender is a router.</summary>
    Router = 0x80,
}
