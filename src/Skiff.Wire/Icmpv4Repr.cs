namespace Skiff.Wire;

/// <summary>
/// A parsed ICMPv4 message (RFC 792): echo request and reply, destination unreachable, time exceeded and parameter
/// problem. Data (echo data, or an error's quoted packet) stays in the packet; the repr records its length.
/// </summary>
/// <remarks>
/// One record for all kinds; fields that do not belong to <see cref="Type"/> are zero. Build with the factory methods
/// (<see cref="EchoRequest"/>, <see cref="DestinationUnreachable"/>, ...). Errors quote the invoking IP header and at
/// least its first 8 payload bytes (RFC 792; RFC 1812 section 4.3.2.3 allows more, up to 576 bytes in all).
/// </remarks>
/// <param name="Type">The message type.</param>
/// <param name="Code">The code, raw; see <see cref="UnreachableCode"/> and <see cref="TimeExceededCode"/>.</param>
public readonly record struct Icmpv4Repr(Icmpv4Type Type, byte Code)
{
    /// <summary>Fewest data bytes an error message must carry: an invoking IPv4 header without options.</summary>
    public const int MinimumErrorDataLength = Ipv4Packet.MinimumHeaderLength;

    /// <summary>Echo identifier.</summary>
    public ushort Identifier { get; init; }

    /// <summary>Echo sequence number.</summary>
    public ushort SequenceNumber { get; init; }

    /// <summary>Next-hop MTU for destination unreachable code 4 (RFC 1191 section 4); 0 otherwise (unknown, as from pre-1191 routers).</summary>
    public ushort NextHopMtu { get; init; }

    /// <summary>Parameter problem pointer: the octet of the invoking header at fault.</summary>
    public byte Pointer { get; init; }

    /// <summary>Bytes after the 8-byte header.</summary>
    public int DataLength { get; init; }

    /// <summary>Bytes <see cref="Emit"/> covers: 8 plus <see cref="DataLength"/>.</summary>
    public int BufferLength => Icmpv4Packet.HeaderLength + DataLength;

    /// <summary><see cref="Code"/> as a destination unreachable code.</summary>
    public Icmpv4DestinationUnreachableCode UnreachableCode => (Icmpv4DestinationUnreachableCode)Code;

    /// <summary><see cref="Code"/> as a time exceeded code.</summary>
    public Icmpv4TimeExceededCode TimeExceededCode => (Icmpv4TimeExceededCode)Code;

    /// <summary>True for the error types (unreachable, time exceeded, parameter problem), which must never be answered with an error (RFC 1122 section 3.2.2).</summary>
    public bool IsError => Type is Icmpv4Type.DestinationUnreachable or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem;

    /// <summary>A ping: the peer answers with an <see cref="EchoReply"/> carrying the same identifier, sequence number and data.</summary>
    /// <param name="identifier">Matches replies to the pinging process (ping uses its process id).</param>
    /// <param name="sequenceNumber">Counts the requests of one ping run, so lost and reordered replies show.</param>
    /// <param name="dataLength">Bytes of echo data after the 8-byte header (ping's default is 56).</param>
    public static Icmpv4Repr EchoRequest(ushort identifier, ushort sequenceNumber, int dataLength) =>
        new(Icmpv4Type.EchoRequest, 0) { Identifier = identifier, SequenceNumber = sequenceNumber, DataLength = dataLength };

    /// <summary>The answer to an echo request: <paramref name="identifier"/>, <paramref name="sequenceNumber"/> and the data are the request's (RFC 792; RFC 1122 section 3.2.2.6).</summary>
    /// <param name="identifier">The request's identifier.</param>
    /// <param name="sequenceNumber">The request's sequence number.</param>
    /// <param name="dataLength">Bytes of echoed data: the request's data length.</param>
    public static Icmpv4Repr EchoReply(ushort identifier, ushort sequenceNumber, int dataLength) =>
        new(Icmpv4Type.EchoReply, 0) { Identifier = identifier, SequenceNumber = sequenceNumber, DataLength = dataLength };

    /// <summary>An unreachable error quoting <paramref name="dataLength"/> bytes; <paramref name="nextHopMtu"/> only with <see cref="Icmpv4DestinationUnreachableCode.FragmentationNeeded"/>.</summary>
    public static Icmpv4Repr DestinationUnreachable(Icmpv4DestinationUnreachableCode code, int dataLength, ushort nextHopMtu = 0) =>
        new(Icmpv4Type.DestinationUnreachable, (byte)code)
        {
            DataLength = dataLength,
            NextHopMtu = code == Icmpv4DestinationUnreachableCode.FragmentationNeeded ? nextHopMtu : (ushort)0,
        };

    /// <summary>A time exceeded error quoting <paramref name="dataLength"/> bytes of the discarded packet: TTL ran out in transit, or reassembly timed out.</summary>
    /// <param name="code">Which of the two happened.</param>
    /// <param name="dataLength">Bytes of the invoking packet quoted: its IPv4 header and at least 8 payload bytes.</param>
    public static Icmpv4Repr TimeExceeded(Icmpv4TimeExceededCode code, int dataLength) =>
        new(Icmpv4Type.TimeExceeded, (byte)code) { DataLength = dataLength };

    /// <summary>A parameter problem error quoting <paramref name="dataLength"/> bytes of a packet discarded for a bad header field (RFC 792).</summary>
    /// <param name="pointer">The octet of the quoted header at fault, counted from its first byte.</param>
    /// <param name="dataLength">Bytes of the invoking packet quoted: its IPv4 header and at least 8 payload bytes.</param>
    public static Icmpv4Repr ParameterProblem(byte pointer, int dataLength) =>
        new(Icmpv4Type.ParameterProblem, 0) { Pointer = pointer, DataLength = dataLength };

    /// <summary>
    /// Parses a message. Fails with <see cref="WireError.BadChecksum"/> if <paramref name="verifyChecksum"/> and the
    /// checksum over the whole message is wrong; <see cref="WireError.BadOperation"/> for types other than echo,
    /// unreachable, time exceeded and parameter problem (RFC 1122 section 3.2.2: discard silently);
    /// <see cref="WireError.Truncated"/> for an error message quoting fewer than 20 bytes. Never throws.
    /// </summary>
    public static WireError TryParse(Icmpv4Packet view, bool verifyChecksum, out Icmpv4Repr repr)
    {
        repr = default;
        if (verifyChecksum && !view.VerifyChecksum())
        {
            return WireError.BadChecksum;
        }
        int dataLength = view.Buffer.Length - Icmpv4Packet.HeaderLength;
        switch (view.Type)
        {
            case Icmpv4Type.EchoRequest:
            case Icmpv4Type.EchoReply:
                repr = new Icmpv4Repr(view.Type, view.Code) { Identifier = view.Identifier, SequenceNumber = view.SequenceNumber, DataLength = dataLength };
                return WireError.Ok;
            case Icmpv4Type.DestinationUnreachable:
                if (dataLength < MinimumErrorDataLength)
                {
                    return WireError.Truncated;
                }
                ushort mtu = view.Code == (byte)Icmpv4DestinationUnreachableCode.FragmentationNeeded ? view.NextHopMtu : (ushort)0;
                repr = new Icmpv4Repr(view.Type, view.Code) { NextHopMtu = mtu, DataLength = dataLength };
                return WireError.Ok;
            case Icmpv4Type.TimeExceeded:
                if (dataLength < MinimumErrorDataLength)
                {
                    return WireError.Truncated;
                }
                repr = new Icmpv4Repr(view.Type, view.Code) { DataLength = dataLength };
                return WireError.Ok;
            case Icmpv4Type.ParameterProblem:
                if (dataLength < MinimumErrorDataLength)
                {
                    return WireError.Truncated;
                }
                repr = new Icmpv4Repr(view.Type, view.Code) { Pointer = view.Pointer, DataLength = dataLength };
                return WireError.Ok;
            case Icmpv4Type.Redirect:
            case Icmpv4Type.SourceQuench:
            case Icmpv4Type.Timestamp:
            case Icmpv4Type.TimestampReply:
                return WireError.Unsupported;
            default:
                return WireError.BadOperation;
        }
    }

    /// <summary>
    /// Writes the 8-byte header and, unless <paramref name="fillChecksum"/> is false (device offload), the checksum
    /// over the first <see cref="BufferLength"/> bytes. The data is not written: copy it into <see cref="Icmpv4Packet.Data"/>
    /// first, since the checksum covers it. The view must be at least <see cref="BufferLength"/> long.
    /// </summary>
    public void Emit(Icmpv4Packet view, bool fillChecksum = true)
    {
        view.Type = Type;
        view.Code = Code;
        view.MessageChecksum = 0;
        switch (Type)
        {
            case Icmpv4Type.EchoRequest:
            case Icmpv4Type.EchoReply:
                view.Identifier = Identifier;
                view.SequenceNumber = SequenceNumber;
                break;
            case Icmpv4Type.DestinationUnreachable:
                view.RestOfHeader = NextHopMtu;
                break;
            case Icmpv4Type.ParameterProblem:
                view.RestOfHeader = (uint)Pointer << 24;
                break;
            default:
                view.RestOfHeader = 0;
                break;
        }
        if (fillChecksum)
        {
            view.MessageChecksum = Checksum.Compute(view.Buffer[..BufferLength]);
        }
    }

    /// <summary>As tcpdump prints it: "ICMP echo request, id 7058, seq 1, length 64".</summary>
    public override string ToString() => Type switch
    {
        Icmpv4Type.EchoRequest => $"ICMP echo request, id {Identifier}, seq {SequenceNumber}, length {BufferLength}",
        Icmpv4Type.EchoReply => $"ICMP echo reply, id {Identifier}, seq {SequenceNumber}, length {BufferLength}",
        Icmpv4Type.DestinationUnreachable when UnreachableCode == Icmpv4DestinationUnreachableCode.FragmentationNeeded =>
            $"ICMP unreachable - need to frag (mtu {NextHopMtu}), length {BufferLength}",
        Icmpv4Type.DestinationUnreachable => $"ICMP {UnreachableName(UnreachableCode)} unreachable, length {BufferLength}",
        Icmpv4Type.TimeExceeded => TimeExceededCode == Icmpv4TimeExceededCode.FragmentReassemblyTimeExceeded
            ? $"ICMP ip reassembly time exceeded, length {BufferLength}"
            : $"ICMP time exceeded in-transit, length {BufferLength}",
        Icmpv4Type.ParameterProblem => $"ICMP parameter problem - octet {Pointer}, length {BufferLength}",
        _ => $"ICMP type-#{(byte)Type}, code {Code}, length {BufferLength}",
    };

    private static string UnreachableName(Icmpv4DestinationUnreachableCode code) => code switch
    {
        Icmpv4DestinationUnreachableCode.NetUnreachable => "net",
        Icmpv4DestinationUnreachableCode.HostUnreachable => "host",
        Icmpv4DestinationUnreachableCode.ProtocolUnreachable => "protocol",
        Icmpv4DestinationUnreachableCode.PortUnreachable => "port",
        Icmpv4DestinationUnreachableCode.SourceRouteFailed => "source route failed",
        Icmpv4DestinationUnreachableCode.NetProhibited => "net prohibited",
        Icmpv4DestinationUnreachableCode.HostProhibited => "host prohibited",
        Icmpv4DestinationUnreachableCode.CommunicationProhibited => "administratively prohibited",
        _ => $"code {(byte)code}",
    };
}
