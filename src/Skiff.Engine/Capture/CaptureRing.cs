using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Skiff.Engine.Capture;

/// <summary>
/// A bounded single-producer single-consumer ring of variable-length records in one pinned byte array: the engine
/// loop copies a frame's first bytes in with a header (<see cref="TryWrite"/>), the capture's thread reads them out
/// (<see cref="TryRead"/>, <see cref="Release"/>). No lock, syscall or allocation; a full ring refuses the record.
/// </summary>
/// <remarks>
/// A record is a 24-byte header (record bytes, captured length, wire length, port, point, cause, time in µs)
/// and the captured bytes, padded to 8. A record never wraps: when it does not fit before the end, the producer
/// writes a skip marker (record bytes -1) and starts again at offset 0. Positions are free-running 64-bit byte counts.
/// </remarks>
internal sealed unsafe class CaptureRing
{
    public const int HeaderBytes = 24;
    private const int SkipMarker = -1;

    private readonly byte[] _buffer;
    private readonly byte* _base;
    private readonly long _mask;
    private Positions _positions;

    public CaptureRing(int capacityBytes)
    {
        if (capacityBytes < 4096 || !int.IsPow2(capacityBytes))
        {
            throw new ArgumentOutOfRangeException(nameof(capacityBytes), capacityBytes, "A capture ring's size is a power of two of at least 4096 bytes.");
        }
        _buffer = GC.AllocateArray<byte>(capacityBytes, pinned: true);
        _base = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_buffer));
        _mask = capacityBytes - 1;
        Capacity = capacityBytes;
    }

    public int Capacity { get; }

    /// <summary>The largest captured length a record may have: half the ring less its header.</summary>
    public int MaxCapturedBytes => Capacity / 2 - HeaderBytes;

    /// <summary>Producer: copies <paramref name="captured"/> bytes at <paramref name="data"/> in; false when the ring has no room (nothing written).</summary>
    public bool TryWrite(byte* data, int captured, int wireLength, ushort port, byte point, byte cause, long micros)
    {
        int need = (HeaderBytes + captured + 7) & ~7;
        long tail = _positions.Tail;
        int offset = (int)(tail & _mask);
        int toEnd = Capacity - offset;
        long total = need <= toEnd ? need : toEnd + need;
        if (total > Capacity - (tail - _positions.ProducerCachedHead))
        {
            _positions.ProducerCachedHead = Volatile.Read(ref _positions.Head);
            if (total > Capacity - (tail - _positions.ProducerCachedHead))
            {
                return false;
            }
        }
        if (need > toEnd)
        {
            *(int*)(_base + offset) = SkipMarker; // toEnd is a multiple of 8: room for the marker
            tail += toEnd;
            offset = 0;
        }
        byte* record = _base + offset;
        *(int*)record = need;
        *(int*)(record + 4) = captured;
        *(int*)(record + 8) = wireLength;
        *(ushort*)(record + 12) = port;
        record[14] = point;
        record[15] = cause;
        *(long*)(record + 16) = micros;
        Buffer.MemoryCopy(data, record + HeaderBytes, captured, captured);
        Volatile.Write(ref _positions.Tail, tail + need);
        return true;
    }

    /// <summary>Consumer: the oldest record, if any; valid until <see cref="Release"/>.</summary>
    public bool TryRead(out CaptureRingRecord record)
    {
        long head = _positions.Head;
        while (true)
        {
            if (head == _positions.ConsumerCachedTail)
            {
                _positions.ConsumerCachedTail = Volatile.Read(ref _positions.Tail);
                if (head == _positions.ConsumerCachedTail)
                {
                    record = default;
                    return false;
                }
            }
            int offset = (int)(head & _mask);
            int bytes = BinaryPrimitives.ReadInt32LittleEndian(_buffer.AsSpan(offset));
            if (bytes == SkipMarker)
            {
                head += Capacity - offset;
                Volatile.Write(ref _positions.Head, head);
                continue;
            }
            ReadOnlySpan<byte> h = _buffer.AsSpan(offset, HeaderBytes);
            int captured = BinaryPrimitives.ReadInt32LittleEndian(h[4..]);
            record = new CaptureRingRecord(
                bytes,
                BinaryPrimitives.ReadInt32LittleEndian(h[8..]),
                BinaryPrimitives.ReadUInt16LittleEndian(h[12..]),
                h[14],
                h[15],
                BinaryPrimitives.ReadInt64LittleEndian(h[16..]),
                _buffer.AsMemory(offset + HeaderBytes, captured));
            return true;
        }
    }

    /// <summary>Consumer: frees the record <see cref="TryRead"/> returned.</summary>
    public void Release(in CaptureRingRecord record) => Volatile.Write(ref _positions.Head, _positions.Head + record.RecordBytes);

    /// <summary>Bytes in use now (any thread; approximate while both sides run).</summary>
    public long UsedBytes => Volatile.Read(ref _positions.Tail) - Volatile.Read(ref _positions.Head);

    [StructLayout(LayoutKind.Explicit, Size = 384)]
    private struct Positions
    {
        [FieldOffset(128)] public long Tail;
        [FieldOffset(136)] public long ProducerCachedHead;
        [FieldOffset(256)] public long Head;
        [FieldOffset(264)] public long ConsumerCachedTail;
    }
}

/// <summary>One record of a <see cref="CaptureRing"/>: its bytes live in the ring until released.</summary>
internal readonly record struct CaptureRingRecord(int RecordBytes, int WireLength, ushort Port, byte Point, byte Cause, long Micros, ReadOnlyMemory<byte> Data);
