namespace Skiff;

/// <summary>
/// A fixed-capacity container for one burst of buffers, allocated once and reused every poll
/// (DPDK's <c>struct rte_mbuf *pkts[MAX_PKT_BURST]</c>). Not thread-safe.
/// </summary>
public sealed class PacketBatch
{
    private readonly PacketBuffer[] _items;

    /// <summary>Creates an empty batch; its array is the only allocation it ever makes.</summary>
    /// <param name="capacity">Most buffers it holds: usually the device's <see cref="DeviceCapabilities.MaxBurst"/>. Default 32.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is zero or negative.</exception>
    public PacketBatch(int capacity = 32)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _items = new PacketBuffer[capacity];
    }

    /// <summary>Most buffers the batch holds, fixed at construction.</summary>
    public int Capacity => _items.Length;

    /// <summary>Buffers held now, 0 to <see cref="Capacity"/>; they are the first <see cref="Count"/> entries.</summary>
    public int Count { get; private set; }

    /// <summary>True when <see cref="Count"/> equals <see cref="Capacity"/>: <see cref="TryAdd"/> would refuse.</summary>
    public bool IsFull => Count == _items.Length;

    /// <summary>The buffer at <paramref name="index"/>, counted from the oldest.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative or not below <see cref="Count"/>.</exception>
    public PacketBuffer this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index));
            }
            return _items[index];
        }
    }

    /// <summary>The filled part.</summary>
    public Span<PacketBuffer> AsSpan() => _items.AsSpan(0, Count);

    /// <summary>The unfilled part: receive into it, then call <see cref="Commit"/>.</summary>
    public Span<PacketBuffer> FreeSpace => _items.AsSpan(Count);

    /// <summary>Adds a buffer; false (and the caller keeps it) when the batch is full.</summary>
    public bool TryAdd(PacketBuffer buffer)
    {
        if (Count == _items.Length)
        {
            return false;
        }
        _items[Count++] = buffer;
        return true;
    }

    /// <summary>Counts <paramref name="count"/> buffers written into <see cref="FreeSpace"/> as filled.</summary>
    public void Commit(int count)
    {
        if ((uint)count > (uint)(_items.Length - Count))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        Count += count;
    }

    /// <summary>Drops the first <paramref name="count"/> entries (after a device accepted them), keeping the rest in order.</summary>
    public void RemoveFirst(int count)
    {
        if ((uint)count > (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
        int rest = Count - count;
        Array.Copy(_items, count, _items, 0, rest);
        Array.Clear(_items, rest, count);
        Count = rest;
    }

    /// <summary>Forgets the entries without freeing them (ownership went elsewhere).</summary>
    public void Clear()
    {
        Array.Clear(_items, 0, Count);
        Count = 0;
    }

    /// <summary>Frees every buffer back to its pool and empties the batch.</summary>
    public void FreeAll()
    {
        for (int i = 0; i < Count; i++)
        {
            _items[i].Free();
        }
        Clear();
    }
}
