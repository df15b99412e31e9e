namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// In-order received data, zero-copy: each entry is the <see cref="PacketBuffer"/> the segment arrived
/// in, its data window trimmed to the payload. The application reads (copying) or peeks and consumes;
/// a buffer goes back to its pool when its last byte is consumed. Bounded in segments (so a peer
/// sending 1-byte segments cannot pin thousands of frames) and, by the window the connection
/// advertises, in bytes. Not thread-safe.
/// </summary>
internal sealed class ReceiveQueue
{
    private readonly PacketBuffer?[] _ring;
    private readonly int _mask;
    private int _head;
    private int _count;

    public ReceiveQueue(int maxSegments)
    {
        MaxSegments = maxSegments;
        int capacity = (int)Math.Max(4u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)maxSegments));
        _ring = new PacketBuffer?[capacity];
        _mask = capacity - 1;
    }

    /// <summary>The bound this queue was made for (<see cref="TcpConfig.MaxReceiveSegments"/>).</summary>
    public int MaxSegments { get; }

    public int Bytes { get; private set; }

    public int Segments => _count;

    public bool IsFull => _count == _ring.Length;

    /// <summary>
    /// Bytes the queue is sure to accept, however the peer cuts them into segments, with frames of at least
    /// <paramref name="minFrameBytes"/> bytes: every entry but the tail holds at least half a frame
    /// (<see cref="TryEnqueue"/>), so n entries take more than (n - 1) half frames. The receive window never
    /// offers more than this (no reneging on in-window data).
    /// </summary>
    public long GuaranteedBytes(int minFrameBytes) => Math.Max(0, _ring.Length - _count - 1) * (long)(minFrameBytes / 2);

    /// <summary>
    /// Queues a segment's payload so that every entry but the tail holds at least half a frame, whatever the
    /// segment sizes (Linux's tcp_try_coalesce does the like): a payload that fits in the tail's free room is
    /// copied there; a tail under half a frame is filled up first; a payload under half a frame is moved to the
    /// start of its own frame, so it can be filled up later. Full-sized segments are queued as they are, not
    /// copied. <paramref name="coalesced"/> true means every byte was copied and the caller keeps (and frees)
    /// <paramref name="buffer"/>; otherwise the queue owns it. False when full: the caller keeps the buffer.
    /// </summary>
    public bool TryEnqueue(PacketBuffer buffer, out bool coalesced)
    {
        coalesced = false;
        int length = buffer.Length;
        if (length == 0)
        {
            coalesced = true;
            return true;
        }
        if (_count > 0)
        {
            PacketBuffer tail = _ring[(_head + _count - 1) & _mask]!;
            int room = tail.TailroomBytes;
            int copy = room >= length ? length : tail.Length < tail.FrameBytes / 2 ? room : 0;
            if (copy > 0)
            {
                if (copy < length && _count == _ring.Length)
                {
                    return false;
                }
                int at = tail.Length;
                tail.TryAppend(copy);
                buffer.Data[..copy].CopyTo(tail.Data[at..]);
                Bytes += copy;
                if (copy == length)
                {
                    coalesced = true;
                    return true;
                }
                buffer.TryAdjust(copy);
                length -= copy;
            }
        }
        if (_count == _ring.Length)
        {
            return false;
        }
        if (length < buffer.FrameBytes / 2 && buffer.DataOffset > 0)
        {
            // Span copy is memmove: the ranges may overlap.
            buffer.Data.CopyTo(buffer.Frame);
            buffer.TrySetData(0, length);
        }
        _ring[(_head + _count) & _mask] = buffer;
        _count++;
        Bytes += length;
        return true;
    }

    /// <summary>The first buffered bytes (one segment's worth), or false when empty.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> data)
    {
        if (_count == 0)
        {
            data = default;
            return false;
        }
        data = _ring[_head]!.Data;
        return true;
    }

    /// <summary>The <paramref name="index"/>-th queued buffer (for a zero-copy reader that walks several).</summary>
    public PacketBuffer PeekBuffer(int index)
    {
        if ((uint)index >= (uint)_count)
        {
            throw new ArgumentOutOfRangeException(nameof(index));
        }
        return _ring[(_head + index) & _mask]!;
    }

    /// <summary>Marks <paramref name="count"/> bytes read; fully read buffers return to their pool.</summary>
    public void Consume(int count)
    {
        if ((uint)count > (uint)Bytes)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "Cannot consume more bytes than are queued.");
        }
        Bytes -= count;
        while (count > 0)
        {
            PacketBuffer b = _ring[_head]!;
            if (count < b.Length)
            {
                b.TryAdjust(count);
                return;
            }
            count -= b.Length;
            _ring[_head] = null;
            _head = (_head + 1) & _mask;
            _count--;
            b.Free();
        }
        // Drop empty buffers at the head so TryPeek never returns an empty span while data follows.
        while (_count > 0 && _ring[_head]!.Length == 0)
        {
            PacketBuffer b = _ring[_head]!;
            _ring[_head] = null;
            _head = (_head + 1) & _mask;
            _count--;
            b.Free();
        }
    }

    /// <summary>Takes the first buffer out whole (its unread bytes count as consumed); ownership moves to the caller.</summary>
    public bool TryDequeue([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PacketBuffer? buffer)
    {
        if (_count == 0)
        {
            buffer = null;
            return false;
        }
        buffer = _ring[_head]!;
        _ring[_head] = null;
        _head = (_head + 1) & _mask;
        _count--;
        Bytes -= buffer.Length;
        return true;
    }

    /// <summary>Copies up to <c>destination.Length</c> bytes out and consumes them; returns the count.</summary>
    public int Read(Span<byte> destination)
    {
        int total = 0;
        while (total < destination.Length && _count > 0)
        {
            Span<byte> data = _ring[_head]!.Data;
            int n = Math.Min(data.Length, destination.Length - total);
            data[..n].CopyTo(destination[total..]);
            total += n;
            Consume(n);
        }
        return total;
    }

    /// <summary>Frees everything queued.</summary>
    public void Clear()
    {
        while (_count > 0)
        {
            _ring[_head]!.Free();
            _ring[_head] = null;
            _head = (_head + 1) & _mask;
            _count--;
        }
        _head = 0;
        Bytes = 0;
    }
}
