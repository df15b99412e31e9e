namespace Skiff.Wire;

/// <summary>
/// A parsed IPv6 fixed header (RFC 8200 section 3). Extension headers stay in the payload; walk them with
/// <see cref="Ipv6ExtensionHeaders.TryWalk"/>.
/// </summary>
/// <param name="Source">Source address.</param>
/// <param name="Destination">Destination address.</param>
/// <param name="NextHeader">The next-header field of the fixed header (an extension header type or the upper layer).</param>
/// <param name="PayloadLength">Bytes after the fixed header.</param>
/// <param name="HopLimit">Hop limit.</param>
/// <param name="TrafficClass">Traffic class octet (DSCP and ECN).</param>
/// <param name="FlowLabel">20-bit flow label (RFC 6437).</param>
public readonly record struct Ipv6Repr(
    Ipv6Address Source,
    Ipv6Address Destination,
    IpProtocol NextHeader,
    int PayloadLength,
    byte HopLimit,
    byte TrafficClass = 0,
    uint FlowLabel = 0)
{
    /// <summary>Bytes <see cref="Emit"/> writes (40).</summary>
    public int HeaderLength => Ipv6Packet.HeaderLength;

    /// <summary>Parses the fixed header of a view made by <see cref="Ipv6Packet.TryCreate"/>: <see cref="WireError.BadVersion"/> unless version 6. Never throws.</summary>
    public static WireError TryParse(Ipv6Packet view, out Ipv6Repr repr)
    {
        repr = default;
        if (view.Version != 6)
        {
            return WireError.BadVersion;
        }
        repr = new Ipv6Repr(view.Source, view.Destination, view.NextHeader, view.PayloadLength, view.HopLimit, view.TrafficClass, view.FlowLabel);
        return WireError.Ok;
    }

    /// <summary>Writes the 40-byte fixed header. The view must be at least 40 bytes; PayloadLength must fit 16 bits and FlowLabel 20.</summary>
    public void Emit(Ipv6Packet view)
    {
        view.Buffer[0] = 0x60;
        view.TrafficClass = TrafficClass;
        view.FlowLabel = FlowLabel;
        view.PayloadLength = (ushort)PayloadLength;
        view.NextHeader = NextHeader;
        view.HopLimit = HopLimit;
        view.Source = Source;
        view.Destination = Destination;
    }

    /// <summary>As tcpdump -v prints it: "IP6 (flowlabel 0xe9af8, hlim 64, next-header ICMP6 (58) payload length: 64) fd23::1 > fd23::2".</summary>
    public override string ToString()
    {
        string tc = TrafficClass != 0 ? $"class 0x{TrafficClass:x}, " : "";
        string flow = FlowLabel != 0 ? $"flowlabel 0x{FlowLabel:x5}, " : "";
        return $"IP6 ({tc}{flow}hlim {HopLimit}, next-header {Ipv4Repr.ProtocolName(NextHeader)} ({(byte)NextHeader}) payload length: {PayloadLength}) {Source} > {Destination}";
    }
}
