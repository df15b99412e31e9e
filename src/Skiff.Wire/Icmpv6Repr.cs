using System.Buffers.Binary;

namespace Skiff.Wire;

/// <summary>
/// A parsed ICMPv6 message: echo, the RFC 4443 errors (destination unreachable, packet too big, time exceeded,
/// parameter problem) and neighbor discovery (RFC 4861: router solicitation and advertisement, neighbor solicitation
/// and advertisement). Echo data and error quotes stay in the packet; the repr records their length.
/// </summary>
/// <remarks>
/// One record for all kinds; fields that do not belong to <see cref="Type"/> are zero/null. For NDP the repr holds the
/// link-layer address options (Ethernet only) and, for RA, the MTU option; other options (prefix information, RDNSS)
/// stay in <see cref="Icmpv6Packet.Data"/> for <see cref="NdpOptionReader"/>. The hop-limit-255 check of RFC 4861
/// (sections 6.1, 7.1) belongs to the IP layer and is the stack's.
/// </remarks>
/// <param name="Type">The message type.</param>
/// <param name="Code">The code, raw.</param>
public readonly record struct Icmpv6Repr(Icmpv6Type Type, byte Code)
{
    /// <summary>Fewest data bytes an error message must carry: the invoking IPv6 fixed header.</summary>
    public const int MinimumErrorDataLength = Ipv6Packet.HeaderLength;

    private const int LinkLayerOptionLength = 8;
    private const int MtuOptionLength = 8;

    /// <summary>Echo identifier (types 128, 129): matches replies to the pinging process.</summary>
    public ushort Identifier { get; init; }

    /// <summary>Echo sequence number (types 128, 129): counts the requests of one ping run.</summary>
    public ushort SequenceNumber { get; init; }

    /// <summary>Packet too big: the MTU of the next-hop link (RFC 4443 section 3.2).</summary>
    public uint Mtu { get; init; }

    /// <summary>Parameter problem: offset of the error in the invoking packet (RFC 4443 section 3.4).</summary>
    public uint Pointer { get; init; }

    /// <summary>Echo data or error quote length; 0 for NDP, whose options are described by the fields below.</summary>
    public int DataLength { get; init; }

    /// <summary>Neighbor solicitation/advertisement target.</summary>
    public Ipv6Address TargetAddress { get; init; }

    /// <summary>Neighbor advertisement R/S/O flags.</summary>
    public NdpNeighborFlags NeighborFlags { get; init; }

    /// <summary>Router advertisement M/O flags (other bits preserved).</summary>
    public NdpRouterFlags RouterFlags { get; init; }

    /// <summary>Router advertisement: the hop limit hosts should put in their packets, 0 if the router does not say (RFC 4861 section 4.2).</summary>
    public byte CurrentHopLimit { get; init; }

    /// <summary>Router advertisement: how long the router may be used as a default router, in seconds; 0 means it is not a default router (RFC 4861 section 4.2).</summary>
    public ushort RouterLifetimeSeconds { get; init; }

    /// <summary>Router advertisement: how long a neighbour counts as reachable after a confirmation, in milliseconds; 0 if the router does not say (RFC 4861 section 4.2).</summary>
    public uint ReachableTimeMillis { get; init; }

    /// <summary>Router advertisement: the time between retransmitted neighbor solicitations, in milliseconds; 0 if the router does not say (RFC 4861 section 4.2).</summary>
    public uint RetransTimerMillis { get; init; }

    /// <summary>Source link-layer address option (RS, RA, NS), or null if absent.</summary>
    public MacAddress? SourceLinkLayerAddress { get; init; }

    /// <summary>Target link-layer address option (NA), or null if absent.</summary>
    public MacAddress? TargetLinkLayerAddress { get; init; }

    /// <summary>RA MTU option (RFC 4861 section 4.6.4), or null if absent.</summary>
    public uint? LinkMtu { get; init; }

    /// <summary>True for RS, RA, NS and NA.</summary>
    public bool IsNdp => Type is Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement or Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement;

    /// <summary>True for the error types (1-127), which must never be answered with an error (RFC 4443 section 2.4 (e)).</summary>
    public bool IsError => (byte)Type < 128;

    /// <summary>Bytes <see cref="Emit"/> covers: the type's fixed part, then the data length or the NDP options it writes.</summary>
    public int BufferLength => Icmpv6Packet.HeaderLengthOf(Type) + DataLength
        + (SourceLinkLayerAddress.HasValue ? LinkLayerOptionLength : 0)
        + (TargetLinkLayerAddress.HasValue ? LinkLayerOptionLength : 0)
        + (LinkMtu.HasValue ? MtuOptionLength : 0);

    /// <summary><see cref="Code"/> as a destination unreachable code; meaningful only when <see cref="Type"/> is <see cref="Icmpv6Type.DestinationUnreachable"/>.</summary>
    public Icmpv6DestinationUnreachableCode UnreachableCode => (Icmpv6DestinationUnreachableCode)Code;

    /// <summary><see cref="Code"/> as a time exceeded code; meaningful only when <see cref="Type"/> is <see cref="Icmpv6Type.TimeExceeded"/>.</summary>
    public Icmpv6TimeExceededCode TimeExceededCode => (Icmpv6TimeExceededCode)Code;

    /// <summary>A ping6: the peer answers with an <see cref="EchoReply"/> carrying the same identifier, sequence number and data (RFC 4443 section 4.1).</summary>
    /// <param name="identifier">Matches replies to the pinging process.</param>
    /// <param name="sequenceNumber">Counts the requests of one ping run, so lost and reordered replies show.</param>
    /// <param name="dataLength">Bytes of echo data after the 8-byte header.</param>
    public static Icmpv6Repr EchoRequest(ushort identifier, ushort sequenceNumber, int dataLength) =>
        new(Icmpv6Type.EchoRequest, 0) { Identifier = identifier, SequenceNumber = sequenceNumber, DataLength = dataLength };

    /// <summary>The answer to an echo request: <paramref name="identifier"/>, <paramref name="sequenceNumber"/> and the data are the request's (RFC 4443 section 4.2).</summary>
    /// <param name="identifier">The request's identifier.</param>
    /// <param name="sequenceNumber">The request's sequence number.</param>
    /// <param name="dataLength">Bytes of echoed data: the request's data length.</param>
    public static Icmpv6Repr EchoReply(ushort identifier, ushort sequenceNumber, int dataLength) =>
        new(Icmpv6Type.EchoReply, 0) { Identifier = identifier, SequenceNumber = sequenceNumber, DataLength = dataLength };

    /// <summary>A destination unreachable error quoting <paramref name="dataLength"/> bytes of the undeliverable packet (RFC 4443 section 3.1).</summary>
    /// <param name="code">Why it could not be delivered (no route, port unreachable, ...).</param>
    /// <param name="dataLength">Bytes of the invoking packet quoted: at least its 40-byte header, as much as fits in the minimum MTU of 1280.</param>
    public static Icmpv6Repr DestinationUnreachable(Icmpv6DestinationUnreachableCode code, int dataLength) =>
        new(Icmpv6Type.DestinationUnreachable, (byte)code) { DataLength = dataLength };

    /// <summary>A packet too big error: the packet did not fit the next link and IPv6 routers do not fragment (RFC 4443 section 3.2); drives path MTU discovery (RFC 8201).</summary>
    /// <param name="mtu">The MTU of the next-hop link, in bytes.</param>
    /// <param name="dataLength">Bytes of the invoking packet quoted: at least its 40-byte header, as much as fits in 1280.</param>
    public static Icmpv6Repr PacketTooBig(uint mtu, int dataLength) =>
        new(Icmpv6Type.PacketTooBig, 0) { Mtu = mtu, DataLength = dataLength };

    /// <summary>A time exceeded error quoting <paramref name="dataLength"/> bytes of the discarded packet (RFC 4443 section 3.3).</summary>
    /// <param name="code">Hop limit reached zero in transit, or reassembly timed out.</param>
    /// <param name="dataLength">Bytes of the invoking packet quoted: at least its 40-byte header, as much as fits in 1280.</param>
    public static Icmpv6Repr TimeExceeded(Icmpv6TimeExceededCode code, int dataLength) =>
        new(Icmpv6Type.TimeExceeded, (byte)code) { DataLength = dataLength };

    /// <summary>A neighbor solicitation: asks who has <paramref name="target"/> (sent to its solicited-node group), or checks that a cached neighbour is still there (unicast), or probes for a duplicate address (RFC 4861 section 4.3).</summary>
    /// <param name="target">The address being resolved; never multicast.</param>
    /// <param name="sourceLinkLayerAddress">The sender's MAC for the option of the same name; null when the source is the unspecified address (duplicate address detection), where the option is forbidden.</param>
    public static Icmpv6Repr NeighborSolicitation(Ipv6Address target, MacAddress? sourceLinkLayerAddress) =>
        new(Icmpv6Type.NeighborSolicitation, 0) { TargetAddress = target, SourceLinkLayerAddress = sourceLinkLayerAddress };

    /// <summary>A neighbor advertisement: <paramref name="target"/> is at <paramref name="targetLinkLayerAddress"/> (RFC 4861 section 4.4).</summary>
    /// <param name="target">The address advertised: the solicitation's target when answering one.</param>
    /// <param name="flags">R (the sender is a router), S (answering a solicitation; never to a multicast destination), O (override a cached entry).</param>
    /// <param name="targetLinkLayerAddress">The MAC address of <paramref name="target"/> for the option of the same name, or null to leave the option out.</param>
    public static Icmpv6Repr NeighborAdvertisement(Ipv6Address target, NdpNeighborFlags flags, MacAddress? targetLinkLayerAddress) =>
        new(Icmpv6Type.NeighborAdvertisement, 0) { TargetAddress = target, NeighborFlags = flags, TargetLinkLayerAddress = targetLinkLayerAddress };

    /// <summary>A router solicitation: asks routers on the link to advertise now instead of at their next interval (RFC 4861 section 4.1).</summary>
    /// <param name="sourceLinkLayerAddress">The sender's MAC for the option of the same name; null when the source is the unspecified address, where the option is forbidden.</param>
    public static Icmpv6Repr RouterSolicitation(MacAddress? sourceLinkLayerAddress) =>
        new(Icmpv6Type.RouterSolicitation, 0) { SourceLinkLayerAddress = sourceLinkLayerAddress };

    /// <summary>
    /// Parses a message carried from <paramref name="source"/> to <paramref name="destination"/> (the pseudo-header).
    /// Fails with <see cref="WireError.BadChecksum"/> if <paramref name="verifyChecksum"/> and the checksum is wrong;
    /// <see cref="WireError.Truncated"/> for an error quoting fewer than 40 bytes; for NDP, <see cref="WireError.BadOperation"/>
    /// for a non-zero code, <see cref="WireError.BadOptionLength"/> for an option of length 0 or running past the end,
    /// <see cref="WireError.BadOption"/> for a link-layer option that is not 6 bytes (Ethernet) or a source link-layer
    /// option from the unspecified address, <see cref="WireError.BadAddress"/> for a multicast target or an unspecified-source
    /// NS not sent to a solicited-node group, <see cref="WireError.BadFlags"/> for a solicited NA to a multicast destination
    /// (RFC 4861 sections 6.1, 7.1). Other listed types (redirect, MLD) are <see cref="WireError.Unsupported"/>, unlisted
    /// types <see cref="WireError.BadOperation"/> (RFC 4443 section 2.4: discard unknown informational messages). Never throws.
    /// </summary>
    public static WireError TryParse(Icmpv6Packet view, Ipv6Address source, Ipv6Address destination, bool verifyChecksum, out Icmpv6Repr repr)
    {
        repr = default;
        if (verifyChecksum && !view.VerifyChecksum(source, destination))
        {
            return WireError.BadChecksum;
        }
        Icmpv6Type type = view.Type;
        int dataLength = view.Buffer.Length - Icmpv6Packet.HeaderLengthOf(type);
        switch (type)
        {
            case Icmpv6Type.EchoRequest:
            case Icmpv6Type.EchoReply:
                repr = new Icmpv6Repr(type, view.Code) { Identifier = view.Identifier, SequenceNumber = view.SequenceNumber, DataLength = dataLength };
                return WireError.Ok;
            case Icmpv6Type.DestinationUnreachable:
            case Icmpv6Type.TimeExceeded:
            case Icmpv6Type.PacketTooBig:
            case Icmpv6Type.ParameterProblem:
                if (dataLength < MinimumErrorDataLength)
                {
                    return WireError.Truncated;
                }
                repr = new Icmpv6Repr(type, view.Code)
                {
                    Mtu = type == Icmpv6Type.PacketTooBig ? view.Word : 0,
                    Pointer = type == Icmpv6Type.ParameterProblem ? view.Word : 0,
                    DataLength = dataLength,
                };
                return WireError.Ok;
            case Icmpv6Type.RouterSolicitation:
            case Icmpv6Type.RouterAdvertisement:
            case Icmpv6Type.NeighborSolicitation:
            case Icmpv6Type.NeighborAdvertisement:
                return TryParseNdp(view, source, destination, out repr);
            case Icmpv6Type.Redirect:
            case Icmpv6Type.MulticastListenerQuery:
            case Icmpv6Type.MulticastListenerReport:
            case Icmpv6Type.MulticastListenerDone:
            case Icmpv6Type.MulticastListenerReportV2:
                return WireError.Unsupported;
            default:
                return WireError.BadOperation;
        }
    }

    private static WireError TryParseNdp(Icmpv6Packet view, Ipv6Address source, Ipv6Address destination, out Icmpv6Repr repr)
    {
        repr = default;
        if (view.Code != 0)
        {
            return WireError.BadOperation;
        }
        Icmpv6Type type = view.Type;
        MacAddress? sourceLinkLayer = null;
        MacAddress? targetLinkLayer = null;
        uint? linkMtu = null;
        var reader = new NdpOptionReader(view.Data);
        while (reader.MoveNext())
        {
            NdpOption option = reader.Current;
            switch (option.Type)
            {
                case NdpOptionType.SourceLinkLayerAddress when type != Icmpv6Type.NeighborAdvertisement:
                    if (option.Data.Length != MacAddress.Length)
                    {
                        return WireError.BadOption;
                    }
                    sourceLinkLayer ??= MacAddress.Read(option.Data);
                    break;
                case NdpOptionType.TargetLinkLayerAddress when type == Icmpv6Type.NeighborAdvertisement:
                    if (option.Data.Length != MacAddress.Length)
                    {
                        return WireError.BadOption;
                    }
                    targetLinkLayer ??= MacAddress.Read(option.Data);
                    break;
                case NdpOptionType.Mtu when type == Icmpv6Type.RouterAdvertisement:
                    linkMtu ??= BinaryPrimitives.ReadUInt32BigEndian(option.Data[2..]);
                    break;
                default:
                    // RFC 4861 section 4.6: options a message does not expect, and unknown options, are ignored.
                    break;
            }
        }
        if (reader.Error != WireError.Ok)
        {
            return reader.Error;
        }
        if (source.IsUnspecified && sourceLinkLayer.HasValue)
        {
            // RFC 4861 sections 4.1, 4.3, 7.1.1: no source link-layer option from the unspecified address.
            return WireError.BadOption;
        }
        var ndp = new Icmpv6Repr(type, 0) { SourceLinkLayerAddress = sourceLinkLayer, TargetLinkLayerAddress = targetLinkLayer, LinkMtu = linkMtu };
        switch (type)
        {
            case Icmpv6Type.RouterAdvertisement:
                repr = ndp with
                {
                    CurrentHopLimit = view.CurrentHopLimit,
                    RouterFlags = view.RouterFlags,
                    RouterLifetimeSeconds = view.RouterLifetimeSeconds,
                    ReachableTimeMillis = view.ReachableTimeMillis,
                    RetransTimerMillis = view.RetransTimerMillis,
                };
                return WireError.Ok;
            case Icmpv6Type.NeighborSolicitation:
                if (view.TargetAddress.IsMulticast)
                {
                    return WireError.BadAddress;
                }
                if (source.IsUnspecified && destination != view.TargetAddress.SolicitedNode)
                {
                    // RFC 4861 section 7.1.1: duplicate address detection goes to the target's solicited-node group.
                    return WireError.BadAddress;
                }
                repr = ndp with { TargetAddress = view.TargetAddress };
                return WireError.Ok;
            case Icmpv6Type.NeighborAdvertisement:
                if (view.TargetAddress.IsMulticast)
                {
                    return WireError.BadAddress;
                }
                if (destination.IsMulticast && (view.NeighborFlags & NdpNeighborFlags.Solicited) != 0)
                {
                    return WireError.BadFlags;
                }
                repr = ndp with { TargetAddress = view.TargetAddress, NeighborFlags = view.NeighborFlags };
                return WireError.Ok;
            default:
                repr = ndp;
                return WireError.Ok;
        }
    }

    /// <summary>
    /// Writes the type's fixed part and, for NDP, the link-layer address and MTU options this repr holds; then, unless
    /// <paramref name="fillChecksum"/> is false, the checksum over the first <see cref="BufferLength"/> bytes with the
    /// pseudo-header of <paramref name="source"/> and <paramref name="destination"/>. Echo data and error quotes are not
    /// written: copy them into <see cref="Icmpv6Packet.Data"/> first. The view must be at least <see cref="BufferLength"/> long.
    /// </summary>
    public void Emit(Icmpv6Packet view, Ipv6Address source, Ipv6Address destination, bool fillChecksum = true)
    {
        view.Type = Type;
        view.Code = Code;
        view.MessageChecksum = 0;
        switch (Type)
        {
            case Icmpv6Type.EchoRequest:
            case Icmpv6Type.EchoReply:
                view.Identifier = Identifier;
                view.SequenceNumber = SequenceNumber;
                break;
            case Icmpv6Type.PacketTooBig:
                view.Word = Mtu;
                break;
            case Icmpv6Type.ParameterProblem:
                view.Word = Pointer;
                break;
            case Icmpv6Type.RouterAdvertisement:
                view.CurrentHopLimit = CurrentHopLimit;
                view.RouterFlags = RouterFlags;
                view.RouterLifetimeSeconds = RouterLifetimeSeconds;
                view.ReachableTimeMillis = ReachableTimeMillis;
                view.RetransTimerMillis = RetransTimerMillis;
                break;
            case Icmpv6Type.NeighborSolicitation:
                view.Word = 0;
                view.TargetAddress = TargetAddress;
                break;
            case Icmpv6Type.NeighborAdvertisement:
                view.Word = 0;
                view.NeighborFlags = NeighborFlags;
                view.TargetAddress = TargetAddress;
                break;
            default:
                if (Icmpv6Packet.HeaderLengthOf(Type) >= 8)
                {
                    view.Word = 0;
                }
                break;
        }
        Span<byte> options = view.Buffer[(Icmpv6Packet.HeaderLengthOf(Type) + DataLength)..];
        if (SourceLinkLayerAddress is MacAddress sll)
        {
            options = WriteLinkLayerOption(options, NdpOptionType.SourceLinkLayerAddress, sll);
        }
        if (TargetLinkLayerAddress is MacAddress tll)
        {
            options = WriteLinkLayerOption(options, NdpOptionType.TargetLinkLayerAddress, tll);
        }
        if (LinkMtu is uint mtu)
        {
            options[0] = (byte)NdpOptionType.Mtu;
            options[1] = 1;
            options[2] = 0;
            options[3] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(options[4..], mtu);
        }
        if (fillChecksum)
        {
            new Icmpv6Packet(view.Buffer[..BufferLength]).FillChecksum(source, destination);
        }
    }

    private static Span<byte> WriteLinkLayerOption(Span<byte> options, NdpOptionType type, MacAddress address)
    {
        options[0] = (byte)type;
        options[1] = 1;
        address.Write(options[2..]);
        return options[LinkLayerOptionLength..];
    }

    /// <summary>As tcpdump prints it: "ICMP6, neighbor solicitation, who has fd23::2, length 32".</summary>
    public override string ToString() => Type switch
    {
        Icmpv6Type.EchoRequest => $"ICMP6, echo request, id {Identifier}, seq {SequenceNumber}, length {BufferLength}",
        Icmpv6Type.EchoReply => $"ICMP6, echo reply, id {Identifier}, seq {SequenceNumber}, length {BufferLength}",
        Icmpv6Type.DestinationUnreachable => $"ICMP6, destination unreachable, {UnreachableName(UnreachableCode)}, length {BufferLength}",
        Icmpv6Type.PacketTooBig => $"ICMP6, packet too big, mtu {Mtu}, length {BufferLength}",
        Icmpv6Type.TimeExceeded => TimeExceededCode == Icmpv6TimeExceededCode.FragmentReassemblyTimeExceeded
            ? $"ICMP6, time exceeded reassembly, length {BufferLength}"
            : $"ICMP6, time exceeded in-transit, length {BufferLength}",
        Icmpv6Type.ParameterProblem => $"ICMP6, parameter problem, code {Code}, pointer {Pointer}, length {BufferLength}",
        Icmpv6Type.RouterSolicitation => $"ICMP6, router solicitation{LinkLayerText()}, length {BufferLength}",
        Icmpv6Type.RouterAdvertisement => $"ICMP6, router advertisement, hop limit {CurrentHopLimit}, Flags [{RouterFlagsText()}], router lifetime {RouterLifetimeSeconds}s, reachable time {ReachableTimeMillis}ms, retrans timer {RetransTimerMillis}ms{LinkLayerText()}{(LinkMtu is uint m ? $", mtu {m}" : "")}, length {BufferLength}",
        Icmpv6Type.NeighborSolicitation => $"ICMP6, neighbor solicitation, who has {TargetAddress}{LinkLayerText()}, length {BufferLength}",
        Icmpv6Type.NeighborAdvertisement => $"ICMP6, neighbor advertisement, tgt is {TargetAddress}, Flags [{NeighborFlagsText()}]{LinkLayerText()}, length {BufferLength}",
        _ => $"ICMP6, type {(byte)Type}, code {Code}, length {BufferLength}",
    };

    private string LinkLayerText() =>
        (SourceLinkLayerAddress is MacAddress s ? $", source link-address {s}" : "") + (TargetLinkLayerAddress is MacAddress t ? $", target link-address {t}" : "");

    private string NeighborFlagsText()
    {
        string text = ((NeighborFlags & NdpNeighborFlags.Router) != 0 ? "router, " : "")
            + ((NeighborFlags & NdpNeighborFlags.Solicited) != 0 ? "solicited, " : "")
            + ((NeighborFlags & NdpNeighborFlags.Override) != 0 ? "override, " : "");
        return text.Length == 0 ? "none" : text[..^2];
    }

    private string RouterFlagsText()
    {
        string text = ((RouterFlags & NdpRouterFlags.ManagedAddressConfiguration) != 0 ? "managed, " : "")
            + ((RouterFlags & NdpRouterFlags.OtherConfiguration) != 0 ? "other stateful, " : "");
        return text.Length == 0 ? "none" : text[..^2];
    }

    private static string UnreachableName(Icmpv6DestinationUnreachableCode code) => code switch
    {
        Icmpv6DestinationUnreachableCode.NoRoute => "no route",
        Icmpv6DestinationUnreachableCode.AdministrativelyProhibited => "administratively prohibited",
        Icmpv6DestinationUnreachableCode.BeyondScopeOfSource => "beyond scope",
        Icmpv6DestinationUnreachableCode.AddressUnreachable => "unreachable address",
        Icmpv6DestinationUnreachableCode.PortUnreachable => "unreachable port",
        Icmpv6DestinationUnreachableCode.SourcePolicyFailed => "source address failed policy",
        Icmpv6DestinationUnreachableCode.RejectRoute => "reject route",
        _ => $"code {(byte)code}",
    };
}
