using System.Runtime.CompilerServices;

namespace Skiff;

/// <summary>
/// One frame slot of a <see cref="PacketPool"/> plus its metadata (DPDK's <c>rte_mbuf</c>, the kernel's
/// <c>sk_buff</c> without the allocation). The bytes live in the pool's pinned native slab; the data
/// window <c>[DataOffset, DataOffset + Length)</c> moves inside the frame as headers are added or stripped.
/// </summary>
/// <remarks>
/// <para>Every <see cref="PacketBuffer"/> object is created once, with its pool, and reused: holding one
/// never allocates. A buffer has one owner at a time; ownership moves by hand-off (a device burst, a
/// queue) and ends with <see cref="Free"/>. Using a buffer after freeing it is a bug that the pool
/// detects when the buffer is freed again.</para>
/// <para><c>Try</c> methods never throw and leave the buffer unchanged when they return false.</para>
/// <para>Not thread-safe: only its owner touches it.</para>
/// </remarks>
public sealed unsafe class PacketBuffer
{
    private readonly byte* _frame;
    private int _dataOffset;
    private int _length;
    internal int _state; // 0 = free in pool, 1 = owned by someone (PacketPool flips it)

    internal PacketBuffer(PacketPool pool, int index, byte* frame)
    {
        Pool = pool;
        Index = index;
        _frame = frame;
        _dataOffset = pool.HeadroomBytes;
    }

    /// <summary>The pool this frame belongs to.</summary>
    public PacketPool Pool { get; }

    /// <summary>The frame's index in its pool (AF_XDP UMEM address = index * frame size).</summary>
    public int Index { get; }

    /// <summary>Size of the whole frame slot.</summary>
    public int FrameBytes => Pool.FrameBytes;

    /// <summary>Offset of the first data byte from the start of the frame (= headroom left).</summary>
    public int DataOffset => _dataOffset;

    /// <summary>Number of data bytes.</summary>
    public int Length => _length;

    /// <summary>Bytes free in front of the data, for headers to be prepended.</summary>
    public int HeadroomBytes => _dataOffset;

    /// <summary>Bytes free behind the data.</summary>
    public int TailroomBytes => Pool.FrameBytes - _dataOffset - _length;

    /// <summary>The receiving port (device) number; free for the application's use on transmit.</summary>
    public ushort Port { get; set; }

    /// <summary>The device queue the frame arrived on.</summary>
    public ushort Queue { get; set; }

    /// <summary>The flow hash: on receive the Toeplitz RSS hash if the device or the engine computed one; on transmit the sending TCP socket's hash (Linux's sk_txhash, <see cref="IEgressBacklog"/>); 0 otherwise.</summary>
    public uint RssHash { get; set; }

    /// <summary>When the frame was received (the caller's clock).</summary>
    public Instant Timestamp { get; set; }

    /// <summary>Checksums the device already verified or left partial.</summary>
    public ChecksumState Checksum { get; set; }

    /// <summary>
    /// Where the L3 header starts, in bytes from the start of <see cref="Data"/>; 0 when the frame is not classified
    /// (see <see cref="Classification"/>). Set once by the engine's classification on receive (or by whoever builds a
    /// frame), so that hooks, filters and the QDisc do not parse the headers again.
    /// </summary>
    public ushort L3Offset { get; set; }

    /// <summary>Where the L4 header starts, in bytes from the start of <see cref="Data"/>; 0 when unknown (not IP, a later fragment, or not classified).</summary>
    public ushort L4Offset { get; set; }

    /// <summary>What classification found: the L3 and L4 protocols, or <see cref="PacketClass.None"/> when it has not run.</summary>
    public PacketClass Classification { get; set; }

    /// <summary>A mark set by a hook, a socket or a classifier (Linux's skb->mark): free for policy, carried to the egress stage.</summary>
    public uint Mark { get; set; }

    /// <summary>The priority band for the egress stage (Linux's skb->priority, 0 = best effort); set by a socket, a hook or a classifier.</summary>
    public byte Priority { get; set; }

    /// <summary>The data bytes.</summary>
    public Span<byte> Data
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(_frame + _dataOffset, _length);
    }

    /// <summary>
    /// The data bytes as <see cref="Memory{T}"/> over the pool's pinned slab, for zero-copy hand-off to APIs that take
    /// memory (a <see cref="System.Buffers.ReadOnlySequence{T}"/>, a pipe). Never allocates after the pool's first call.
    /// Valid, like <see cref="Data"/>, while the caller owns the buffer and its window does not move.
    /// </summary>
    public Memory<byte> DataMemory => Pool.MemoryOf(this, _dataOffset, _length);

    /// <summary>The whole frame slot, headroom and tailroom included.</summary>
    public Span<byte> Frame => new(_frame, Pool.FrameBytes);

    /// <summary>Pointer to the first data byte. Valid while the caller owns the buffer; no bounds checks.</summary>
    public byte* DangerousDataPointer => _frame + _dataOffset;

    /// <summary>Pointer to the start of the frame slot.</summary>
    public byte* DangerousFramePointer => _frame;

    /// <summary>Grows the data at the front by <paramref name="bytes"/> (into the headroom). False if there is not enough headroom.</summary>
    public bool TryPrepend(int bytes)
    {
        if ((uint)bytes > (uint)_dataOffset)
        {
            return false;
        }
        _dataOffset -= bytes;
        _length += bytes;
        return true;
    }

    /// <summary>Grows the data at the back by <paramref name="bytes"/> (into the tailroom). False if there is not enough tailroom.</summary>
    public bool TryAppend(int bytes)
    {
        if ((uint)bytes > (uint)TailroomBytes)
        {
            return false;
        }
        _length += bytes;
        return true;
    }

    /// <summary>Removes <paramref name="bytes"/> from the front of the data (strips a header). False if the data is shorter.</summary>
    public bool TryAdjust(int bytes)
    {
        if ((uint)bytes > (uint)_length)
        {
            return false;
        }
        _dataOffset += bytes;
        _length -= bytes;
        return true;
    }

    /// <summary>Removes <paramref name="bytes"/> from the back of the data (strips padding or a trailer). False if the data is shorter.</summary>
    public bool TryTrim(int bytes)
    {
        if ((uint)bytes > (uint)_length)
        {
            return false;
        }
        _length -= bytes;
        return true;
    }

    /// <summary>Places the data window at <paramref name="offset"/> with <paramref name="length"/> bytes. False (unchanged) if it would not fit in the frame.</summary>
    public bool TrySetData(int offset, int length)
    {
        if (offset < 0 || length < 0 || (long)offset + length > Pool.FrameBytes)
        {
            return false;
        }
        _dataOffset = offset;
        _length = length;
        return true;
    }

    /// <summary>Sets the data length, keeping the offset. False (unchanged) if it would not fit in the frame.</summary>
    public bool TrySetLength(int length) => TrySetData(_dataOffset, length);

    /// <summary>Empties the buffer: default headroom, no data, metadata cleared.</summary>
    public void Reset()
    {
        _dataOffset = Pool.HeadroomBytes;
        _length = 0;
        ClearMetadata();
    }

    /// <summary>
    /// Clears the metadata (port, queue, RSS hash, timestamp, checksum state, classification, mark, priority) and keeps
    /// the data: for a received buffer reused to send, so what the receiving device said about it does not travel with
    /// the new frame.
    /// </summary>
    public void ClearMetadata()
    {
        Port = 0;
        Queue = 0;
        RssHash = 0;
        Timestamp = default;
        Checksum = ChecksumState.None;
        L3Offset = 0;
        L4Offset = 0;
        Classification = PacketClass.None;
        Mark = 0;
        Priority = 0;
    }

    /// <summary>Copies data and metadata into <paramref name="destination"/> (same data offset where it fits). False if the data does not fit.</summary>
    public bool TryCopyTo(PacketBuffer destination)
    {
        int offset = Math.Min(_dataOffset, Math.Max(0, destination.FrameBytes - _length));
        if (!destination.TrySetData(offset, _length))
        {
            return false;
        }
        Data.CopyTo(destination.Data);
        destination.Port = Port;
        destination.Queue = Queue;
        destination.RssHash = RssHash;
        destination.Timestamp = Timestamp;
        destination.Checksum = Checksum;
        destination.L3Offset = L3Offset;
        destination.L4Offset = L4Offset;
        destination.Classification = Classification;
        destination.Mark = Mark;
        destination.Priority = Priority;
        return true;
    }

    /// <summary>Returns the frame to its pool. The caller must not touch the buffer afterwards.</summary>
    public void Free() => Pool.Free(this);

    /// <summary>The frame's index, length and data offset, e.g. "frame 7: 60 bytes at 256", for debugging. Allocates.</summary>
    public override string ToString() => $"frame {Index}: {_length} bytes at {_dataOffset}";
}
