namespace Skiff.Stack.Internal;

/// <summary>
/// The packets a neighbour cache holds for destinations still being resolved (ARP, RFC 1122 section 2.3.2.2; NDP,
/// RFC 4861 section 7.2.2): one bounded FIFO per cache entry, all in one preallocated array, so queuing never
/// allocates. A full FIFO frees its oldest packet to take a new one. The cache owns the entry numbers; this class
/// owns the packets it holds until they are taken or freed.
/// </summary>
internal sealed class PendingPackets
{
    private readonly PacketBuffer?[] _slots; // entry i's ring is [i * PerEntry, (i + 1) * PerEntry)
    private readonly int[] _head;
    private readonly int[] _count;

    /// <summary>Room for <paramref name="entries"/> FIFOs of <paramref name="perEntry"/> packets each.</summary>
    public PendingPackets(int entries, int perEntry)
    {
        PerEntry = perEntry;
        _slots = new PacketBuffer?[entries * perEntry];
        _head = new int[entries];
        _count = new int[entries];
    }

    /// <summary>The most packets one entry holds.</summary>
    public int PerEntry { get; }

    /// <summary>
    /// Queues <paramref name="buffer"/> behind entry <paramref name="entry"/>'s packets. When the FIFO was full its
    /// oldest packet is freed first and the result is true (the caller counts the overflow).
    /// </summary>
    public bool Enqueue(int entry, PacketBuffer buffer)
    {
        bool overflowed = false;
        if (_count[entry] == PerEntry)
        {
            TakeOldest(entry).Free();
            overflowed = true;
        }
        _slots[entry * PerEntry + (_head[entry] + _count[entry]) % PerEntry] = buffer;
        _count[entry]++;
        return overflowed;
    }

    /// <summary>Removes and returns entry <paramref name="entry"/>'s oldest packet; the caller owns it. The FIFO must not be empty.</summary>
    private PacketBuffer TakeOldest(int entry)
    {
        ref PacketBuffer? slot = ref _slots[entry * PerEntry + _head[entry]];
        PacketBuffer b = slot!;
        slot = null;
        _head[entry] = (_head[entry] + 1) % PerEntry;
        _count[entry]--;
        return b;
    }

    /// <summary>Moves entry <paramref name="entry"/>'s packets, oldest first, to <paramref name="destination"/> (at least <see cref="PerEntry"/> long); returns how many.</summary>
    public int TakeAll(int entry, Span<PacketBuffer> destination)
    {
        int n = 0;
        while (_count[entry] > 0)
        {
            destination[n++] = TakeOldest(entry);
        }
        _head[entry] = 0;
        return n;
    }

    /// <summary>
    /// Empties entry <paramref name="entry"/> after resolution failed: its packets, oldest first, go to
    /// <paramref name="destination"/> from index <paramref name="filled"/> on (which advances) while there is room, the
    /// rest are freed. Returns how many were freed.
    /// </summary>
    public int TakeAllOrFree(int entry, Span<PacketBuffer> destination, ref int filled)
    {
        int freed = 0;
        while (_count[entry] > 0)
        {
            PacketBuffer b = TakeOldest(entry);
            if (filled < destination.Length)
            {
                destination[filled++] = b;
            }
            else
            {
                b.Free();
                freed++;
            }
        }
        _head[entry] = 0;
        return freed;
    }

    /// <summary>Frees entry <paramref name="entry"/>'s packets; returns how many.</summary>
    public int FreeAll(int entry)
    {
        int n = 0;
        while (_count[entry] > 0)
        {
            TakeOldest(entry).Free();
            n++;
        }
        _head[entry] = 0;
        return n;
    }
}
