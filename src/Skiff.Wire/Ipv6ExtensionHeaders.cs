namespace Skiff.Wire;

// Generic extension header layout shared by hop-by-hop, routing and destination options, RFC 8200 section 4:
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Header  |  Hdr Ext Len  |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// .            type-specific data ((Hdr Ext Len + 1) x 8 octets)  .
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The fragment header (section 4.5) is always 8 octets. The authentication header (RFC 4302 section 2.2) counts
// its length in 4-octet units minus 2.

/// <summary>Walks the chain of IPv6 extension headers (RFC 8200 section 4) to the upper-layer header.</summary>
public static class Ipv6ExtensionHeaders
{
    /// <summary>
    /// Longest chain walked before giving up with <see cref="WireError.BadExtensionHeader"/>; a bound against
    /// hostile chains (RFC 8200 section 4.1 lists six header kinds, destination options possibly twice).
    /// </summary>
    public const int MaximumHeaders = 8;

    /// <summary>
    /// Walks extension headers from <paramref name="nextHeader"/> (normally <see cref="Ipv6Packet.NextHeader"/>) over
    /// <paramref name="payload"/> (normally <see cref="Ipv6Packet.Payload"/>). Hop-by-hop, routing, destination
    /// options and authentication headers are stepped over; the walk stops at the first other value (the upper
    /// layer) or right after a fragment header (what follows is fragment data: walk it again after reassembly).
    /// </summary>
    /// <returns>
    /// <see cref="WireError.Ok"/>; <see cref="WireError.Truncated"/> if a header runs past the payload;
    /// <see cref="WireError.BadExtensionHeader"/> for hop-by-hop anywhere but first (RFC 8200 section 4.1) or more than
    /// <see cref="MaximumHeaders"/> headers; <see cref="WireError.BadOptionLength"/> for a malformed option in a
    /// hop-by-hop or destination options header. Routing header contents are not interpreted: a routing header
    /// with segments left is the stack's to answer (section 4.4). Never throws, never allocates.
    /// </returns>
    public static WireError TryWalk(IpProtocol nextHeader, ReadOnlySpan<byte> payload, out Ipv6ExtensionChain chain)
    {
        chain = default;
        int offset = 0;
        int count = 0;
        IpProtocol next = nextHeader;
        while (true)
        {
            int length;
            switch (next)
            {
                case IpProtocol.HopByHop:
                case IpProtocol.Ipv6Options:
                case IpProtocol.Ipv6Route:
                    if (next == IpProtocol.HopByHop && count != 0)
                    {
                        return WireError.BadExtensionHeader;
                    }
                    if (offset + 2 > payload.Length)
                    {
                        return WireError.Truncated;
                    }
                    length = (payload[offset + 1] + 1) * 8;
                    if (offset + length > payload.Length)
                    {
                        return WireError.Truncated;
                    }
                    if (next != IpProtocol.Ipv6Route)
                    {
                        WireError options = Ipv6OptionReader.Validate(payload.Slice(offset + 2, length - 2));
                        if (options != WireError.Ok)
                        {
                            return options;
                        }
                    }
                    break;
                case IpProtocol.Ah:
                    if (offset + 2 > payload.Length)
                    {
                        return WireError.Truncated;
                    }
                    length = (payload[offset + 1] + 2) * 4;
                    if (offset + length > payload.Length)
                    {
                        return WireError.Truncated;
                    }
                    break;
                case IpProtocol.Ipv6Fragment:
                    if (++count > MaximumHeaders)
                    {
                        return WireError.BadExtensionHeader;
                    }
                    if (offset + Ipv6FragmentRepr.HeaderLength > payload.Length)
                    {
                        return WireError.Truncated;
                    }
                    var fragment = Ipv6FragmentRepr.Read(payload[offset..]);
                    chain = new Ipv6ExtensionChain((IpProtocol)payload[offset], offset + Ipv6FragmentRepr.HeaderLength, count, fragment);
                    return WireError.Ok;
                default:
                    // The upper layer, ESP (opaque), no-next-header, or a value this walker does not know: stop here.
                    chain = new Ipv6ExtensionChain(next, offset, count, null);
                    return WireError.Ok;
            }
            if (++count > MaximumHeaders)
            {
                return WireError.BadExtensionHeader;
            }
            next = (IpProtocol)payload[offset];
            offset += length;
        }
    }
}
