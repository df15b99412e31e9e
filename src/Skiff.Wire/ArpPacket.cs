using System.Buffers.Binary;

namespace Skiff.Wire;

// ARP packet, RFC 826 "Packet format" (offsets for Ethernet/IPv4, hlen 6 and plen 4):
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |      Hardware type (1)        |     Protocol type (0x0800)    |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  HW len (6)   | Proto len (4) |          Operation            |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |            Sender hardware address (6) ...                    |
// +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               | Sender protocol address (4)   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                               | Target hardware address (6)...|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
// |                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                 Target protocol address (4)                   |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// <summary>
/// A zero-copy view of an ARP packet (RFC 826). The fixed fields are generic; the address accessors
/// assume Ethernet/IPv4 lengths (6 and 4), which <see cref="ArpRepr.TryParse"/> checks before using them.
/// </summary>
public readonly ref struct ArpPacket
{
    /// <summary>Bytes in the fixed part (types, lengths, operation).</summary>
    public const int FixedLength = 8;

    /// <summary>Bytes in an Ethernet/IPv4 ARP packet.</summary>
    public const int EthernetIpv4Length = 28;

    /// <summary>ARP hardware type for Ethernet (RFC 826; IANA hardware type 1).</summary>
    public const ushort HardwareTypeEthernet = 1;

    private const int HardwareTypeOffset = 0;
    private const int ProtocolTypeOffset = 2;
    private const int HardwareLengthOffset = 4;
    private const int ProtocolLengthOffset = 5;
    private const int OperationOffset = 6;
    private const int SenderHardwareOffset = 8;
    private const int SenderProtocolOffset = 14;
    private const int TargetHardwareOffset = 18;
    private const int TargetProtocolOffset = 24;

    private readonly Span<byte> _buffer;

    /// <summary>Wraps <paramref name="buffer"/> without checking it; for emitting. Use <see cref="TryCreate"/> on received bytes.</summary>
    public ArpPacket(Span<byte> buffer) => _buffer = buffer;

    /// <summary>
    /// Wraps received bytes after checking that the fixed part and the four addresses its length fields
    /// announce fit: <see cref="WireError.Truncated"/> otherwise. Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out ArpPacket view)
    {
        view = default;
        if (buffer.Length < FixedLength)
        {
            return WireError.Truncated;
        }
        var packet = new ArpPacket(buffer);
        if (buffer.Length < FixedLength + 2 * (packet.HardwareLength + packet.ProtocolLength))
        {
            return WireError.Truncated;
        }
        view = packet;
        return WireError.Ok;
    }

    /// <summary>The whole packet the view covers; accessors read and write these bytes in place.</summary>
    public Span<byte> Buffer => _buffer;

    /// <summary>The link-layer type (offset 0): 1 for Ethernet (<see cref="HardwareTypeEthernet"/>); IANA "Hardware Types" lists the rest.</summary>
    public ushort HardwareType
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(_buffer[HardwareTypeOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[HardwareTypeOffset..], value);
    }

    /// <summary>The network-layer type the protocol addresses belong to (offset 2), from the EtherType space: <see cref="EtherType.Ipv4"/> for IPv4.</summary>
    public EtherType ProtocolType
    {
        get => (EtherType)BinaryPrimitives.ReadUInt16BigEndian(_buffer[ProtocolTypeOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[ProtocolTypeOffset..], (ushort)value);
    }

    /// <summary>Bytes in each hardware address (offset 4): 6 for Ethernet.</summary>
    public byte HardwareLength
    {
        get => _buffer[HardwareLengthOffset];
        set => _buffer[HardwareLengthOffset] = value;
    }

    /// <summary>Bytes in each protocol address (offset 5): 4 for IPv4.</summary>
    public byte ProtocolLength
    {
        get => _buffer[ProtocolLengthOffset];
        set => _buffer[ProtocolLengthOffset] = value;
    }

    /// <summary>Request or reply (offset 6); other values are kept as numbers.</summary>
    public ArpOperation Operation
    {
        get => (ArpOperation)BinaryPrimitives.ReadUInt16BigEndian(_buffer[OperationOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(_buffer[OperationOffset..], (ushort)value);
    }

    /// <summary>Ethernet/IPv4 layout only.</summary>
    public MacAddress SenderHardwareAddress
    {
        get => MacAddress.Read(_buffer[SenderHardwareOffset..]);
        set => value.Write(_buffer[SenderHardwareOffset..]);
    }

    /// <summary>Ethernet/IPv4 layout only.</summary>
    public Ipv4Address SenderProtocolAddress
    {
        get => Ipv4Address.Read(_buffer[SenderProtocolOffset..]);
        set => value.Write(_buffer[SenderProtocolOffset..]);
    }

    /// <summary>Ethernet/IPv4 layout only.</summary>
    public MacAddress TargetHardwareAddress
    {
        get => MacAddress.Read(_buffer[TargetHardwareOffset..]);
        set => value.Write(_buffer[TargetHardwareOffset..]);
    }

    /// <summary>Ethernet/IPv4 layout only.</summary>
    public Ipv4Address TargetProtocolAddress
    {
        get => Ipv4Address.Read(_buffer[TargetProtocolOffset..]);
        set => value.Write(_buffer[TargetProtocolOffset..]);
    }
}
