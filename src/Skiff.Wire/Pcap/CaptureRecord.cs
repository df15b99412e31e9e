namespace Skiff.Wire.Pcap;

/// <summary>
/// One captured frame as a reader returns it. The bytes live in the reader's reused buffer: they are valid
/// until the next call to <see cref="ICaptureReader.TryReadNext"/> or until the reader is disposed, and the
/// caller may parse (and modify) them in place. Copy them to keep them.
/// </summary>
public readonly struct CaptureRecord
{
    /// <summary>Creates a record; <paramref name="bytes"/> is not copied.</summary>
    public CaptureRecord(long timestampNanos, int interfaceId, LinkType linkType, int originalLength, Memory<byte> bytes)
    {
        TimestampNanos = timestampNanos;
        InterfaceId = interfaceId;
        LinkType = linkType;
        OriginalLength = originalLength;
        Bytes = bytes;
    }

    /// <summary>
    /// When the frame was captured, in nanoseconds since the Unix epoch (1970-01-01T00:00:00Z). Files with
    /// microsecond resolution give multiples of 1000. A pcapng Simple Packet Block has no time: 0.
    /// </summary>
    public long TimestampNanos { get; }

    /// <summary>The capturing interface: an index into <see cref="ICaptureReader.Interfaces"/>; always 0 for classic pcap.</summary>
    public int InterfaceId { get; }

    /// <summary>The link-layer type of <see cref="Bytes"/>.</summary>
    public LinkType LinkType { get; }

    /// <summary>The frame's length on the wire. Larger than <see cref="CapturedLength"/> when the capture was cut at the snap length.</summary>
    public int OriginalLength { get; }

    /// <summary>A pcapng Enhanced Packet Block's epb_flags (bits 0-1: 1 inbound, 2 outbound); 0 when absent or classic pcap.</summary>
    public uint Flags { get; init; }

    /// <summary>The packet's first opt_comment as UTF-8 bytes (reader-owned, valid until the next read); empty when absent.</summary>
    public Memory<byte> CommentBytes { get; init; }

    /// <summary>The packet's first comment (allocates), or null when it has none.</summary>
    public string? Comment => CommentBytes.IsEmpty ? null : System.Text.Encoding.UTF8.GetString(CommentBytes.Span);

    /// <summary>The captured bytes (reader-owned, valid until the next read).</summary>
    public Memory<byte> Bytes { get; }

    /// <summary>The captured bytes as a span (reader-owned, valid until the next read).</summary>
    public Span<byte> Data => Bytes.Span;

    /// <summary>Number of bytes captured.</summary>
    public int CapturedLength => Bytes.Length;

    /// <summary>True when fewer bytes were captured than were on the wire (snap length).</summary>
    public bool IsSnapped => OriginalLength > Bytes.Length;

    /// <summary>The timestamp as a <see cref="DateTimeOffset"/> in UTC (100 ns precision).</summary>
    public DateTimeOffset Time => DateTimeOffset.UnixEpoch.AddTicks(TimestampNanos / 100);
}
