using System.Buffers.Binary;
using System.Text;

namespace Skiff.Wire;

// RFC 9293 section 3.1, TCP header format:
//
//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |          Source Port          |       Destination Port        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                        Sequence Number                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                    Acknowledgment Number                      |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Data |       |C|E|U|A|P|R|S|F|                               |
// | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
// |       |       |R|E|G|K|H|T|N|N|                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |           Checksum            |         Urgent Pointer        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                           [Options]                           |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                                                               :
// :                             Data                              :
// :                                                               |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// <summary>
/// A zero-copy view of a TCP segment (header, options and payload) over the IP payload bytes
/// (RFC 9293 section 3.1). Accessors read and write the buffer in place, big-endian. The view borrows
/// the buffer: it is valid while the buffer is, and does no locking.
/// </summary>
public readonly ref struct TcpSegment
{
    /// <summary>Length of the header without options.</summary>
    public const int MinHeaderLength = 20;

    /// <summary>Largest header: data offset 15 words.</summary>
    public const int MaxHeaderLength = 60;

    private const int SourcePortOffset = 0;
    private const int DestinationPortOffset = 2;
    private const int SequenceNumberOffset = 4;
    private const int AcknowledgmentNumberOffset = 8;
    private const int DataOffsetOffset = 12;
    private const int FlagsOffset = 13;
    private const int WindowOffset = 14;
    private const int ChecksumOffset = 16;
    private const int UrgentPointerOffset = 18;

    /// <summary>
    /// Wraps <paramref name="buffer"/> without checks, for emitting: the caller guarantees at least
    /// <see cref="MinHeaderLength"/> bytes (and the header length it will write). Accessors past the
    /// buffer throw <see cref="IndexOutOfRangeException"/>.
    /// </summary>
    public TcpSegment(Span<byte> buffer) => Buffer = buffer;

    /// <summary>
    /// Wraps <paramref name="buffer"/> (the whole IP payload) after checking that a header fits:
    /// <see cref="WireError.Truncated"/> if fewer than 20 bytes, <see cref="WireError.BadHeaderLength"/>
    /// if the data offset is below 5 words or points past the buffer. Never throws.
    /// </summary>
    public static WireError TryCreate(Span<byte> buffer, out TcpSegment view)
    {
        view = default;
        if (buffer.Length < MinHeaderLength)
        {
            return WireError.Truncated;
        }
        int headerLength = (buffer[DataOffsetOffset] >> 4) * 4;
        if (headerLength < MinHeaderLength || headerLength > buffer.Length)
        {
            return WireError.BadHeaderLength;
        }
        view = new TcpSegment(buffer);
        return WireError.Ok;
    }

    /// <summary>The bytes the view covers: header, options, payload.</summary>
    public Span<byte> Buffer { get; }

    /// <summary>The sender's port (offset 0; RFC 9293 section 3.1).</summary>
    public ushort SourcePort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[SourcePortOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[SourcePortOffset..], value);
    }

    /// <summary>The receiver's port (offset 2; RFC 9293 section 3.1).</summary>
    public ushort DestinationPort
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[DestinationPortOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[DestinationPortOffset..], value);
    }

    /// <summary>The raw sequence number.</summary>
    public uint SequenceNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Buffer[SequenceNumberOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(Buffer[SequenceNumberOffset..], value);
    }

    /// <summary>The raw acknowledgment number (meaningful only with <see cref="TcpFlags.Ack"/>).</summary>
    public uint AcknowledgmentNumber
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Buffer[AcknowledgmentNumberOffset..]);
        set => BinaryPrimitives.WriteUInt32BigEndian(Buffer[AcknowledgmentNumberOffset..], value);
    }

    /// <summary>The data offset in bytes (4 times the 4-bit field). The setter takes a multiple of 4 from 20 to 60 and keeps the reserved bits.</summary>
    public int HeaderLength
    {
        get => (Buffer[DataOffsetOffset] >> 4) * 4;
        set => Buffer[DataOffsetOffset] = (byte)(((value / 4) << 4) | (Buffer[DataOffsetOffset] & 0x0F));
    }

    /// <summary>The eight control bits of byte 13.</summary>
    public TcpFlags Flags
    {
        get => (TcpFlags)Buffer[FlagsOffset];
        set => Buffer[FlagsOffset] = (byte)value;
    }

    /// <summary>The raw window field, not scaled (RFC 7323 section 2.3: the receiver applies the shift).</summary>
    public ushort WindowLength
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[WindowOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[WindowOffset..], value);
    }

    /// <summary>The Internet checksum over the IP pseudo-header, the header and the data (offset 16; RFC 9293 section 3.1). Write 0 before computing it.</summary>
    public ushort Checksum
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[ChecksumOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[ChecksumOffset..], value);
    }

    /// <summary>The urgent pointer (offset 18; RFC 9293 section 3.1): an offset from the sequence number to the end of urgent data, meaningful only with <see cref="TcpFlags.Urg"/>.</summary>
    public ushort UrgentPointer
    {
        get => BinaryPrimitives.ReadUInt16BigEndian(Buffer[UrgentPointerOffset..]);
        set => BinaryPrimitives.WriteUInt16BigEndian(Buffer[UrgentPointerOffset..], value);
    }

    /// <summary>The options area: bytes 20 to <see cref="HeaderLength"/>.</summary>
    public Span<byte> Options => Buffer[MinHeaderLength..HeaderLength];

    /// <summary>Everything after the header.</summary>
    public Span<byte> Payload => Buffer[HeaderLength..];

    /// <summary>Iterates <see cref="Options"/>; see <see cref="TcpOptionReader"/> for validation.</summary>
    public TcpOptionReader ReadOptions() => new(Options);

    /// <summary>True if the checksum over the whole buffer and the pseudo-header partial sum verifies (RFC 9293 section 3.1).</summary>
    public bool VerifyChecksum(uint pseudoHeaderPartial) => Skiff.Wire.Checksum.IsValid(Buffer, pseudoHeaderPartial);

    /// <summary>Computes and writes the checksum over the whole buffer (checksum field taken as zero).</summary>
    public void FillChecksum(uint pseudoHeaderPartial)
    {
        Checksum = 0;
        Checksum = Skiff.Wire.Checksum.Finish(Skiff.Wire.Checksum.Accumulate(Buffer, pseudoHeaderPartial));
    }

    /// <summary>tcpdump's form from the raw bytes, e.g. <c>41830 &gt; 8080: Flags [S], cksum 0x9bbc, seq 1, win 512, options [mss 1460], length 0</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(SourcePort).Append(" > ").Append(DestinationPort).Append(": Flags [")
            .Append(Flags.ToTcpdumpString()).Append("], cksum 0x").Append(Checksum.ToString("x4"))
            .Append(", seq ").Append(SequenceNumber);
        if ((Flags & TcpFlags.Ack) != 0)
        {
            text.Append(", ack ").Append(AcknowledgmentNumber);
        }
        text.Append(", win ").Append(WindowLength);
        if ((Flags & TcpFlags.Urg) != 0)
        {
            text.Append(", urg ").Append(UrgentPointer);
        }
        TcpRepr.AppendOptions(text, Options);
        return text.Append(", length ").Append(Payload.Length).ToString();
    }
}
