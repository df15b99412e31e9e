using System.Buffers.Binary;
using System.Text;

namespace Skiff.Wire.Pcap;

/// <summary>
/// Writes a pcapng file (draft-ietf-opsawg-pcapng) in little-endian order: a Section Header Block at once, an
/// Interface Description Block per <see cref="AddInterface(LinkType, string?, int, bool)"/>, an Enhanced Packet Block per frame and, on
/// <see cref="Dispose"/>, an Interface Statistics Block per interface with isb_ifrecv and isb_ifdrop.
/// </summary>
/// <remarks>
/// Writing a frame does not allocate: one reused 28-byte block header, the caller's bytes, padding and the
/// trailing length go straight to the stream. Not thread-safe. Disposing writes the statistics, flushes,
/// and closes the stream unless <c>leaveOpen</c>.
/// </remarks>
public sealed class PcapNgWriter : IDisposable
{
    private const int PacketHeaderBytes = 28;

    /// <summary>epb_flags direction bits (pcapng 4.3.1): the frame was received.</summary>
    public const uint FlagInbound = 1;

    /// <summary>epb_flags direction bits: the frame was sent.</summary>
    public const uint FlagOutbound = 2;

    private readonly Stream _stream;
    private readonly bool _leaveOpen;
    private readonly byte[] _blockHeader = new byte[PacketHeaderBytes];
    private readonly List<InterfaceState> _interfaces = new(4);
    private bool _disposed;

    /// <summary>
    /// Starts a file on <paramref name="stream"/> by writing a Section Header Block (version 1.0, section length
    /// unknown), naming <paramref name="application"/> in shb_userappl when given.
    /// </summary>
    public PcapNgWriter(Stream stream, string? application = "skiff", bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _leaveOpen = leaveOpen;
        byte[]? app = application is null ? null : Encoding.UTF8.GetBytes(application);
        int optionBytes = app is null ? 0 : 4 + CaptureStreams.Pad4(app.Length) + 4;
        int length = 28 + optionBytes;
        Span<byte> block = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(block, PcapNgReader.SectionHeaderBlockType);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(block[8..], PcapNgReader.ByteOrderMagic);
        BinaryPrimitives.WriteUInt16LittleEndian(block[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(block[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(block[16..], -1);
        _stream.Write(block);
        if (app is not null)
        {
            WriteOption(4, app); // shb_userappl
            WriteOptionEnd();
        }
        WriteU32((uint)length);
    }

    /// <summary>Number of interfaces added.</summary>
    public int InterfaceCount => _interfaces.Count;

    /// <summary>Frames written so far, all interfaces.</summary>
    public long FramesWritten { get; private set; }

    /// <summary>
    /// Describes a capturing interface (writes an Interface Description Block) and returns its id, to pass to
    /// <see cref="Write(ReadOnlySpan{byte}, long, int, int)"/>. <paramref name="snapLengthBytes"/> 0 means no limit;
    /// <paramref name="nanosecond"/> sets if_tsresol to 9 (else the default microseconds, if_tsresol 6).
    /// </summary>
    public int AddInterface(LinkType linkType = LinkType.Ethernet, string? name = null, int snapLengthBytes = 0, bool nanosecond = false) =>
        AddInterface(linkType, name, snapLengthBytes, nanosecond, description: null);

    /// <summary>
    /// As <see cref="AddInterface(LinkType, string?, int, bool)"/>, with an if_description (shown by Wireshark and
    /// <c>capinfos</c>) when <paramref name="description"/> is given.
    /// </summary>
    public int AddInterface(LinkType linkType, string? name, int snapLengthBytes, bool nanosecond, string? description)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(snapLengthBytes);
        byte[]? nameBytes = name is null ? null : Encoding.UTF8.GetBytes(name);
        byte[]? descriptionBytes = description is null ? null : Encoding.UTF8.GetBytes(description);
        int optionBytes = 4 + 4 + (nameBytes is null ? 0 : 4 + CaptureStreams.Pad4(nameBytes.Length))
            + (descriptionBytes is null ? 0 : 4 + CaptureStreams.Pad4(descriptionBytes.Length)) + 4;
        int length = 20 + optionBytes;
        Span<byte> block = stackalloc byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(block, PcapNgReader.InterfaceDescriptionBlockType);
        BinaryPrimitives.WriteUInt32LittleEndian(block[4..], (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(block[8..], (ushort)linkType);
        BinaryPrimitives.WriteUInt16LittleEndian(block[10..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(block[12..], (uint)snapLengthBytes);
        _stream.Write(block);
        if (nameBytes is not null)
        {
            WriteOption(PcapNgReader.OptionIfName, nameBytes);
        }
        if (descriptionBytes is not null)
        {
            WriteOption(PcapNgReader.OptionIfDescription, descriptionBytes);
        }
        ReadOnlySpan<byte> resolution = [nanosecond ? (byte)9 : (byte)6];
        WriteOption(PcapNgReader.OptionIfTsResol, resolution);
        WriteOptionEnd();
        WriteU32((uint)length);
        _interfaces.Add(new InterfaceState(snapLengthBytes, nanosecond));
        return _interfaces.Count - 1;
    }

    /// <summary>
    /// Appends one frame as an Enhanced Packet Block on interface <paramref name="interfaceId"/> (from
    /// <see cref="AddInterface(LinkType, string?, int, bool)"/>; interface 0 is added, as Ethernet, if none was), captured at
    /// <paramref name="timestampNanos"/> (nanoseconds since the Unix epoch, not negative). Frames longer than the
    /// interface's snap length are cut to it. <paramref name="originalLength"/> is the length on the wire when
    /// <paramref name="frame"/> is already cut short; -1 means <c>frame.Length</c>.
    /// </summary>
    public void Write(ReadOnlySpan<byte> frame, long timestampNanos, int interfaceId = 0, int originalLength = -1) =>
        Write(frame, timestampNanos, interfaceId, originalLength, flags: 0, comment: default);

    /// <summary>
    /// As <see cref="Write(ReadOnlySpan{byte}, long, int, int)"/>, with the Enhanced Packet Block's options: epb_flags
    /// when <paramref name="flags"/> is not 0 (bits 0-1 the direction: <see cref="FlagInbound"/>, <see cref="FlagOutbound"/>)
    /// and an opt_comment of the UTF-8 bytes <paramref name="comment"/> when not empty. Allocates nothing.
    /// </summary>
    public void Write(ReadOnlySpan<byte> frame, long timestampNanos, int interfaceId, int originalLength, uint flags, ReadOnlySpan<byte> comment)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(timestampNanos);
        if (interfaceId == 0 && _interfaces.Count == 0)
        {
            AddInterface();
        }
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)interfaceId, (uint)_interfaces.Count, nameof(interfaceId));
        if (originalLength < 0)
        {
            originalLength = frame.Length;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(originalLength, frame.Length);
        InterfaceState state = _interfaces[interfaceId];
        int captured = state.SnapLengthBytes > 0 ? Math.Min(frame.Length, state.SnapLengthBytes) : frame.Length;
        ulong ticks = state.Nanosecond ? (ulong)timestampNanos : (ulong)(timestampNanos / 1000);
        int padded = CaptureStreams.Pad4(captured);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(comment.Length, ushort.MaxValue - 3, nameof(comment));
        int optionBytes = (flags != 0 ? 8 : 0) + (comment.IsEmpty ? 0 : 4 + CaptureStreams.Pad4(comment.Length));
        if (optionBytes > 0)
        {
            optionBytes += 4; // opt_endofopt
        }
        int length = PacketHeaderBytes + padded + optionBytes + 4;
        Span<byte> h = _blockHeader;
        BinaryPrimitives.WriteUInt32LittleEndian(h, PcapNgReader.EnhancedPacketBlockType);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)(ticks >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)ticks);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)captured);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], (uint)originalLength);
        _stream.Write(h);
        _stream.Write(frame[..captured]);
        _stream.Write(CaptureStreams.Padding[..(padded - captured)]);
        if (optionBytes > 0)
        {
            if (flags != 0)
            {
                Span<byte> f = stackalloc byte[4];
                BinaryPrimitives.WriteUInt32LittleEndian(f, flags);
                WriteOption(PcapNgReader.OptionEpbFlags, f);
            }
            if (!comment.IsEmpty)
            {
                WriteOption(PcapNgReader.OptionComment, comment);
            }
            WriteOptionEnd();
        }
        WriteU32((uint)length);
        state.Written++;
        state.LastTicks = ticks;
        FramesWritten++;
    }

    /// <summary>Appends the data of <paramref name="packet"/> (not taking ownership) with an explicit time, as <see cref="Write(ReadOnlySpan{byte}, long, int, int)"/>.</summary>
    public void Write(PacketBuffer packet, long timestampNanos, int interfaceId = 0)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Write(packet.Data, timestampNanos, interfaceId);
    }

    /// <summary>
    /// Appends the data of <paramref name="packet"/> (not taking ownership), timed by its <see cref="PacketBuffer.Timestamp"/>
    /// read as microseconds since the Unix epoch: wall-clock times when the engine's clock counts from the epoch,
    /// relative times otherwise.
    /// </summary>
    public void Write(PacketBuffer packet, int interfaceId = 0)
    {
        ArgumentNullException.ThrowIfNull(packet);
        Write(packet.Data, packet.Timestamp.TotalMicros * 1000, interfaceId);
    }

    /// <summary>
    /// Counts frames the interface dropped (for lack of buffers, a full ring): reported as isb_ifdrop, and added
    /// to isb_ifrecv with the frames written, in the statistics written on <see cref="Dispose"/>.
    /// </summary>
    public void AddDrops(int interfaceId, long count)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)interfaceId, (uint)_interfaces.Count, nameof(interfaceId));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _interfaces[interfaceId].Dropped += count;
    }

    /// <summary>
    /// Gives the statistics <see cref="Dispose"/> writes for interface <paramref name="interfaceId"/> instead of the
    /// written and dropped counts: isb_ifrecv <paramref name="received"/> (frames the capture saw), isb_ifdrop
    /// <paramref name="dropped"/> (lost for lack of room), isb_filteraccept <paramref name="accepted"/> (frames the filter
    /// kept) and isb_usrdeliv <paramref name="delivered"/> (frames written to the file).
    /// </summary>
    public void SetStatistics(int interfaceId, long received, long dropped, long accepted, long delivered)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)interfaceId, (uint)_interfaces.Count, nameof(interfaceId));
        _interfaces[interfaceId].Statistics = [received, dropped, accepted, delivered];
    }

    /// <summary>Flushes the stream.</summary>
    public void Flush() => _stream.Flush();

    /// <summary>
    /// Writes an Interface Statistics Block per interface (timestamped with that interface's last frame;
    /// isb_ifrecv = written + dropped, isb_ifdrop = dropped), flushes, and closes the stream unless leaveOpen.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Span<byte> block = stackalloc byte[76]; // 8 header + 12 (id, time) + up to 4 x (4 + 8) options + 4 end + 4 trailer
        for (int id = 0; id < _interfaces.Count; id++)
        {
            InterfaceState state = _interfaces[id];
            long[] stats = state.Statistics ?? [state.Written + state.Dropped, state.Dropped];
            int length = 28 + 12 * stats.Length;
            Span<byte> b = block[..length];
            b.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(b, PcapNgReader.InterfaceStatisticsBlockType);
            BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
            BinaryPrimitives.WriteUInt32LittleEndian(b[8..], (uint)id);
            BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)(state.LastTicks >> 32));
            BinaryPrimitives.WriteUInt32LittleEndian(b[16..], (uint)state.LastTicks);
            ReadOnlySpan<ushort> codes = [PcapNgReader.OptionIsbIfRecv, PcapNgReader.OptionIsbIfDrop, PcapNgReader.OptionIsbFilterAccept, PcapNgReader.OptionIsbUsrDeliv];
            for (int i = 0; i < stats.Length; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(b[(20 + 12 * i)..], codes[i]);
                BinaryPrimitives.WriteUInt16LittleEndian(b[(22 + 12 * i)..], 8);
                BinaryPrimitives.WriteUInt64LittleEndian(b[(24 + 12 * i)..], (ulong)stats[i]);
            }
            // then opt_endofopt (zeros)
            BinaryPrimitives.WriteUInt32LittleEndian(b[(length - 4)..], (uint)length);
            _stream.Write(b);
        }
        _stream.Flush();
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }

    private void WriteOption(ushort code, ReadOnlySpan<byte> value)
    {
        Span<byte> h = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(h, code);
        BinaryPrimitives.WriteUInt16LittleEndian(h[2..], (ushort)value.Length);
        _stream.Write(h);
        _stream.Write(value);
        _stream.Write(CaptureStreams.Padding[..(CaptureStreams.Pad4(value.Length) - value.Length)]);
    }

    private void WriteOptionEnd() => WriteU32(0);

    private void WriteU32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _stream.Write(b);
    }

    private sealed class InterfaceState(int snapLengthBytes, bool nanosecond)
    {
        public int SnapLengthBytes { get; } = snapLengthBytes;
        public bool Nanosecond { get; } = nanosecond;
        public long Written { get; set; }
        public long Dropped { get; set; }
        public ulong LastTicks { get; set; }
        public long[]? Statistics { get; set; }
    }
}
