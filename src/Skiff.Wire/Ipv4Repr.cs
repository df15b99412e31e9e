namespace Skiff.Wire;

/// <summary>
/// A parsed IPv4 header (RFC 791 section 3.1): what the stack decides on. Options are validated and counted
/// (<see cref="OptionsLength"/>) but stay in the packet; read them with <see cref="Ipv4OptionReader"/>.
/// </summary>
/// <param name="Source">Source address.</param>
/// <param name="Destination">Destination address.</param>
/// <param name="Protocol">The payload's protocol.</param>
/// <param name="PayloadLength">Bytes after the header (total length minus header length).</param>
/// <param name="HopLimit">Time to live.</param>
public readonly record struct Ipv4Repr(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, int PayloadLength, byte HopLimit)
{
    /// <summary>Largest total length the 16-bit field can carry.</summary>
    public const int MaximumTotalLength = ushort.MaxValue;

    /// <summary>The identification field (RFC 791 section 3.1; RFC 6864): with source, destination and protocol it groups a datagram's fragments. Only fragments need a unique one; 0 is fine when <see cref="DontFragment"/> is set.</summary>
    public ushort Identification { get; init; }

    /// <summary>DF: routers must drop the datagram rather than fragment it, and send fragmentation needed (RFC 791 section 3.1; RFC 1191 path MTU discovery).</summary>
    public bool DontFragment { get; init; }

    /// <summary>MF: more fragments of this datagram follow this one (RFC 791 section 3.1).</summary>
    public bool MoreFragments { get; init; }

    /// <summary>Offset of this fragment's payload in the original datagram, in BYTES (a multiple of 8, at most 65528).</summary>
    public int FragmentOffset { get; init; }

    /// <summary>Differentiated services code point, 0-63 (RFC 2474).</summary>
    public byte Dscp { get; init; }

    /// <summary>ECN codepoint, 0-3 (RFC 3168).</summary>
    public byte Ecn { get; init; }

    /// <summary>Bytes of options (header length minus 20), a multiple of 4 up to 40.</summary>
    public int OptionsLength { get; init; }

    /// <summary>Bytes of header <see cref="Emit"/> accounts for: 20 plus <see cref="OptionsLength"/>.</summary>
    public int HeaderLength => Ipv4Packet.MinimumHeaderLength + OptionsLength;

    /// <summary>True if this is one fragment of a larger datagram (MF set or a non-zero offset).</summary>
    public bool IsFragment => MoreFragments || FragmentOffset != 0;

    /// <summary>
    /// Parses a header from a view made by <see cref="Ipv4Packet.TryCreate"/>. Fails with <see cref="WireError.BadVersion"/>
    /// unless version 4; <see cref="WireError.BadChecksum"/> if <paramref name="verifyChecksum"/> and the header checksum
    /// is wrong (pass false when the device verified it); <see cref="WireError.BadOptionLength"/> for a malformed option;
    /// <see cref="WireError.BadFragment"/> if the fragment would end past 65535 bytes (RFC 791 section 3.2). Never throws.
    /// </summary>
    public static WireError TryParse(Ipv4Packet view, bool verifyChecksum, out Ipv4Repr repr)
    {
        repr = default;
        if (view.Version != 4)
        {
            return WireError.BadVersion;
        }
        if (verifyChecksum && !view.VerifyChecksum())
        {
            return WireError.BadChecksum;
        }
        WireError options = Ipv4OptionReader.Validate(view.Options);
        if (options != WireError.Ok)
        {
            return options;
        }
        int headerLength = view.HeaderLength;
        int payloadLength = view.TotalLength - headerLength;
        if (view.FragmentOffset + payloadLength > MaximumTotalLength)
        {
            return WireError.BadFragment;
        }
        repr = new Ipv4Repr(view.Source, view.Destination, view.Protocol, payloadLength, view.TimeToLive)
        {
            Identification = view.Identification,
            DontFragment = view.DontFragment,
            MoreFragments = view.MoreFragments,
            FragmentOffset = view.FragmentOffset,
            Dscp = view.Dscp,
            Ecn = view.Ecn,
            OptionsLength = headerLength - Ipv4Packet.MinimumHeaderLength,
        };
        return WireError.Ok;
    }

    /// <summary>
    /// Writes the 20 fixed header bytes, with IHL and total length covering <see cref="OptionsLength"/> and
    /// <see cref="PayloadLength"/>, then the header checksum; with <paramref name="fillChecksum"/> false the checksum
    /// field is left 0 for a device that offloads it. Option bytes (20 to <see cref="HeaderLength"/>) are not written:
    /// put them in place before calling, since the checksum covers them. The view must be at least
    /// <see cref="HeaderLength"/> long.
    /// </summary>
    public void Emit(Ipv4Packet view, bool fillChecksum = true)
    {
        view.Version = 4;
        view.HeaderLength = HeaderLength;
        view.Dscp = Dscp;
        view.Ecn = Ecn;
        view.TotalLength = (ushort)(HeaderLength + PayloadLength);
        view.Identification = Identification;
        // Clears the reserved bit too: the flags word is rebuilt from the repr.
        view.Buffer[6] = 0;
        view.Buffer[7] = 0;
        view.DontFragment = DontFragment;
        view.MoreFragments = MoreFragments;
        view.FragmentOffset = FragmentOffset;
        view.TimeToLive = HopLimit;
        view.Protocol = Protocol;
        view.Source = Source;
        view.Destination = Destination;
        if (fillChecksum)
        {
            view.FillChecksum();
        }
        else
        {
            view.HeaderChecksum = 0;
        }
    }

    /// <summary>As tcpdump -v prints it: "IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto ICMP (1), length 84) 10.0.0.1 > 10.0.0.2".</summary>
    public override string ToString()
    {
        string flags = (DontFragment, MoreFragments) switch
        {
            (true, true) => "+, DF",
            (true, false) => "DF",
            (false, true) => "+",
            _ => "none",
        };
        int tos = (Dscp << 2) | Ecn;
        string options = OptionsLength != 0 ? $", options ({OptionsLength} bytes)" : "";
        return $"IP (tos 0x{tos:x}, ttl {HopLimit}, id {Identification}, offset {FragmentOffset}, flags [{flags}], proto {ProtocolName(Protocol)} ({(byte)Protocol}), length {HeaderLength + PayloadLength}{options}) {Source} > {Destination}";
    }

    internal static string ProtocolName(IpProtocol protocol) => protocol switch
    {
        IpProtocol.HopByHop => "HBH",
        IpProtocol.Icmp => "ICMP",
        IpProtocol.Igmp => "IGMP",
        IpProtocol.Tcp => "TCP",
        IpProtocol.Udp => "UDP",
        IpProtocol.Ipv6Route => "Routing",
        IpProtocol.Ipv6Fragment => "Fragment",
        IpProtocol.Esp => "ESP",
        IpProtocol.Ah => "AH",
        IpProtocol.Icmpv6 => "ICMP6",
        IpProtocol.Ipv6NoNext => "NoNext",
        IpProtocol.Ipv6Options => "DstOpts",
        _ => "unknown",
    };
}
