using System.Buffers.Binary;

namespace Skiff.Wire;

// RFC 768, User Datagram Header Format:
//
//  0      7 8     15 16    23 24    31
// +--------+--------+--------+--------+
// |     Source      |   Destination   |
// |      Port       |      Port       |
// +--------+--------+--------+--------+
// |                 |                 |
// |     Length      |    Checksum     |
// +--------+--------+--------+--------+
// |
// |          data octets ...
// +---------------- ...

/// <summary>
/// A zero-copy view of a UDP datagram (RFC 768) over the IP payload bytes. Accessors read and write the
/// buffer in place, big-endian. The view borrows the buffer and does no locking.
/// </summary>
public readonly ref struct UdpPacket
{
    /// <summary>The fixed header length.</summary>
    public const int HeaderLength = 8;

    private const int SourcePortOffset = 0;
    private const int DestinationPortOffset = 2;
    private const int LengthOffset = 4;
    private const int ChecksumOffset = 6;

    /// <summary>Wraps <paramref name="buffer"/> without checks, for emitting: the caller guarantees at least 8 bytes.</summary>
    public UdpPacket(Span<byte> buffer) => Buffer = buffer;

    /// <summary>
    /// Wraps <paramref name="buffer"/> (the whole IP payload) after the validity checks:
    /// <see cref="WireError.Truncated"/> if fewer than 8 bytes; <see cref="WireError.BadTotalLength"/> if the
    /// length field is below 8 or above the buffer length. A length field shorter than the buffer is
    /// accepted (the rest is link padding, as Linux trims it). Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out UdpPacket view)
    {
        view = default;
        if (buffer.Length < HeaderLength)
        {
            return WireError.Truncated;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(buffer[LengthOffset..]);
        if (length < HeaderLength || length > buffer.Length)
        {
            return WireError.BadTotalLength;
        }
        view = new UdpPacket(buffer);
        return WireError.Ok;
    }

    /// <summary>The bytes the view covers (may extend past <see cref="Length"/>).</summary>
    public Span<byte> Buffer { get; }

    /// <summary>The sender's port (offset 0; RFC 768); 0 when no reply is expected.</summary>
    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[SourcePortOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[SourcePortOffset..], value);
    }

    /// <summary>The receiver's port (offset 2; RFC 768).</summary>
    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[DestinationPortOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[DestinationPortOffset..], value);
    }

    /// <summary>The length field: header plus data, in bytes.</summary>
    public ushort Length
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[LengthOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[LengthOffset..], value);
    }

    /// <summary>The checksum field; 0 over IPv4 means "not computed" (RFC 768).</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[ChecksumOffset..], value);
    }

    /// <summary>The data octets, as far as the length field says.</summary>
    public Span<byte> Payload => Buffer[HeaderLength..Length];

    /// <summary>tcpdump's form, e.g. <c>38745 &gt; 5353: UDP, cksum 0x168a, length 10</c>.</summary>
    public override string ToString() =>
        $"{SourcePort} > {DestinationPort}: UDP, cksum 0x{Checksum:x4}, length {Length - HeaderLength}";
}
