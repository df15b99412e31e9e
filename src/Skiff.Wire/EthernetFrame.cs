using System.Buffers.Binary;

namespace Skiff.Wire;

// IEEE 802.3 Ethernet II frame (RFC 894 for IPv4 over Ethernet), optionally with one IEEE 802.1Q tag:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                  Destination MAC (6 octets)                   |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               |                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |                     Source MAC (6 octets)                     |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |   EtherType (or TPID 0x8100)  |  [PCP|D|  VLAN ID (12 bits) ] |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// | [inner EtherType when tagged] |  payload ...
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// The frame check sequence is not part of the view: devices strip it on receive and add it on send.

/// <summary>
/// A zero-copy view of an Ethernet II frame, with or without one 802.1Q/802.1ad VLAN tag.
/// Accessors read and write the underlying bytes in place.
/// </summary>
public readonly ref struct EthernetFrame
{
    /// <summary>Bytes in an untagged header.</summary>
    public const int UntaggedHeaderLength = 14;

    /// <summary>Bytes in a header with one VLAN tag.</summary>
    public const int TaggedHeaderLength = 18;

    private const int DestinationOffset = 0;
    private const int SourceOffset = 6;
    private const int EtherTypeOffset = 12;
    private const int TagControlOffset = 14;
    private const int InnerEtherTypeOffset = 16;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting into a buffer already sized. Use <see cref="TryCreate"/> on received bytes.</summary>
    public EthernetFrame(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Wraps received bytes after checking that the header fits: <see cref="WireError.Truncated"/> if the buffer is
    /// shorter than 14 bytes, or than 18 when the type field is a VLAN TPID (0x8100 or 0x88A8). Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out EthernetFrame view)
    {
        view = default;
        if (buffer.Length < UntaggedHeaderLength)
        {
            return WireError.Truncated;
        }
        var frame = new EthernetFrame(buffer);
        if (frame.IsVlanTagged && buffer.Length < TaggedHeaderLength)
        {
            return WireError.Truncated;
        }
        view = frame;
        return WireError.Ok;
    }

    /// <summary>The whole frame the view covers.</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The destination MAC address (offset 0): a unicast station, a multicast group or <see cref="MacAddress.Broadcast"/>.</summary>
    public MacAddress Destination
    {
        get => MacAddress.Read(_buffer[DestinationOffset..]);
        set => value.Write(_buffer[DestinationOffset..]);
    }

    /// <summary>The source MAC address (offset 6): the sending interface, always unicast.</summary>
    public MacAddress Source
    {
        get => MacAddress.Read(_buffer[SourceOffset..]);
        set => value.Write(_buffer[SourceOffset..]);
    }

    /// <summary>The type field at offset 12: the payload's EtherType, or a VLAN TPID when tagged.</summary>
    public EtherType EtherType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[EtherTypeOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[EtherTypeOffset..], (ushort)value);
    }

    /// <summary>True when the type field is 0x8100 (802.1Q) or 0x88A8 (802.1ad S-tag).</summary>
    public bool IsVlanTagged => EtherType is EtherType.Vlan or EtherType.QinQ;

    /// <summary>The tag control information (PCP 3 bits, DEI 1 bit, VLAN ID 12 bits). Only meaningful when <see cref="IsVlanTagged"/>.</summary>
    public ushort TagControl
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[TagControlOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[TagControlOffset..], value);
    }

    /// <summary>The EtherType after the tag. Only meaningful when <see cref="IsVlanTagged"/>.</summary>
    public EtherType InnerEtherType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[InnerEtherTypeOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[InnerEtherTypeOffset..], (ushort)value);
    }

    /// <summary>The EtherType of the payload, looking past one tag.</summary>
    public EtherType PayloadEtherType => IsVlanTagged ? InnerEtherType : EtherType;

    /// <summary>14, or 18 with a tag.</summary>
    public int HeaderLength => IsVlanTagged ? TaggedHeaderLength : UntaggedHeaderLength;

    /// <summary>The bytes after the header, including any padding to the 60-byte minimum (the IP layer bounds itself by its own length field).</summary>
    public Span<byte> Payload => _buffer[HeaderLength..];
}
