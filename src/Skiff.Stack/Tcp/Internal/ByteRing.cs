namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// A power-of-two byte ring for a connection's send buffer: the application appends at the tail, the
/// connection reads any window of unacknowledged bytes (for first transmission and retransmission) and
/// releases bytes from the head as they are acknowledged. Not thread-safe.
/// </summary>
internal sealed class ByteRing
{
    private readonly byte[] _bytes;
    private readonly int _mask;
    private long _head; // offset of the first byte held (free-running)
    private long _tail; // offset after the last byte held

    public ByteRing(int capacityBytes)
    {
        if (capacityBytes <= 0 || !int.IsPow2(capacityBytes))
        {
            throw new ArgumentOutOfRangeException(nameof(capacityBytes), "The send buffer size must be a power of two.");
        }
        _bytes = new byte[capacityBytes];
        _mask = capacityBytes - 1;
    }

    public int Capacity => _bytes.Length;

    public int Count => (int)(_tail - _head);

    public int Free => _bytes.Length - Count;

    public void Clear()
    {
        _head = 0;
        _tail = 0;
    }

    /// <summary>Copies as much of <paramref name="data"/> as fits; returns the count.</summary>
    public int Write(ReadOnlySpan<byte> data)
    {
        int n = Math.Min(data.Length, Free);
        int start = (int)(_tail & _mask);
        int first = Math.Min(n, _bytes.Length - start);
        data[..first].CopyTo(_bytes.AsSpan(start));
        data[first..n].CopyTo(_bytes);
        _tail += n;
        return n;
    }

    /// <summary>The bytes at <paramref name="offset"/> from the head, as up to two spans (the ring may wrap).</summary>
    public void Peek(int offset, int length, out ReadOnlySpan<byte> first, out ReadOnlySpan<byte> second)
    {
        if (offset < 0 || length < 0 || offset + length > Count)
        {
            throw new ArgumentOutOfRangeException(nameof(length), "The window lies outside the buffered bytes.");
        }
        int start = (int)((_head + offset) & _mask);
        int a = Math.Min(length, _bytes.Length - start);
        first = _bytes.AsSpan(start, a);
        second = _bytes.AsSpan(0, length - a);
    }

    /// <summary>Drops <paramref name="count"/> bytes from the head (they were acknowledged).</summary>
    public void Release(int count)
    {
        if ((uint)count > (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        _head += count;
    }
}
