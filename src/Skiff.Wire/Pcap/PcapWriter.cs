using System.Buffers.Binary;

namespace Skiff.Wire.Pcap;

/// <summary>
/// Writes a classic libpcap file (pcap-savefile(5)) in little-endian order, with microsecond (magic 0xa1b2c3d4,
/// the default) or nanosecond (0xa1b23c4d) timestamps. The global header is written by the constructor.
/// </summary>
/// <remarks>
/// Writing a frame does not allocate: one reused 16-byte header, then the caller's bytes straight to the stream.
/// Not thread-safe. Disposing flushes, and closes the stream unless <c>leaveOpen</c>.
/// </remarks>
public sealed class PcapWriter : IDisposable
{
    /// <summary>libpcap's default (and largest) snap length.</summary>
    public const int DefaultSnapLengthBytes = 262_144;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _recordHeader = new byte[PcapReader.RecordHeaderBytes];
    private bool _disposed;

    /// <summary>
    /// Starts a file on <paramref name="stream"/>: writes the 24-byte header at once. Frames longer than
    /// <paramref name="snapLengthBytes"/> (positive) are cut to it, with their original length recorded.
    /// </summary>
    public PcapWriter(Stream stream, LinkType linkType = LinkType.Ethernet, int snapLengthBytes = DefaultSnapLengthBytes, bool nanosecond = false, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(snapLengthBytes);
        _stream = stream;
        _leaveOpen = leaveOpen;
        LinkType = linkType;
        SnapLengthBytes = snapLengthBytes;
        IsNanosecond = nanosecond;
        Span<byte> header = stackalloc byte[PcapReader.FileHeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, nanosecond ? PcapReader.MagicNanos : PcapReader.MagicMicros);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(header[8..], 0);  // thiszone: always UTC
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0); // sigfigs: always 0
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)snapLengthBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (ushort)linkType);
        _stream.Write(header);
    }

    /// <summary>The link type declared in the header; every frame written must be of it.</summary>
    public LinkType LinkType { get; }

    /// <summary>Most bytes written per frame.</summary>
    public int SnapLengthBytes { get; }

    /// <summary>True for nanosecond timestamps.</summary>
    public bool IsNanosecond { get; }

    /// <summary>Frames written so far.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>
    /// Appends one frame captured at <paramref name="timestampNanos"/> (nanoseconds since the Unix epoch, from 0
    /// up to the year 2106; truncated to microseconds unless the file is nanosecond). <paramref name="originalLength"/>
    /// is the length on the wire when <paramref name="frame"/> is already cut short; -1 means <c>frame.Length</c>.
    /// Throws <see cref="ArgumentOutOfRangeException"/> for a time or length the format cannot hold.
    /// </summary>
    public void Write(ReadOnlySpan<byte> frame, long timestampNanos, int originalLength = -1)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(timestampNanos);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(timestampNanos / 1_000_000_000, (long)uint.MaxValue, nameof(timestampNanos));
        if (originalLength < 0)
        {
            originalLength = frame.Length;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, frame.Length);
        int captured = Math.Min(frame.Length, SnapLengthBytes);
        long fraction = timestampNanos % 1_000_000_000;
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader, (uint)(timestampNanos / 1_000_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(4), (uint)(IsNanosecond ? fraction : fraction / 1000));
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(8), (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(12), (uint)originalLength);
        _stream.Write(_recordHeader);
        _stream.Write(frame[..captured]);
        FramesWritten++;
    }

    /// <summary>Appends the data of <paramref name="packet"/> (not taking ownership) with an explicit time, as <see cref="Write(ReadOnlySpan{byte}, long, int)"/>.</summary>
    public void Write(PacketBuffer packet, long timestampNanos)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Write(packet.Data, timestampNanos);
    }

    /// <summary>
    /// Appends the data of <paramref name="packet"/> (not taking ownership), timed by its <see cref="PacketBuffer.Timestamp"/>
    /// read as microseconds since the Unix epoch: wall-clock times when the engine's clock counts from the epoch,
    /// relative times otherwise.
    /// </summary>
    public void Write(PacketBuffer packet)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Write(packet.Data, packet.Timestamp.TotalMicros * 1000);
    }

    /// <summary>Flushes the stream.</summary>
    public void Flush() => _stream.Flush();

    /// <summary>Flushes, then disposes the stream unless the writer was created with <c>leaveOpen</c>. Calling it again does nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stream.Flush();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
