using System.Buffers.Binary;

namespace Skiff.Wire;

// IPv6 fixed header, RFC 8200 section 3:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version| Traffic Class |           Flow Label                  |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Payload Length        |  Next Header  |   Hop Limit   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// +                         Source Address                        +
// |                          (16 octets)                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               |
// +                      Destination Address                      +
// |                          (16 octets)                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// <summary>A zero-copy view of an IPv6 packet (RFC 8200). Accessors read and write the fixed header in place.</summary>
public readonly ref struct Ipv6Packet
{
    /// <summary>Bytes in the fixed header.</summary>
    public const int HeaderLength = 40;

    private const int VersionOffset = 0;
    private const int PayloadLengthOffset = 4;
    private const int NextHeaderOffset = 6;
    private const int HopLimitOffset = 7;
    private const int SourceOffset = 8;
    private const int DestinationOffset = 24;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting into a buffer already sized. Use <see cref="TryCreate"/> on received bytes.</summary>
    public Ipv6Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Wraps received bytes after the length checks: fewer than 40 bytes, or a payload length reaching past the
    /// bytes present, is <see cref="WireError.Truncated"/>. Trailing bytes (link padding) are allowed and excluded
    /// from <see cref="Payload"/>. Jumbograms (payload length 0 with a jumbo option, RFC 2675) are not recognised: the
    /// payload is then empty. The version is checked by <see cref="Ipv6Repr.TryParse"/>. Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out Ipv6Packet view)
    {
        view = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        var packet = new Ipv6Packet(buffer);
        if (HeaderLength + packet.PayloadLength > buffer.Length)
        {
            return WireError.Truncated;
        }
        view = packet;
        return WireError.Ok;
    }

    /// <summary>The bytes the view was created over (may extend past the payload).</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The version nibble (offset 0, high 4 bits; RFC 8200 section 3): 6 for IPv6. <see cref="TryCreate"/> does not check it; <see cref="Ipv6Repr.TryParse"/> does.</summary>
    public byte Version
    {
        get => (byte)(_buffer[VersionOffset] >> 4);
        set => _buffer[VersionOffset] = (byte)((value << 4) | (_buffer[VersionOffset] & 0x0F));
    }

    private uint FirstWord
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(_buffer);
        set => BinaryPrimitives.WriteUInt32BigEndian(_buffer, value);
    }

    /// <summary>The traffic class octet (DSCP in the upper 6 bits, ECN in the lower 2; RFC 8200 section 7).</summary>
    public byte TrafficClass
    {
        get => (byte)(FirstWord >> 20);
        set => FirstWord = (FirstWord & 0xF00F_FFFF) | ((uint)value << 20);
    }

    /// <summary>The 20-bit flow label (RFC 6437). The setter keeps only the low 20 bits.</summary>
    public uint FlowLabel
    {
        get => FirstWord & 0x000F_FFFF;
        set => FirstWord = (FirstWord & 0xFFF0_0000) | (value & 0x000F_FFFF);
    }

    /// <summary>Bytes after the fixed header, extension headers included.</summary>
    public ushort PayloadLength
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[PayloadLengthOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[PayloadLengthOffset..], value);
    }

    /// <summary>The type of the first extension header or of the upper-layer header.</summary>
    public IpProtocol NextHeader
    {
        get => (IpProtocol)_buffer[NextHeaderOffset];
        set => _buffer[NextHeaderOffset] = (byte)value;
    }

    /// <summary>The hop limit (offset 7; RFC 8200 section 3): decremented by each router, which drops the packet at 0. Neighbor discovery requires 255, proof the sender is on the link (RFC 4861 section 6.1).</summary>
    public byte HopLimit
    {
        get => _buffer[HopLimitOffset];
        set => _buffer[HopLimitOffset] = value;
    }

    /// <summary>The sender's address (offset 8; RFC 8200 section 3); never multicast.</summary>
    public Ipv6Address Source
    {
        get => Ipv6Address.Read(_buffer[SourceOffset..]);
        set => value.Write(_buffer[SourceOffset..]);
    }

    /// <summary>The recipient's address (offset 24; RFC 8200 section 3): the final one, or the next hop when a routing header is present.</summary>
    public Ipv6Address Destination
    {
        get => Ipv6Address.Read(_buffer[DestinationOffset..]);
        set => value.Write(_buffer[DestinationOffset..]);
    }

    /// <summary>The payload-length bytes after the fixed header (extension headers and upper layer); trailing padding excluded.</summary>
    public Span<byte> Payload => _buffer.Slice(HeaderLength, PayloadLength);
}
