using System.Buffers.Binary;

namespace Skiff.Wire;

// ICMPv4 message, RFC 792 (the second word by type):
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |     Code      |          Checksum             |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  echo:  Identifier            |        Sequence Number        |
// |  unreachable: unused          |  Next-hop MTU (code 4, RFC 1191)
// |  parameter problem: Pointer   |  unused                       |
// |  time exceeded: unused                                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Data: echo data, or for errors the invoking IP header + at least 8 octets of its payload
// +-+-+-+-+

/// <summary>A zero-copy view of one ICMPv4 message (RFC 792). The view must span exactly the message (the IPv4 payload).</summary>
public readonly ref struct Icmpv4Packet
{
    /// <summary>Bytes in the header (type, code, checksum, and the type-specific word).</summary>
    public const int HeaderLength = 8;

    private const int TypeOffset = 0;
    private const int CodeOffset = 1;
    private const int ChecksumOffset = 2;
    private const int IdentifierOffset = 4;
    private const int SequenceNumberOffset = 6;
    private const int PointerOffset = 4;
    private const int NextHopMtuOffset = 6;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting. Use <see cref="TryCreate"/> on received bytes.</summary>
    public Icmpv4Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>Wraps a received message: <see cref="WireError.Truncated"/> if shorter than the 8-byte header. Never throws.</summary>
    public static WireError TryCreate(Span<byte> buffer, out Icmpv4Packet view)
    {
        view = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        view = new Icmpv4Packet(buffer);
        return WireError.Ok;
    }

    /// <summary>The whole message the view covers (header and data); accessors read and write these bytes in place.</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The message type (offset 0); it decides what the second word and the data mean.</summary>
    public Icmpv4Type Type
    {
        get => (Icmpv4Type)_buffer[TypeOffset];
        set => _buffer[TypeOffset] = (byte)value;
    }

    /// <summary>The subtype within <see cref="Type"/> (offset 1), raw: an <see cref="Icmpv4DestinationUnreachableCode"/> or <see cref="Icmpv4TimeExceededCode"/>, 0 for echo.</summary>
    public byte Code
    {
        get => _buffer[CodeOffset];
        set => _buffer[CodeOffset] = value;
    }

    /// <summary>The Internet checksum over the whole message (offset 2; RFC 792), with no pseudo-header. Write 0 before computing it.</summary>
    public ushort MessageChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[ChecksumOffset..], value);
    }

    /// <summary>Echo identifier (types 0 and 8).</summary>
    public ushort Identifier
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[IdentifierOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[IdentifierOffset..], value);
    }

    /// <summary>Echo sequence number (types 0 and 8).</summary>
    public ushort SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[SequenceNumberOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[SequenceNumberOffset..], value);
    }

    /// <summary>Next-hop MTU of a fragmentation-needed message (type 3 code 4; RFC 1191 section 4).</summary>
    public ushort NextHopMtu
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[NextHopMtuOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[NextHopMtuOffset..], value);
    }

    /// <summary>Octet offset of the problem in the invoking header (type 12).</summary>
    public byte Pointer
    {
        get => _buffer[PointerOffset];
        set => _buffer[PointerOffset] = value;
    }

    /// <summary>The type-specific second word, raw.</summary>
    public uint RestOfHeader
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer[IdentifierOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer[IdentifierOffset..], value);
    }

    /// <summary>The bytes after the 8-byte header: echo data, or the invoking packet's leading bytes for errors.</summary>
    public Span<byte> Data => _buffer[HeaderLength..];

    /// <summary>True when the whole message sums to 0xFFFF (RFC 792).</summary>
    public bool VerifyChecksum() => Checksum.IsValid(_buffer);

    /// <summary>Computes and writes the checksum over the whole message as it now stands.</summary>
    public void FillChecksum()
    {
        MessageChecksum = 0;
        MessageChecksum = Checksum.Compute(_buffer);
    }

    /// <summary>
    /// For an error message, reads the invoking packet's header from <see cref="Data"/> (RFC 792; RFC 1122 section 3.2.2)
    /// so the stack can find the connection it concerns. Lenient by design: the quoted total length usually exceeds the
    /// bytes quoted and the header checksum is not verified. <paramref name="leadingPayload"/> is what was quoted after the
    /// header (normally the first 8 bytes: the transport ports). Returns <see cref="WireError.Truncated"/> if fewer than
    /// 20 bytes or fewer than the quoted IHL, <see cref="WireError.BadVersion"/>, <see cref="WireError.BadHeaderLength"/>
    /// for IHL below 5, <see cref="WireError.BadTotalLength"/> for a total length below the header. Never throws.
    /// </summary>
    public WireError TryReadInvokingPacket(out Ipv4Repr header, out Span<byte> leadingPayload)
    {
        header = default;
        leadingPayload = default;
        Span<byte> data = Data;
        if (data.Length < Ipv4Packet.MinimumHeaderLength)
        {
            return WireError.Truncated;
        }
        var quoted = new Ipv4Packet(data);
        if (quoted.Version != 4)
        {
            return WireError.BadVersion;
        }
        int headerLength = quoted.HeaderLength;
        if (headerLength < Ipv4Packet.MinimumHeaderLength)
        {
            return WireError.BadHeaderLength;
        }
        if (headerLength > data.Length)
        {
            return WireError.Truncated;
        }
        if (quoted.TotalLength < headerLength)
        {
            return WireError.BadTotalLength;
        }
        header = new Ipv4Repr(quoted.Source, quoted.Destination, quoted.Protocol, quoted.TotalLength - headerLength, quoted.TimeToLive)
        {
            Identification = quoted.Identification,
            DontFragment = quoted.DontFragment,
            MoreFragments = quoted.MoreFragments,
            FragmentOffset = quoted.FragmentOffset,
            Dscp = quoted.Dscp,
            Ecn = quoted.Ecn,
            OptionsLength = headerLength - Ipv4Packet.MinimumHeaderLength,
        };
        leadingPayload = data[headerLength..];
        return WireError.Ok;
    }
}
