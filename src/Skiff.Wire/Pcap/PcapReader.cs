using System.Buffers.Binary;

namespace Skiff.Wire.Pcap;

/// <summary>
/// Reads a classic libpcap file (https://www.tcpdump.org/manpages/pcap-savefile.5.html, draft-ietf-opsawg-pcap):
/// a 24-byte global header, then per frame a 16-byte record header and the captured bytes. Both byte orders,
/// microsecond (magic 0xa1b2c3d4) and nanosecond (0xa1b23c4d) timestamps.
/// </summary>
/// <remarks>See <see cref="ICaptureReader"/> for the reading contract. Not thread-safe.</remarks>
public sealed class PcapReader : ICaptureReader
{
    /// <summary>The magic number of a microsecond-resolution file, as written in the file's own byte order.</summary>
    public const uint MagicMicros = 0xA1B2_C3D4;

    /// <summary>The magic number of a nanosecond-resolution file, as written in the file's own byte order.</summary>
    public const uint MagicNanos = 0xA1B2_3C4D;

    /// <summary>Size of the global header.</summary>
    public const int FileHeaderBytes = 24;

    /// <summary>Size of each record header.</summary>
    public const int RecordHeaderBytes = 16;

    // libpcap's MAXIMUM_SNAPLEN: records larger than max(snaplen, this) are treated as corrupt.
    private const int LibpcapMaxSnapLengthBytes = 262_144;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _recordHeader = new byte[RecordHeaderBytes];
    private readonly CaptureInterface[] _interfaces;
    private readonly int _maxRecordBytes;
    private byte[] _buffer = new byte[CaptureStreams.InitialBufferBytes];
    private bool _finished;

    private PcapReader(Stream stream, bool leaveOpen, bool bigEndian, bool nanos, ushort major, ushort minor, int snapLengthBytes, LinkType linkType)
    {
        _stream = stream;
        _leaveOpen = leaveOpen;
        IsBigEndian = bigEndian;
        IsNanosecond = nanos;
        VersionMajor = major;
        VersionMinor = minor;
        _interfaces = [new CaptureInterface(0, linkType, snapLengthBytes, nanos ? 1_000_000_000 : 1_000_000)];
        _maxRecordBytes = Math.Clamp(snapLengthBytes, LibpcapMaxSnapLengthBytes, CaptureStreams.MaxRecordBytes);
    }

    /// <summary>Always <see cref="CaptureFormat.Pcap"/>.</summary>
    public CaptureFormat Format => CaptureFormat.Pcap;

    /// <summary>True when the file was written big-endian (magic read as 0xd4c3b2a1 or 0x4d3cb2a1); the reader swaps for you.</summary>
    public bool IsBigEndian { get; }

    /// <summary>True for nanosecond timestamps (magic 0xa1b23c4d), false for microseconds.</summary>
    public bool IsNanosecond { get; }

    /// <summary>The file's format version (2.4 in every file written since 1998).</summary>
    public ushort VersionMajor { get; }

    /// <summary>The file's minor format version.</summary>
    public ushort VersionMinor { get; }

    /// <summary>The link type of every frame in the file.</summary>
    public LinkType LinkType => _interfaces[0].LinkType;

    /// <summary>The snap length the file declares (0 if it declares none).</summary>
    public int SnapLengthBytes => _interfaces[0].SnapLengthBytes;

    /// <summary>The single interface of a classic pcap file (id 0), built from the global header.</summary>
    public IReadOnlyList<CaptureInterface> Interfaces => _interfaces;

    /// <inheritdoc />
    public bool CanContinue => !_finished;

    /// <summary>
    /// Reads the global header from the start of <paramref name="stream"/>. Returns <see cref="WireError.Ok"/> and
    /// a reader, or <see cref="WireError.BadMagic"/> (not a pcap file), <see cref="WireError.Truncated"/>
    /// (shorter than the header) or <see cref="WireError.BadVersion"/> (major version other than 2) and null.
    /// On failure the stream is left to the caller.
    /// </summary>
    public static WireError TryOpen(Stream stream, out PcapReader? reader, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> magic = stackalloc byte[4];
        reader = null;
        if (CaptureStreams.ReadAtMost(stream, magic) < 4)
        {
            return WireError.Truncated;
        }
        return TryOpenAfterMagic(stream, magic, leaveOpen, out reader);
    }

    /// <summary>Continues opening after the factory has read the 4 magic bytes.</summary>
    internal static WireError TryOpenAfterMagic(Stream stream, ReadOnlySpan<byte> magicBytes, bool leaveOpen, out PcapReader? reader)
    {
        reader = null;
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(magicBytes);
        bool bigEndian;
        bool nanos;
        switch (magic)
        {
            case MagicMicros: bigEndian = false; nanos = false; break;
            case MagicNanos: bigEndian = false; nanos = true; break;
            case 0xD4C3_B2A1: bigEndian = true; nanos = false; break;
            case 0x4D3C_B2A1: bigEndian = true; nanos = true; break;
            default: return WireError.BadMagic;
        }
        Span<byte> header = stackalloc byte[FileHeaderBytes - 4];
        if (CaptureStreams.ReadAtMost(stream, header) < header.Length)
        {
            return WireError.Truncated;
        }
        ushort major = U16(header, bigEndian);
        ushort minor = U16(header[2..], bigEndian);
        if (major != 2)
        {
            return WireError.BadVersion;
        }
        // header[4..8] thiszone and [8..12] sigfigs are always 0 in practice and ignored, as by libpcap.
        uint snap = U32(header[12..], bigEndian);
        uint link = U32(header[16..], bigEndian);
        int snapLength = snap > int.MaxValue ? int.MaxValue : (int)snap;
        // The upper 16 bits of the link field carry FCS-length flags (pcap-savefile(5)); the type is the low 16.
        reader = new PcapReader(stream, leaveOpen, bigEndian, nanos, major, minor, snapLength, (LinkType)(ushort)link);
        return WireError.Ok;
    }

    /// <inheritdoc />
    public bool TryReadNext(out CaptureRecord record, out WireError error)
    {
        record = default;
        error = WireError.Ok;
        if (_finished)
        {
            return false;
        }
        int n = CaptureStreams.ReadAtMost(_stream, _recordHeader);
        if (n == 0)
        {
            _finished = true;
            return false;
        }
        if (n < RecordHeaderBytes)
        {
            return Fail(WireError.Truncated, out error);
        }
        ReadOnlySpan<byte> h = _recordHeader;
        uint seconds = U32(h, IsBigEndian);
        uint fraction = U32(h[4..], IsBigEndian);
        uint captured = U32(h[8..], IsBigEndian);
        uint original = U32(h[12..], IsBigEndian);
        if (captured > (uint)_maxRecordBytes)
        {
            // The length cannot be trusted, so neither can where the next record starts.
            return Fail(WireError.BadFormat, out error);
        }
        int length = (int)captured;
        CaptureStreams.EnsureCapacity(ref _buffer, length);
        if (CaptureStreams.ReadAtMost(_stream, _buffer.AsSpan(0, length)) < length)
        {
            return Fail(WireError.Truncated, out error);
        }
        if (original > int.MaxValue)
        {
            error = WireError.BadFormat;
            return false;
        }
        long nanos = seconds * 1_000_000_000L + (IsNanosecond ? fraction : fraction * 1000L);
        record = new CaptureRecord(nanos, 0, LinkType, (int)original, _buffer.AsMemory(0, length));
        return true;
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

    private bool Fail(WireError what, out WireError error)
    {
        _finished = true;
        error = what;
        return false;
    }

    private static ushort U16(ReadOnlySpan<byte> b, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private static uint U32(ReadOnlySpan<byte> b, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);
}
