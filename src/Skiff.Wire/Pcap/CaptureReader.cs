using System.Buffers.Binary;

namespace Skiff.Wire.Pcap;

/// <summary>Opens a capture file of either format, recognised by its first four bytes.</summary>
public static class CaptureReader
{
    /// <summary>
    /// The format the first four bytes of a file announce: <see cref="CaptureFormat.Pcap"/> for the four pcap magics
    /// (micro/nanoseconds, either byte order), <see cref="CaptureFormat.PcapNg"/> for a Section Header Block type,
    /// otherwise <see cref="CaptureFormat.Unknown"/> (also for fewer than four bytes).
    /// </summary>
    public static CaptureFormat Sniff(ReadOnlySpan<byte> firstBytes)
    {
        if (firstBytes.Length < 4)
        {
            return CaptureFormat.Unknown;
        }
        return BinaryPrimitives.ReadUInt32LittleEndian(firstBytes) switch
        {
            PcapReader.MagicMicros or PcapReader.MagicNanos or 0xD4C3_B2A1 or 0x4D3C_B2A1 => CaptureFormat.Pcap,
            PcapNgReader.SectionHeaderBlockType => CaptureFormat.PcapNg,
            _ => CaptureFormat.Unknown,
        };
    }

    /// <summary>
    /// Reads the file header from the current position of <paramref name="stream"/> (which need not be seekable)
    /// and returns a reader for its format. Returns <see cref="WireError.Ok"/> and the reader, or
    /// <see cref="WireError.BadMagic"/> (not a capture file), <see cref="WireError.Truncated"/>,
    /// <see cref="WireError.BadFormat"/> or <see cref="WireError.BadVersion"/> and null. Never throws on file
    /// content. On failure the stream is left to the caller; on success the reader owns it unless
    /// <paramref name="leaveOpen"/>.
    /// </summary>
    public static WireError TryOpen(Stream stream, out ICaptureReader? reader, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        reader = null;
        Span<byte> magic = stackalloc byte[4];
        if (CaptureStreams.ReadAtMost(stream, magic) < 4)
        {
            return WireError.Truncated;
        }
        WireError error;
        switch (Sniff(magic))
        {
            case CaptureFormat.Pcap:
                error = PcapReader.TryOpenAfterMagic(stream, magic, leaveOpen, out PcapReader? pcap);
                reader = pcap;
                return error;
            case CaptureFormat.PcapNg:
                error = PcapNgReader.TryOpenAfterType(stream, magic, leaveOpen, out PcapNgReader? pcapng);
                reader = pcapng;
                return error;
            default:
                return WireError.BadMagic;
        }
    }

    /// <summary>
    /// Like <see cref="TryOpen"/> but throws <see cref="InvalidDataException"/> with a sentence saying what is wrong
    /// when the stream does not start with a capture file it can read. For callers that treat a bad file as a bug.
    /// </summary>
    public static ICaptureReader Open(Stream stream, bool leaveOpen = false)
    {
        WireError error = TryOpen(stream, out ICaptureReader? reader, leaveOpen);
        return reader ?? throw new InvalidDataException(DescribeOpenError(error));
    }

    /// <summary>
    /// Opens the file at <paramref name="path"/> (I/O failures such as a missing file throw as usual) and reads its
    /// header as <see cref="TryOpen"/> does. The file is closed again when the header cannot be read.
    /// </summary>
    public static WireError TryOpenFile(string path, out ICaptureReader? reader)
    {
        FileStream file = new(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024);
        WireError error = TryOpen(file, out reader);
        if (reader is null)
        {
            file.Dispose();
        }
        return error;
    }

    /// <summary>A user-facing sentence for an error from <see cref="TryOpen"/>, saying what to do.</summary>
    public static string DescribeOpenError(WireError error) => error switch
    {
        WireError.Ok => "The capture file opened.",
        WireError.BadMagic => "This is not a pcap or pcapng capture file (its first bytes are not a known magic number); give a file written by tcpdump, Wireshark or Skiff.",
        WireError.Truncated => "The capture file ends inside its header; it is empty or was cut short. Check that the capture finished writing.",
        WireError.BadVersion => "The capture file uses a format version this reader does not know (pcap 2.x and pcapng 1.x are supported); convert it with editcap.",
        WireError.BadFormat => "The capture file's header is malformed (impossible block length); the file is damaged. Try repairing it with pcapfix.",
        _ => $"The capture file cannot be read ({error.Describe()}).",
    };
}
