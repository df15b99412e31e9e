using System.Buffers.Binary;
using Skiff.Wire;

namespace DdosFilter;

/// <summary>The fields of an Ethernet + IPv4 + TCP frame that the SYN proxy writes from scratch.</summary>
public struct TcpFrameFields
{
    public ulong SourceMac;
    public ulong DestinationMac;
    public uint Source;
    public uint Destination;
    public ushort SourcePort;
    public ushort DestinationPort;
    public uint Sequence;
    public uint Acknowledgment;
    public byte Flags;
    public ushort Window;

    /// <summary>The MSS option's value, or 0 for no option.</summary>
    public ushort Mss;
}

/// <summary>
/// Reading and writing Ethernet + IPv4 + TCP frames in place, for the SYN proxy: offsets, flags, a whole new frame with
/// both checksums, and the incremental checksum update of a rewritten sequence or acknowledgment number (RFC 1624).
/// </summary>
public static class TcpFrame
{
    public const int EthernetBytes = 14;
    public const byte Fin = 0x01;
    public const byte Syn = 0x02;
    public const byte Rst = 0x04;
    public const byte Psh = 0x08;
    public const byte Ack = 0x10;

    /// <summary>Bytes of a frame <see cref="Write"/> makes: 54, or 58 with the MSS option.</summary>
    public static int LengthOf(in TcpFrameFields f) => EthernetBytes + 20 + 20 + (f.Mss != 0 ? 4 : 0);

    /// <summary>
    /// Writes a whole frame (Ethernet, a 20-byte IPv4 header with DF and TTL 64, TCP with the MSS option when given)
    /// at the start of <paramref name="frame"/>, checksums included. Returns its length. The caller read whatever it
    /// needed from the old bytes first.
    /// </summary>
    public static int Write(Span<byte> frame, in TcpFrameFields f)
    {
        int tcpBytes = 20 + (f.Mss != 0 ? 4 : 0);
        int length = EthernetBytes + 20 + tcpBytes;
        Span<byte> data = frame[..length];
        BinaryPrimitives.WriteUInt32BigEndian(data, (uint)(f.DestinationMac >> 16));
        BinaryPrimitives.WriteUInt32BigEndian(data[4..], (uint)(f.DestinationMac << 16) | (uint)(f.SourceMac >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(data[8..], (uint)f.SourceMac);
        BinaryPrimitives.WriteUInt16BigEndian(data[12..], 0x0800);

        Span<byte> ip = data[EthernetBytes..];
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + tcpBytes));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], 0x4000); // DF
        ip[8] = 64;
        ip[9] = (byte)IpProtocol.Tcp;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], f.Source);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], f.Destination);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..20]));

        Span<byte> tcp = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(tcp, f.SourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[2..], f.DestinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[4..], f.Sequence);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[8..], f.Acknowledgment);
        tcp[12] = (byte)((tcpBytes / 4) << 4);
        tcp[13] = f.Flags;
        BinaryPrimitives.WriteUInt16BigEndian(tcp[14..], f.Window);
        BinaryPrimitives.WriteUInt32BigEndian(tcp[16..], 0); // checksum, urgent pointer
        if (f.Mss != 0)
        {
            tcp[20] = 2;
            tcp[21] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(tcp[22..], f.Mss);
        }
        uint pseudo = Checksum.PseudoHeader(new Ipv4Address(f.Source), new Ipv4Address(f.Destination), IpProtocol.Tcp, tcpBytes);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Finish(Checksum.Accumulate(tcp[..tcpBytes], pseudo)));
        return length;
    }

    /// <summary>The MSS option of a TCP header (its options between byte 20 and the data offset), or 0 when absent or malformed.</summary>
    public static ushort ReadMss(ReadOnlySpan<byte> tcp, int headerBytes)
    {
        int i = 20;
        while (i < headerBytes)
        {
            byte kind = tcp[i];
            if (kind == 0)
            {
                return 0;
            }
            if (kind == 1)
            {
                i++;
                continue;
            }
            if (i + 1 >= headerBytes)
            {
                return 0;
            }
            int length = tcp[i + 1];
            if (length < 2 || i + length > headerBytes)
            {
                return 0;
            }
            if (kind == 2 && length == 4)
            {
                return BinaryPrimitives.ReadUInt16BigEndian(tcp[(i + 2)..]);
            }
            i += length;
        }
        return 0;
    }

    /// <summary>Replaces the 32-bit field at <paramref name="offset"/> of <paramref name="tcp"/> and updates the TCP checksum incrementally.</summary>
    public static void Rewrite32(Span<byte> tcp, int offset, uint value)
    {
        uint old = BinaryPrimitives.ReadUInt32BigEndian(tcp[offset..]);
        if (old == value)
        {
            return;
        }
        BinaryPrimitives.WriteUInt32BigEndian(tcp[offset..], value);
        ushort check = BinaryPrimitives.ReadUInt16BigEndian(tcp[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(tcp[16..], Checksum.Update(check, old, value));
    }

    /// <summary>Destination then source MAC of a frame, as 48-bit numbers.</summary>
    public static (ulong Destination, ulong Source) ReadMacs(ReadOnlySpan<byte> frame) =>
        (((ulong)BinaryPrimitives.ReadUInt32BigEndian(frame) << 16) | BinaryPrimitives.ReadUInt16BigEndian(frame[4..]),
         ((ulong)BinaryPrimitives.ReadUInt16BigEndian(frame[6..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(frame[8..]));
}
