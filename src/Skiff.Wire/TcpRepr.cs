using System.Buffers.Binary;
using System.Text;

namespace Skiff.Wire;

/// <summary>
/// A parsed TCP header (RFC 9293 section 3.1) with the options the stack acts on: MSS (RFC 9293
/// section 3.7.1), window scale and timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).
/// Numbers are raw wire values: sequence numbers unwrapped by nobody, the window unscaled, a window
/// scale above 14 kept as sent (RFC 7323 section 2.3 has the receiver clamp it, which is the stack's job).
/// </summary>
/// <remarks>
/// <see cref="TryParse"/> and <see cref="Emit"/> are mirror images: <c>TryParse(Emit(r)) == r</c> for
/// every repr whose options fit the 40 option bytes (see <see cref="HeaderLength"/>).
/// </remarks>
public readonly record struct TcpRepr
{
    private const int MaxOptionsLength = TcpSegment.MaxHeaderLength - TcpSegment.MinHeaderLength;

    /// <summary>The sender's port (RFC 9293 section 3.1).</summary>
    public ushort SourcePort { get; init; }

    /// <summary>The receiver's port (RFC 9293 section 3.1); with the addresses and <see cref="SourcePort"/> it names the connection.</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>Raw sequence number.</summary>
    public uint SequenceNumber { get; init; }

    /// <summary>Raw acknowledgment number; emitted as given even without <see cref="TcpFlags.Ack"/>.</summary>
    public uint AcknowledgmentNumber { get; init; }

    /// <summary>The control bits. <see cref="TryParse"/> refuses two or more of SYN, FIN and RST with <see cref="WireError.BadFlags"/>.</summary>
    public TcpFlags Flags { get; init; }

    /// <summary>Raw window field, before any window-scale shift.</summary>
    public ushort WindowLength { get; init; }

    /// <summary>The urgent pointer, an offset from <see cref="SequenceNumber"/> to the end of urgent data; meaningful only with <see cref="TcpFlags.Urg"/> (RFC 9293 section 3.1).</summary>
    public ushort UrgentPointer { get; init; }

    /// <summary>The MSS option, if present.</summary>
    public ushort? MaxSegmentSize { get; init; }

    /// <summary>The window-scale shift count, if the option is present (raw; may exceed 14).</summary>
    public byte? WindowScale { get; init; }

    /// <summary>True if the SACK-permitted option is present.</summary>
    public bool SackPermitted { get; init; }

    /// <summary>SACK blocks, in wire order. On emit, blocks past what fits in 40 option bytes are left out (the first ones are kept), as Linux does.</summary>
    public TcpSackBlocks SackBlocks { get; init; }

    /// <summary>The timestamps option, if present.</summary>
    public TcpTimestamp? Timestamp { get; init; }

    /// <summary>Bytes after the header. On parse: the buffer length minus the header. On emit: the bytes already placed after the header.</summary>
    public int PayloadLength { get; init; }

    /// <summary>
    /// 20 plus the emitted options: MSS 4; timestamps with SACK-permitted 12 (SACK-permitted alone 4);
    /// window scale 4 (NOP + 3); SACK 4 + 8n. Every group is padded with NOPs to a multiple of 4, so the
    /// result is a multiple of 4, at most 60.
    /// </summary>
    public int HeaderLength
    {
        get
        {
            int fixedOptions = FixedOptionsLength;
            int sacks = SackBlocksToEmit(fixedOptions);
            return TcpSegment.MinHeaderLength + fixedOptions + (sacks == 0 ? 0 : 4 + 8 * sacks);
        }
    }

    private int FixedOptionsLength =>
        (MaxSegmentSize.HasValue ? 4 : 0)
        + (Timestamp.HasValue ? 12 : SackPermitted ? 4 : 0)
        + (WindowScale.HasValue ? 4 : 0);

    // Linux tcp_established_options: as many blocks as fit after the other options, NOP NOP aligned.
    private int SackBlocksToEmit(int fixedOptions) =>
        Math.Min(SackBlocks.Count, Math.Max(0, (MaxOptionsLength - fixedOptions - 4) / 8));

    /// <summary>
    /// Parses <paramref name="segment"/> (from <see cref="TcpSegment.TryCreate"/>, so the data offset is
    /// already known to be sane). With <paramref name="verifyChecksum"/>, the checksum over the whole
    /// segment plus <paramref name="pseudoHeaderPartial"/> (from <see cref="Checksum.PseudoHeader(Ipv4Address, Ipv4Address, IpProtocol, int)"/>
    /// or its IPv6 overload) must verify, else <see cref="WireError.BadChecksum"/>. Errors:
    /// <see cref="WireError.BadHeaderLength"/> (data offset below 5 words or past the buffer),
    /// <see cref="WireError.BadOptionLength"/> (see <see cref="TcpOptionReader"/>),
    /// <see cref="WireError.BadFlags"/> (two or more of SYN, FIN, RST, as smoltcp rejects; a segment with
    /// no flags is passed on, because a closed port answers it with RST, RFC 9293 section 3.10.7.1).
    /// Unknown options are skipped; EOL ends the options; a repeated option keeps the last value.
    /// Never throws, never allocates; <paramref name="repr"/> is default on failure.
    /// </summary>
    public static WireError TryParse(TcpSegment segment, uint pseudoHeaderPartial, bool verifyChecksum, out TcpRepr repr)
    {
        repr = default;
        Span<byte> buffer = segment.Buffer;
        if (buffer.Length < TcpSegment.MinHeaderLength)
        {
            return WireError.Truncated;
        }
        int headerLength = segment.HeaderLength;
        if (headerLength < TcpSegment.MinHeaderLength || headerLength > buffer.Length)
        {
            return WireError.BadHeaderLength;
        }
        TcpFlags flags = segment.Flags;
        int controls = (flags & TcpFlags.Syn) != 0 ? 1 : 0;
        controls += (flags & TcpFlags.Fin) != 0 ? 1 : 0;
        controls += (flags & TcpFlags.Rst) != 0 ? 1 : 0;
        if (controls > 1)
        {
            return WireError.BadFlags;
        }

        ushort? mss = null;
        byte? windowScale = null;
        bool sackPermitted = false;
        TcpSackBlocks sackBlocks = default;
        TcpTimestamp? timestamp = null;
        var reader = new TcpOptionReader(segment.Options);
        while (reader.MoveNext())
        {
            TcpOption option = reader.Current;
            ReadOnlySpan<byte> data = option.Data;
            switch (option.Kind)
            {
                case TcpOptionKind.EndOfList:
                case TcpOptionKind.NoOperation:
                    break;
                case TcpOptionKind.MaxSegmentSize:
                    mss = BinaryPrimitives.ReadUInt16BigEndian(data);
                    break;
                case TcpOptionKind.WindowScale:
                    windowScale = data[0];
                    break;
                case TcpOptionKind.SackPermitted:
                    sackPermitted = true;
                    break;
                case TcpOptionKind.Sack:
                    sackBlocks = default;
                    for (int i = 0; i + 8 <= data.Length; i += 8)
                    {
                        sackBlocks.TryAdd(BinaryPrimitives.ReadUInt32BigEndian(data[i..]), BinaryPrimitives.ReadUInt32BigEndian(data[(i + 4)..]));
                    }
                    break;
                case TcpOptionKind.Timestamp:
                    timestamp = new TcpTimestamp(BinaryPrimitives.ReadUInt32BigEndian(data), BinaryPrimitives.ReadUInt32BigEndian(data[4..]));
                    break;
                default:
                    // Unknown or not acted on (MD5, TCP-AO, MPTCP, TFO, ...): skipped (RFC 9293 section 3.2).
                    break;
            }
        }
        if (reader.Error != WireError.Ok)
        {
            return reader.Error;
        }
        if (verifyChecksum && !Checksum.IsValid(buffer, pseudoHeaderPartial))
        {
            return WireError.BadChecksum;
        }
        repr = new TcpRepr
        {
            SourcePort = segment.SourcePort,
            DestinationPort = segment.DestinationPort,
            SequenceNumber = segment.SequenceNumber,
            AcknowledgmentNumber = segment.AcknowledgmentNumber,
            Flags = flags,
            WindowLength = segment.WindowLength,
            UrgentPointer = segment.UrgentPointer,
            MaxSegmentSize = mss,
            WindowScale = windowScale,
            SackPermitted = sackPermitted,
            SackBlocks = sackBlocks,
            Timestamp = timestamp,
            PayloadLength = buffer.Length - headerLength,
        };
        return WireError.Ok;
    }

    /// <summary>
    /// Writes the header and options into the first <see cref="HeaderLength"/> bytes of
    /// <paramref name="segment"/>, leaving the <see cref="PayloadLength"/> bytes after them untouched
    /// (zero-copy TX: the payload is already there and headers go into headroom). Options are written in
    /// Linux's order (MSS; SACK-permitted + timestamps, or NOP NOP + either; NOP + window scale; NOP NOP +
    /// SACK), so a SYN with all four fits in 20 option bytes. With <paramref name="fillChecksum"/>, the
    /// checksum covers header and payload plus <paramref name="pseudoHeaderPartial"/>, whose length must be
    /// HeaderLength + PayloadLength; otherwise the field is 0 (for a device that offloads it).
    /// Precondition: the buffer holds at least HeaderLength + PayloadLength bytes, else
    /// <see cref="ArgumentOutOfRangeException"/> and nothing is written (a caller bug, not bad input).
    /// </summary>
    public void Emit(TcpSegment segment, uint pseudoHeaderPartial, bool fillChecksum)
    {
        int headerLength = HeaderLength;
        Span<byte> buffer = segment.Buffer;
        ArgumentOutOfRangeException.ThrowIfLessThan(buffer.Length, headerLength + PayloadLength);
        segment.SourcePort = SourcePort;
        segment.DestinationPort = DestinationPort;
        segment.SequenceNumber = SequenceNumber;
        segment.AcknowledgmentNumber = AcknowledgmentNumber;
        buffer[12] = (byte)((headerLength / 4) << 4);
        segment.Flags = Flags;
        segment.WindowLength = WindowLength;
        segment.Checksum = 0;
        segment.UrgentPointer = UrgentPointer;
        WriteOptions(buffer[TcpSegment.MinHeaderLength..headerLength]);
        if (fillChecksum)
        {
            segment.Checksum = Checksum.Finish(Checksum.Accumulate(buffer[..(headerLength + PayloadLength)], pseudoHeaderPartial));
        }
    }

    private void WriteOptions(Span<byte> options)
    {
        const byte Nop = (byte)TcpOptionKind.NoOperation;
        int at = 0;
        if (MaxSegmentSize is ushort mss)
        {
            options[at] = (byte)TcpOptionKind.MaxSegmentSize;
            options[at + 1] = 4;
            BinaryPrimitives.WriteUInt16BigEndian(options[(at + 2)..], mss);
            at += 4;
        }
        if (Timestamp is TcpTimestamp ts)
        {
            if (SackPermitted)
            {
                options[at] = (byte)TcpOptionKind.SackPermitted;
                options[at + 1] = 2;
            }
            else
            {
                options[at] = Nop;
                options[at + 1] = Nop;
            }
            options[at + 2] = (byte)TcpOptionKind.Timestamp;
            options[at + 3] = 10;
            BinaryPrimitives.WriteUInt32BigEndian(options[(at + 4)..], ts.Value);
            BinaryPrimitives.WriteUInt32BigEndian(options[(at + 8)..], ts.EchoReply);
            at += 12;
        }
        else if (SackPermitted)
        {
            options[at] = Nop;
            options[at + 1] = Nop;
            options[at + 2] = (byte)TcpOptionKind.SackPermitted;
            options[at + 3] = 2;
            at += 4;
        }
        if (WindowScale is byte shift)
        {
            options[at] = Nop;
            options[at + 1] = (byte)TcpOptionKind.WindowScale;
            options[at + 2] = 3;
            options[at + 3] = shift;
            at += 4;
        }
        int sacks = SackBlocksToEmit(at);
        if (sacks > 0)
        {
            options[at] = Nop;
            options[at + 1] = Nop;
            options[at + 2] = (byte)TcpOptionKind.Sack;
            options[at + 3] = (byte)(2 + 8 * sacks);
            at += 4;
            for (int i = 0; i < sacks; i++)
            {
                (uint left, uint right) = SackBlocks[i];
                BinaryPrimitives.WriteUInt32BigEndian(options[at..], left);
                BinaryPrimitives.WriteUInt32BigEndian(options[(at + 4)..], right);
                at += 8;
            }
        }
    }

    /// <summary>tcpdump's form, e.g. <c>41830 &gt; 8080: Flags [S.], seq 1, ack 2, win 512, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0</c>.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(SourcePort).Append(" > ").Append(DestinationPort).Append(": Flags [")
            .Append(Flags.ToTcpdumpString()).Append("], seq ").Append(SequenceNumber);
        if ((Flags & TcpFlags.Ack) != 0)
        {
            text.Append(", ack ").Append(AcknowledgmentNumber);
        }
        text.Append(", win ").Append(WindowLength);
        if ((Flags & TcpFlags.Urg) != 0)
        {
            text.Append(", urg ").Append(UrgentPointer);
        }
        // Format what Emit would put on the wire, NOPs included, so the text matches a capture.
        Span<byte> header = stackalloc byte[TcpSegment.MaxHeaderLength];
        int headerLength = HeaderLength;
        WriteOptions(header[TcpSegment.MinHeaderLength..headerLength]);
        AppendOptions(text, header[TcpSegment.MinHeaderLength..headerLength]);
        return text.Append(", length ").Append(PayloadLength).ToString();
    }

    internal static void AppendOptions(StringBuilder text, ReadOnlySpan<byte> options)
    {
        if (options.IsEmpty)
        {
            return;
        }
        text.Append(", options [");
        var reader = new TcpOptionReader(options);
        bool first = true;
        // MoveNext on the local, not foreach (which iterates a copy), so Error is visible afterwards.
        while (reader.MoveNext())
        {
            text.Append(first ? "" : ",").Append(reader.Current.ToString());
            first = false;
        }
        if (reader.Error != WireError.Ok)
        {
            text.Append(first ? "" : ",").Append("bad opt");
        }
        text.Append(']');
    }
}
