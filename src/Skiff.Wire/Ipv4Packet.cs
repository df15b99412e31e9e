using System.Buffers.Binary;

namespace Skiff.Wire;

// IPv4 header, RFC 791 section 3.1:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |    DSCP   |ECN|          Total Length         |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |         Identification        |Flags|      Fragment Offset    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Time to Live |    Protocol   |         Header Checksum       |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                       Source Address                          |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Options                    |    Padding    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// DSCP/ECN per RFC 2474 and RFC 3168; flags are 0, DF, MF; the fragment offset counts 8-octet units.

/// <summary>A zero-copy view of an IPv4 packet (RFC 791). Accessors read and write the header in place.</summary>
public readonly ref struct Ipv4Packet
{
    /// <summary>Bytes in a header without options.</summary>
    public const int MinimumHeaderLength = 20;

    /// <summary>Bytes in the largest header (IHL 15).</summary>
    public const int MaximumHeaderLength = 60;

    private const int VersionIhlOffset = 0;
    private const int DsEcnOffset = 1;
    private const int TotalLengthOffset = 2;
    private const int IdentificationOffset = 4;
    private const int FlagsFragmentOffset = 6;
    private const int TimeToLiveOffset = 8;
    private const int ProtocolOffset = 9;
    private const int ChecksumOffset = 10;
    private const int SourceOffset = 12;
    private const int DestinationOffset = 16;

    private const ushort DontFragmentBit = 0x4000;
    private const ushort MoreFragmentsBit = 0x2000;
    private const ushort FragmentOffsetMask = 0x1FFF;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting into a buffer already sized. Use <see cref="TryCreate"/> on received bytes.</summary>
    public Ipv4Packet(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Wraps received bytes after the length checks, in order: fewer than 20 bytes is <see cref="WireError.Truncated"/>;
    /// IHL below 5 is <see cref="WireError.BadHeaderLength"/>; a total length below the header length is
    /// <see cref="WireError.BadTotalLength"/>; a total length beyond the bytes present is <see cref="WireError.Truncated"/>.
    /// Bytes past the total length (Ethernet padding) are allowed and excluded from <see cref="Payload"/>. The version is
    /// checked by <see cref="Ipv4Repr.TryParse"/>. Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out Ipv4Packet view)
    {
        view = default;
        if (buffer.Length < MinimumHeaderLength)
        {
            return WireError.Truncated;
        }
        var packet = new Ipv4Packet(buffer);
        int headerLength = packet.HeaderLength;
        if (headerLength < MinimumHeaderLength)
        {
            return WireError.BadHeaderLength;
        }
        int totalLength = packet.TotalLength;
        if (totalLength < headerLength)
        {
            return WireError.BadTotalLength;
        }
        if (totalLength > buffer.Length)
        {
            return WireError.Truncated;
        }
        view = packet;
        return WireError.Ok;
    }

    /// <summary>The bytes the view was created over (may extend past <see cref="TotalLength"/>).</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The version nibble (offset 0, high 4 bits; RFC 791 section 3.1): 4 for IPv4. <see cref="TryCreate"/> does not check it; <see cref="Ipv4Repr.TryParse"/> does.</summary>
    public byte Version
    {
        get => (byte)(_buffer[VersionIhlOffset] >> 4);
        set => _buffer[VersionIhlOffset] = (byte)((value << 4) | (_buffer[VersionIhlOffset] & 0x0F));
    }

    /// <summary>The header length in bytes (IHL x 4). The setter takes bytes and must be given a multiple of 4 from 20 to 60.</summary>
    public int HeaderLength
    {
        get => (_buffer[VersionIhlOffset] & 0x0F) * 4;
        set => _buffer[VersionIhlOffset] = (byte)((_buffer[VersionIhlOffset] & 0xF0) | ((value / 4) & 0x0F));
    }

    /// <summary>Differentiated services code point, 6 bits (RFC 2474).</summary>
    public byte Dscp
    {
        get => (byte)(_buffer[DsEcnOffset] >> 2);
        set => _buffer[DsEcnOffset] = (byte)((value << 2) | (_buffer[DsEcnOffset] & 0x03));
    }

    /// <summary>Explicit congestion notification, 2 bits (RFC 3168).</summary>
    public byte Ecn
    {
        get => (byte)(_buffer[DsEcnOffset] & 0x03);
        set => _buffer[DsEcnOffset] = (byte)((_buffer[DsEcnOffset] & 0xFC) | (value & 0x03));
    }

    /// <summary>Header plus payload, in bytes.</summary>
    public ushort TotalLength
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[TotalLengthOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[TotalLengthOffset..], value);
    }

    /// <summary>The identification field (offset 4; RFC 791 section 3.1; RFC 6864): groups the fragments of one datagram for reassembly, with source, destination and protocol.</summary>
    public ushort Identification
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[IdentificationOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[IdentificationOffset..], value);
    }

    private ushort FlagsAndOffset
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[FlagsFragmentOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[FlagsFragmentOffset..], value);
    }

    /// <summary>The reserved flag bit (must be zero, RFC 791; the "evil bit" of RFC 3514).</summary>
    public bool ReservedFlag => (FlagsAndOffset & 0x8000) != 0;

    /// <summary>DF (offset 6, bit 1; RFC 791 section 3.1): routers must not fragment the datagram but drop it and send fragmentation needed (path MTU discovery, RFC 1191).</summary>
    public bool DontFragment
    {
        get => (FlagsAndOffset & DontFragmentBit) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | DontFragmentBit : FlagsAndOffset & ~DontFragmentBit);
    }

    /// <summary>MF (offset 6, bit 2; RFC 791 section 3.1): more fragments of this datagram follow; clear on the last one and on unfragmented datagrams.</summary>
    public bool MoreFragments
    {
        get => (FlagsAndOffset & MoreFragmentsBit) != 0;
        set => FlagsAndOffset = (ushort)(value ? FlagsAndOffset | MoreFragmentsBit : FlagsAndOffset & ~MoreFragmentsBit);
    }

    /// <summary>The fragment offset in BYTES (the field x 8). The setter must be given a multiple of 8 up to 65528.</summary>
    public int FragmentOffset
    {
        get => (FlagsAndOffset & FragmentOffsetMask) * 8;
        set => FlagsAndOffset = (ushort)((FlagsAndOffset & ~FragmentOffsetMask) | ((value / 8) & FragmentOffsetMask));
    }

    /// <summary>Time to live (the hop limit).</summary>
    public byte TimeToLive
    {
        get => _buffer[TimeToLiveOffset];
        set => _buffer[TimeToLiveOffset] = value;
    }

    /// <summary>The payload's protocol number (offset 9; RFC 791 section 3.1), e.g. <see cref="IpProtocol.Tcp"/>.</summary>
    public IpProtocol Protocol
    {
        get => (IpProtocol)_buffer[ProtocolOffset];
        set => _buffer[ProtocolOffset] = (byte)value;
    }

    /// <summary>The Internet checksum of the header alone, options included (offset 10; RFC 791 section 3.1). Write 0 before computing it; routers update it when they change the TTL.</summary>
    public ushort HeaderChecksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[ChecksumOffset..], value);
    }

    /// <summary>The sender's address (offset 12; RFC 791 section 3.1).</summary>
    public Ipv4Address Source
    {
        get => Ipv4Address.Read(_buffer[SourceOffset..]);
        set => value.Write(_buffer[SourceOffset..]);
    }

    /// <summary>The final recipient's address (offset 16; RFC 791 section 3.1): unicast, multicast or broadcast.</summary>
    public Ipv4Address Destination
    {
        get => Ipv4Address.Read(_buffer[DestinationOffset..]);
        set => value.Write(_buffer[DestinationOffset..]);
    }

    /// <summary>The header bytes, options included.</summary>
    public Span<byte> Header => _buffer[..HeaderLength];

    /// <summary>The options area (between byte 20 and the header length); empty without options.</summary>
    public Span<byte> Options => _buffer[MinimumHeaderLength..HeaderLength];

    /// <summary>The bytes after the header up to the total length (trailing link-layer padding excluded).</summary>
    public Span<byte> Payload => _buffer[HeaderLength..TotalLength];

    /// <summary>True when the header (options included) sums to 0xFFFF (RFC 791 section 3.1, RFC 1071).</summary>
    public bool VerifyChecksum() => Checksum.IsValid(Header);

    /// <summary>Computes and writes the header checksum over the header as it now stands.</summary>
    public void FillChecksum()
    {
        HeaderChecksum = 0;
        HeaderChecksum = Checksum.Compute(Header);
    }
}
