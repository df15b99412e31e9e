using System.Buffers.Binary;
using System.Text;

namespace Skiff.Wire.Pcap;

/// <summary>
/// Reads a pcapng file (draft-ietf-opsawg-pcapng, "PCAP Now Generic"): a Section Header Block, Interface
/// Description Blocks, then Enhanced, Simple (and obsolete) Packet Blocks and Interface Statistics Blocks.
/// Either byte order, several sections, every timestamp resolution (if_tsresol, if_tsoffset); blocks of other
/// types are stepped over. Each block's trailing length is checked against its leading one.
/// </summary>
/// <remarks>See <see cref="ICaptureReader"/> for the reading contract. Not thread-safe.</remarks>
public sealed class PcapNgReader : ICaptureReader
{
    /// <summary>Block type of the Section Header Block, the same in both byte orders (section 4.1).</summary>
    public const uint SectionHeaderBlockType = 0x0A0D_0D0A;

    /// <summary>The byte-order magic in a Section Header Block, as written in the file's own byte order.</summary>
    public const uint ByteOrderMagic = 0x1A2B_3C4D;

    internal const uint InterfaceDescriptionBlockType = 1;
    internal const uint ObsoletePacketBlockType = 2;
    internal const uint SimplePacketBlockType = 3;
    internal const uint InterfaceStatisticsBlockType = 5;
    internal const uint EnhancedPacketBlockType = 6;

    internal const ushort OptionEnd = 0;
    internal const ushort OptionComment = 1;
    internal const ushort OptionIfName = 2;
    internal const ushort OptionIfDescription = 3;
    internal const ushort OptionEpbFlags = 2;
    internal const ushort OptionIsbFilterAccept = 6;
    internal const ushort OptionIsbUsrDeliv = 8;
    internal const ushort OptionIfTsResol = 9;
    internal const ushort OptionIfTsOffset = 14;
    internal const ushort OptionIsbIfRecv = 4;
    internal const ushort OptionIsbIfDrop = 5;

    // Every block is type + length ... length (section 3.1); the SHB adds the byte-order magic, version and section length.
    private const int MinBlockBytes = 12;
    private const int MinSectionHeaderBytes = 28;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _word = new byte[8];
    private readonly List<CaptureInterface> _interfaces = new(4);
    private byte[] _buffer = new byte[CaptureStreams.InitialBufferBytes];
    private bool _finished;

    private PcapNgReader(Stream stream, bool leaveOpen)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Always <see cref="CaptureFormat.PcapNg"/>.</summary>
    public CaptureFormat Format => CaptureFormat.PcapNg;

    /// <summary>True when the current section was written big-endian (its byte-order magic read as 0x4d3c2b1a); the reader swaps for you.</summary>
    public bool IsBigEndian { get; private set; }

    /// <summary>The current section's format version (1.0 for every file in use).</summary>
    public ushort VersionMajor { get; private set; }

    /// <summary>The current section's minor version.</summary>
    public ushort VersionMinor { get; private set; }

    /// <summary>How many Section Header Blocks have been read (1 after opening).</summary>
    public int SectionCount { get; private set; }

    /// <summary>The interfaces of the current section, indexed by interface id; a new section clears them.</summary>
    public IReadOnlyList<CaptureInterface> Interfaces => _interfaces;

    /// <inheritdoc />
    public bool CanContinue => !_finished;

    /// <summary>
    /// Reads the first Section Header Block from <paramref name="stream"/>. Returns <see cref="WireError.Ok"/> and
    /// a reader, or <see cref="WireError.BadMagic"/> (not pcapng, or an unknown byte-order magic),
    /// <see cref="WireError.Truncated"/>, <see cref="WireError.BadFormat"/> (impossible block length, or trailing
    /// length that differs) or <see cref="WireError.BadVersion"/> (major version other than 1) and null.
    /// On failure the stream is left to the caller.
    /// </summary>
    public static WireError TryOpen(Stream stream, out PcapNgReader? reader, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> type = stackalloc byte[4];
        reader = null;
        if (CaptureStreams.ReadAtMost(stream, type) < 4)
        {
            return WireError.Truncated;
        }
        return TryOpenAfterType(stream, type, leaveOpen, out reader);
    }

    /// <summary>Continues opening after the factory has read the 4 block-type bytes.</summary>
    internal static WireError TryOpenAfterType(Stream stream, ReadOnlySpan<byte> typeBytes, bool leaveOpen, out PcapNgReader? reader)
    {
        reader = null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(typeBytes) != SectionHeaderBlockType)
        {
            return WireError.BadMagic;
        }
        PcapNgReader candidate = new(stream, leaveOpen);
        WireError error = candidate.ReadSectionHeader(out _);
        if (error != WireError.Ok)
        {
            return error;
        }
        reader = candidate;
        return WireError.Ok;
    }

    /// <inheritdoc />
    public bool TryReadNext(out CaptureRecord record, out WireError error)
    {
        record = default;
        while (!_finished)
        {
            int n = CaptureStreams.ReadAtMost(_stream, _word.AsSpan(0, 4));
            if (n == 0)
            {
                _finished = true;
                break;
            }
            if (n < 4)
            {
                return Fail(WireError.Truncated, out error);
            }
            uint type = U32(_word);
            if (type == SectionHeaderBlockType)
            {
                error = ReadSectionHeader(out bool fatal);
                if (error != WireError.Ok)
                {
                    _finished |= fatal;
                    return false;
                }
                continue;
            }
            if (CaptureStreams.ReadAtMost(_stream, _word.AsSpan(4, 4)) < 4)
            {
                return Fail(WireError.Truncated, out error);
            }
            uint length = U32(_word.AsSpan(4));
            if (length < MinBlockBytes || length % 4 != 0 || length > CaptureStreams.MaxRecordBytes)
            {
                // Without a believable length there is no telling where the next block starts.
                return Fail(WireError.BadFormat, out error);
            }
            int bodyBytes = (int)length - MinBlockBytes;
            switch (type)
            {
                case EnhancedPacketBlockType:
                case ObsoletePacketBlockType:
                case SimplePacketBlockType:
                case InterfaceDescriptionBlockType:
                case InterfaceStatisticsBlockType:
                    break;
                default:
                    // Name resolution, decryption secrets, custom and future blocks: not needed to read frames.
                    if (!CaptureStreams.Skip(_stream, bodyBytes, _buffer) || CaptureStreams.ReadAtMost(_stream, _word.AsSpan(0, 4)) < 4)
                    {
                        return Fail(WireError.Truncated, out error);
                    }
                    if (U32(_word) != length)
                    {
                        error = WireError.BadFormat;
                        return false;
                    }
                    continue;
            }
            CaptureStreams.EnsureCapacity(ref _buffer, bodyBytes + 4);
            if (CaptureStreams.ReadAtMost(_stream, _buffer.AsSpan(0, bodyBytes + 4)) < bodyBytes + 4)
            {
                return Fail(WireError.Truncated, out error);
            }
            if (U32(_buffer.AsSpan(bodyBytes)) != length)
            {
                error = WireError.BadFormat;
                return false;
            }
            ReadOnlySpan<byte> body = _buffer.AsSpan(0, bodyBytes);
            switch (type)
            {
                case InterfaceDescriptionBlockType:
                    error = ReadInterfaceDescription(body);
                    if (error != WireError.Ok)
                    {
                        return false;
                    }
                    continue;
                case InterfaceStatisticsBlockType:
                    error = ReadInterfaceStatistics(body);
                    if (error != WireError.Ok)
                    {
                        return false;
                    }
                    continue;
                case SimplePacketBlockType:
                    error = ReadSimplePacket(body, out record);
                    return error == WireError.Ok;
                default:
                    error = ReadPacket(body, type == ObsoletePacketBlockType, out record);
                    return error == WireError.Ok;
            }
        }
        error = WireError.Ok;
        return false;
    }

    /// <summary>Ends reading (later reads return false) and disposes the stream unless the reader was opened with <c>leaveOpen</c>.</summary>
    public void Dispose()
    {
        _finished = true;
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    /// <summary>Reads a Section Header Block whose type has been read (section 4.1).</summary>
    private WireError ReadSectionHeader(out bool fatal)
    {
        fatal = true;
        if (CaptureStreams.ReadAtMost(_stream, _word) < 8)
        {
            return WireError.Truncated;
        }
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(_word.AsSpan(4));
        if (magic == ByteOrderMagic)
        {
            IsBigEndian = false;
        }
        else if (magic == BinaryPrimitives.ReverseEndianness(ByteOrderMagic))
        {
            IsBigEndian = true;
        }
        else
        {
            return WireError.BadMagic;
        }
        uint length = U32(_word);
        if (length < MinSectionHeaderBytes || length % 4 != 0 || length > CaptureStreams.MaxRecordBytes)
        {
            return WireError.BadFormat;
        }
        int rest = (int)length - 12; // type, length and magic are read; the trailer is in the rest.
        CaptureStreams.EnsureCapacity(ref _buffer, rest);
        if (CaptureStreams.ReadAtMost(_stream, _buffer.AsSpan(0, rest)) < rest)
        {
            return WireError.Truncated;
        }
        VersionMajor = U16(_buffer);
        VersionMinor = U16(_buffer.AsSpan(2));
        if (VersionMajor != 1)
        {
            return WireError.BadVersion;
        }
        _interfaces.Clear();
        SectionCount++;
        fatal = false;
        // Options (shb_hardware, shb_os, shb_userappl) are informational and not kept.
        return U32(_buffer.AsSpan(rest - 4)) == length ? WireError.Ok : WireError.BadFormat;
    }

    /// <summary>Interface Description Block (section 4.2). A malformed one still takes its interface id.</summary>
    private WireError ReadInterfaceDescription(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8)
        {
            _interfaces.Add(new CaptureInterface(_interfaces.Count, LinkType.Unknown, 0, 1_000_000));
            return WireError.BadFormat;
        }
        uint snap = U32(body[4..]);
        CaptureInterface described = new(_interfaces.Count, (LinkType)U16(body), snap > int.MaxValue ? int.MaxValue : (int)snap, 1_000_000);
        _interfaces.Add(described);
        WireError error = WireError.Ok;
        for (int p = 8; p + 4 <= body.Length;)
        {
            ushort code = U16(body[p..]);
            int length = U16(body[(p + 2)..]);
            p += 4;
            if (code == OptionEnd)
            {
                break;
            }
            if (length > body.Length - p)
            {
                return WireError.BadOptionLength;
            }
            ReadOnlySpan<byte> value = body.Slice(p, length);
            p += CaptureStreams.Pad4(length);
            switch (code)
            {
                case OptionIfName:
                    described.Name = Encoding.UTF8.GetString(value.TrimEnd((byte)0));
                    break;
                case OptionIfDescription:
                    described.Description = Encoding.UTF8.GetString(value.TrimEnd((byte)0));
                    break;
                case OptionIfTsResol:
                    if (length < 1 || !TryResolution(value[0], out long unitsPerSecond))
                    {
                        error = WireError.BadOption;
                        break;
                    }
                    described.TimestampUnitsPerSecond = unitsPerSecond;
                    break;
                case OptionIfTsOffset:
                    if (length < 8)
                    {
                        error = WireError.BadOptionLength;
                        break;
                    }
                    described.TimestampOffsetSeconds = IsBigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
                    break;
                default:
                    break; // if_description, if_speed, if_filter, ...: not needed to read frames.
            }
        }
        return error;
    }

    /// <summary>if_tsresol: the high bit picks base 2, else base 10; the rest is the negative exponent (section 4.2).</summary>
    private static bool TryResolution(byte value, out long unitsPerSecond)
    {
        int exponent = value & 0x7F;
        unitsPerSecond = 0;
        if ((value & 0x80) != 0)
        {
            if (exponent > 62)
            {
                return false;
            }
            unitsPerSecond = 1L << exponent;
            return true;
        }
        if (exponent > 18)
        {
            return false;
        }
        unitsPerSecond = 1;
        for (int i = 0; i < exponent; i++)
        {
            unitsPerSecond *= 10;
        }
        return true;
    }

    /// <summary>Interface Statistics Block (section 4.6): keeps isb_ifrecv and isb_ifdrop on the interface.</summary>
    private WireError ReadInterfaceStatistics(ReadOnlySpan<byte> body)
    {
        if (body.Length < 12)
        {
            return WireError.BadFormat;
        }
        uint id = U32(body);
        if (id >= (uint)_interfaces.Count)
        {
            return WireError.BadFormat;
        }
        CaptureInterface target = _interfaces[(int)id];
        for (int p = 12; p + 4 <= body.Length;)
        {
            ushort code = U16(body[p..]);
            int length = U16(body[(p + 2)..]);
            p += 4;
            if (code == OptionEnd)
            {
                break;
            }
            if (length > body.Length - p)
            {
                return WireError.BadOptionLength;
            }
            ReadOnlySpan<byte> value = body.Slice(p, length);
            p += CaptureStreams.Pad4(length);
            if (code is OptionIsbIfRecv or OptionIsbIfDrop or OptionIsbFilterAccept or OptionIsbUsrDeliv)
            {
                if (length < 8)
                {
                    return WireError.BadOptionLength;
                }
                ulong count = IsBigEndian ? BinaryPrimitives.ReadUInt64BigEndian(value) : BinaryPrimitives.ReadUInt64LittleEndian(value);
                switch (code)
                {
                    case OptionIsbIfRecv:
                        target.ReceivedPackets = count;
                        break;
                    case OptionIsbIfDrop:
                        target.DroppedPackets = count;
                        break;
                    case OptionIsbFilterAccept:
                        target.FilterAcceptedPackets = count;
                        break;
                    default:
                        target.DeliveredPackets = count;
                        break;
                }
            }
        }
        return WireError.Ok;
    }

    /// <summary>Enhanced Packet Block (section 4.3) or the obsolete Packet Block (appendix A), whose id is 16 bits followed by a drop count.</summary>
    private WireError ReadPacket(ReadOnlySpan<byte> body, bool obsolete, out CaptureRecord record)
    {
        record = default;
        const int dataOffset = 20;
        if (body.Length < dataOffset)
        {
            return WireError.BadFormat;
        }
        uint id = obsolete ? U16(body) : U32(body);
        uint high = U32(body[4..]);
        uint low = U32(body[8..]);
        uint captured = U32(body[12..]);
        uint original = U32(body[16..]);
        if (id >= (uint)_interfaces.Count || captured > (uint)(body.Length - dataOffset) || original > int.MaxValue)
        {
            return WireError.BadFormat;
        }
        CaptureInterface source = _interfaces[(int)id];
        long nanos = CaptureStreams.ToNanos(((ulong)high << 32) | low, source.TimestampUnitsPerSecond, source.TimestampOffsetSeconds);
        uint flags = 0;
        Memory<byte> comment = default;
        if (!obsolete)
        {
            // Options after the padded data: epb_flags and the first opt_comment are kept; the rest (and any malformed tail) are ignored.
            int p = dataOffset + CaptureStreams.Pad4((int)captured);
            while (p + 4 <= body.Length)
            {
                ushort code = U16(body[p..]);
                int length = U16(body[(p + 2)..]);
                p += 4;
                if (code == OptionEnd || length > body.Length - p)
                {
                    break;
                }
                if (code == OptionEpbFlags && length == 4)
                {
                    flags = U32(body[p..]);
                }
                else if (code == OptionComment && comment.IsEmpty)
                {
                    comment = _buffer.AsMemory(p, length);
                }
                p += CaptureStreams.Pad4(length);
            }
        }
        record = new CaptureRecord(nanos, (int)id, source.LinkType, (int)original, _buffer.AsMemory(dataOffset, (int)captured)) { Flags = flags, CommentBytes = comment };
        return WireError.Ok;
    }

    /// <summary>Simple Packet Block (section 4.4): interface 0, no timestamp, captured length implied by the block.</summary>
    private WireError ReadSimplePacket(ReadOnlySpan<byte> body, out CaptureRecord record)
    {
        record = default;
        const int dataOffset = 4;
        if (body.Length < dataOffset || _interfaces.Count == 0)
        {
            return WireError.BadFormat;
        }
        uint original = U32(body);
        if (original > int.MaxValue)
        {
            return WireError.BadFormat;
        }
        CaptureInterface source = _interfaces[0];
        int captured = Math.Min((int)original, body.Length - dataOffset);
        if (source.SnapLengthBytes > 0)
        {
            captured = Math.Min(captured, source.SnapLengthBytes);
        }
        record = new CaptureRecord(0, 0, source.LinkType, (int)original, _buffer.AsMemory(dataOffset, captured));
        return WireError.Ok;
    }

    private bool Fail(WireError what, out WireError error)
    {
        _finished = true;
        error = what;
        return false;
    }

    private ushort U16(ReadOnlySpan<byte> b) =>
        IsBigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private uint U32(ReadOnlySpan<byte> b) =>
        IsBigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
