using System.Buffers.Binary;

namespace Skiff.Wire;

// ICMPv6 message, RFC 4443 section 2.1, with the bodies this view knows (RFC 4443 section 3-4, RFC 4861 section 4):
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | echo: Identifier | Sequence; too big: MTU; param problem: Pointer;
// | unreachable, time exceeded, RS, NS: unused/reserved;
// | NA: R|S|O flags + reserved; RA: Cur Hop Limit | M|O flags | Router Lifetime
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | RA: Reachable Time (32), Retrans Timer (32)                    |
// | NS, NA: Target Address (128)                                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | Data: echo data, an error's invoking packet, or NDP options   ~
// +-+-+-+-+

/// <summary>
/// A zero-copy view of one ICMPv6 message (RFC 4443, RFC 4861). The view must span exactly the message (the upper-layer
/// payload of the IPv6 packet), since the checksum and the pseudo-header length cover all of it.
/// </summary>
public readonly ref struct Icmpv6Packet
{
    /// <summary>Bytes of type, code and checksum, common to every message.</summary>
    public const int CommonHeaderLength = 4;

    private const int TypeOffset = 0;
    private const int CodeOffset = 1;
    private const int ChecksumOffset = 2;
    private const int WordOffset = 4;
    private const int IdentifierOffset = 4;
    private const int SequenceNumberOffset = 6;
    private const int CurrentHopLimitOffset = 4;
    private const int RouterFlagsOffset = 5;
    private const int RouterLifetimeOffset = 6;
    private const int ReachableTimeOffset = 8;
    private const int RetransTimerOffset = 12;
    private const int NeighborFlagsOffset = 4;
    private const int TargetAddressOffset = 8;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting. Use <see cref="TryCreate"/> on received bytes.</summary>
    public Icmpv6Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Wraps a received message: <see cref="WireError.Truncated"/> if shorter than 4 bytes, or than the fixed part of its
    /// type (<see cref="HeaderLengthOf"/>). Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out Icmpv6Packet view)
    {
        view = default;
        if (buffer.Length < CommonHeaderLength)
        {
            return WireError.Truncated;
        }
        var packet = new Icmpv6Packet(buffer);
        if (buffer.Length < HeaderLengthOf(packet.Type))
        {
            return WireError.Truncated;
        }
        view = packet;
        return WireError.Ok;
    }

    /// <summary>
    /// Bytes before <see cref="Data"/> for a message type: 8 for the RFC 4443 messages and RS, 16 for RA, 24 for NS and
    /// NA, 40 for redirect, 4 for types this view does not know.
    /// </summary>
    public static int HeaderLengthOf(Icmpv6Type type) => type switch
    {
        Icmpv6Type.DestinationUnreachable or Icmpv6Type.PacketTooBig or Icmpv6Type.TimeExceeded or Icmpv6Type.ParameterProblem => 8,
        Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply or Icmpv6Type.RouterSolicitation => 8,
        Icmpv6Type.RouterAdvertisement => 16,
        Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement => 24,
        Icmpv6Type.Redirect => 40,
        _ => CommonHeaderLength,
    };

    /// <summary>The whole message the view covers (header, body and data); accessors read and write these bytes in place.</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The message type (offset 0): below 128 an error, from 128 informational (RFC 4443 section 2.1). It decides the fixed part's length (<see cref="HeaderLengthOf"/>).</summary>
    public Icmpv6Type Type
    {
        get => (Icmpv6Type)_buffer[TypeOffset];
        set => _buffer[TypeOffset] = (byte)value;
    }

    /// <summary>The subtype within <see cref="Type"/> (offset 1), raw: an <see cref="Icmpv6DestinationUnreachableCode"/> or <see cref="Icmpv6TimeExceededCode"/>; 0 for echo and neighbor discovery, which must be 0 there (RFC 4861 section 6.1).</summary>
    public byte Code
    {
        get => _buffer[CodeOffset];
        set => _buffer[CodeOffset] = value;
    }

    /// <summary>The Internet checksum over an IPv6 pseudo-header (source, destination, length, next header 58) and the whole message (offset 2; RFC 4443 section 2.3). Write 0 before computing it.</summary>
    public ushort MessageChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[ChecksumOffset..], value);
    }

    /// <summary>The 32-bit word after the checksum, raw: packet-too-big MTU, parameter-problem pointer, or reserved.</summary>
    public uint Word
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer[WordOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer[WordOffset..], value);
    }

    /// <summary>Echo identifier (types 128, 129).</summary>
    public ushort Identifier
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[IdentifierOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[IdentifierOffset..], value);
    }

    /// <summary>Echo sequence number (types 128, 129).</summary>
    public ushort SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[SequenceNumberOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[SequenceNumberOffset..], value);
    }

    /// <summary>Router advertisement: hop limit hosts should use, 0 for unspecified.</summary>
    public byte CurrentHopLimit
    {
        get => _buffer[CurrentHopLimitOffset];
        set => _buffer[CurrentHopLimitOffset] = value;
    }

    /// <summary>Router advertisement flags octet.</summary>
    public NdpRouterFlags RouterFlags
    {
        get => (NdpRouterFlags)_buffer[RouterFlagsOffset];
        set => _buffer[RouterFlagsOffset] = (byte)value;
    }

    /// <summary>Router advertisement: lifetime as default router, seconds (0: not a default router).</summary>
    public ushort RouterLifetimeSeconds
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[RouterLifetimeOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[RouterLifetimeOffset..], value);
    }

    /// <summary>Router advertisement: reachable time, milliseconds (0: unspecified).</summary>
    public uint ReachableTimeMillis
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer[ReachableTimeOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer[ReachableTimeOffset..], value);
    }

    /// <summary>Router advertisement: retransmission timer, milliseconds (0: unspecified).</summary>
    public uint RetransTimerMillis
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer[RetransTimerOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer[RetransTimerOffset..], value);
    }

    /// <summary>Neighbor advertisement R/S/O flags (the other bits of the octet are reserved and read as 0).</summary>
    public NdpNeighborFlags NeighborFlags
    {
        get => (NdpNeighborFlags)(_buffer[NeighborFlagsOffset] & 0xE0);
        set => _buffer[NeighborFlagsOffset] = (byte)((byte)value & 0xE0);
    }

    /// <summary>Neighbor solicitation/advertisement (and redirect) target address.</summary>
    public Ipv6Address TargetAddress
    {
        get => Ipv6Address.Read(_buffer[TargetAddressOffset..]);
        set => value.Write(_buffer[TargetAddressOffset..]);
    }

    /// <summary>Bytes before <see cref="Data"/> for this message's type.</summary>
    public int HeaderLength => HeaderLengthOf(Type);

    /// <summary>The bytes after the type's fixed part: echo data, an error's invoking packet, or NDP options.</summary>
    public Span<byte> Data => _buffer[HeaderLength..];

    /// <summary>True when the message plus the IPv6 pseudo-header sums to 0xFFFF (RFC 4443 section 2.3, RFC 8200 section 8.1).</summary>
    public bool VerifyChecksum(Ipv6Address source, Ipv6Address destination) =>
        Checksum.IsValid(_buffer, Checksum.PseudoHeader(source, destination, IpProtocol.Icmpv6, _buffer.Length));

    /// <summary>Computes and writes the checksum over the whole message and the pseudo-header.</summary>
    public void FillChecksum(Ipv6Address source, Ipv6Address destination)
    {
        MessageChecksum = 0;
        MessageChecksum = Checksum.Finish(Checksum.Accumulate(_buffer, Checksum.PseudoHeader(source, destination, IpProtocol.Icmpv6, _buffer.Length)));
    }

    /// <summary>
    /// For an error message (types 1-4), reads the invoking packet's fixed header from <see cref="Data"/> (RFC 4443
    /// section 2.4) so the stack can find the flow it concerns. Lenient: the quoted payload length usually exceeds the
    /// bytes quoted. <paramref name="leadingPayload"/> is what was quoted after the fixed header (extension headers
    /// included: walk them with <see cref="Ipv6ExtensionHeaders.TryWalk"/>, expecting <see cref="WireError.Truncated"/>
    /// on long chains). <see cref="WireError.Truncated"/> under 40 bytes, <see cref="WireError.BadVersion"/> unless 6.
    /// </summary>
    public WireError TryReadInvokingPacket(out Ipv6Repr header, out Span<byte> leadingPayload)
    {
        header = default;
        leadingPayload = default;
        Span<byte> data = Data;
        if (data.Length < Ipv6Packet.HeaderLength)
        {
            return WireError.Truncated;
        }
        var quoted = new Ipv6Packet(data);
        WireError error = Ipv6Repr.TryParse(quoted, out header);
        if (error != WireError.Ok)
        {
            return error;
        }
        leadingPayload = data[Ipv6Packet.HeaderLength..];
        return WireError.Ok;
    }
}
