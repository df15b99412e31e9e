namespace Skiff.Samples.LoadBalancer;

/// <summary>
/// The connection table: 5-tuple to backend, so an established flow keeps its backend when the Maglev table changes
/// (a backend added, or one that failed elsewhere). Fixed capacity, allocated once: set-associative buckets of
/// <see cref="Ways"/> entries picked by the flow hash. An entry idle longer than the idle timeout is gone; when a bucket
/// is full, a new flow takes the slot of the entry idle the longest (counted in <see cref="Evictions"/>), so a flood of
/// new flows costs the oldest idle entries, never memory. Time is passed in; the table reads no clock and allocates
/// nothing after construction. One loop owns it (not thread-safe).
/// </summary>
public sealed class ConnectionTable
{
    /// <summary>Entries per bucket.</summary>
    public const int Ways = 8;

    private struct Entry
    {
        public ulong Addresses; // source << 32 | destination
        public ulong PortsAndProtocol; // sourcePort << 24 | destinationPort << 8 | protocol
        public long LastSeenMicros;
        public int Backend; // -1: free
    }

    private readonly Entry[] _entries;
    private readonly int _bucketMask;
    private readonly long _idleMicros;

    /// <param name="capacity">Entries at most; rounded up to a power of two of at least <see cref="Ways"/>.</param>
    /// <param name="idleTimeout">How long an entry lives without a packet.</param>
    public ConnectionTable(int capacity, Duration idleTimeout)
    {
        if (capacity < 1 || capacity > 1 << 26)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Give the connection table 1 to 67,108,864 entries.");
        }
        if (idleTimeout.TotalMicros <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(idleTimeout), "Give the connection table a positive idle timeout.");
        }
        int entries = (int)Math.Max(Ways, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity));
        _entries = new Entry[entries];
        _bucketMask = entries / Ways - 1;
        _idleMicros = idleTimeout.TotalMicros;
        Clear();
    }

    /// <summary>How many entries the table holds at most.</summary>
    public int Capacity => _entries.Length;

    /// <summary>How long an entry lives without a packet.</summary>
    public Duration IdleTimeout => Duration.FromMicros(_idleMicros);

    /// <summary>New flows that took the slot of a live entry because their bucket was full.</summary>
    public long Evictions { get; private set; }

    /// <summary>Entries added.</summary>
    public long Inserts { get; private set; }

    /// <summary>The key of a flow: addresses and ports as numbers in host order.</summary>
    public static (ulong Addresses, ulong PortsAndProtocol) KeyOf(uint source, uint destination, ushort sourcePort, ushort destinationPort, byte protocol) =>
        (((ulong)source << 32) | destination, ((ulong)sourcePort << 24) | ((ulong)destinationPort << 8) | protocol);

    /// <summary>The live entry's backend for the flow (and its idle time restarts), or false.</summary>
    public bool TryGet(ulong addresses, ulong portsAndProtocol, ulong hash, Instant now, out int backend)
    {
        Span<Entry> bucket = Bucket(hash);
        long cutoff = now.TotalMicros - _idleMicros;
        for (int i = 0; i < bucket.Length; i++)
        {
            ref Entry e = ref bucket[i];
            if (e.Backend >= 0 && e.Addresses == addresses && e.PortsAndProtocol == portsAndProtocol && e.LastSeenMicros > cutoff)
            {
                e.LastSeenMicros = now.TotalMicros;
                backend = e.Backend;
                return true;
            }
        }
        backend = -1;
        return false;
    }

    /// <summary>
    /// Records the flow's backend: updates its entry, or takes a free or expired slot of its bucket, or else the slot of
    /// the entry idle the longest.
    /// </summary>
    public void Set(ulong addresses, ulong portsAndProtocol, ulong hash, Instant now, int backend)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(backend);
        Span<Entry> bucket = Bucket(hash);
        long cutoff = now.TotalMicros - _idleMicros;
        int victim = -1;
        long oldest = long.MaxValue;
        for (int i = 0; i < bucket.Length; i++)
        {
            ref Entry e = ref bucket[i];
            if (e.Backend >= 0 && e.Addresses == addresses && e.PortsAndProtocol == portsAndProtocol)
            {
                e.Backend = backend;
                e.LastSeenMicros = now.TotalMicros;
                return;
            }
            long age = e.Backend < 0 || e.LastSeenMicros <= cutoff ? long.MinValue : e.LastSeenMicros;
            if (age < oldest)
            {
                oldest = age;
                victim = i;
            }
        }
        if (oldest != long.MinValue)
        {
            Evictions++;
        }
        Inserts++;
        bucket[victim] = new Entry { Addresses = addresses, PortsAndProtocol = portsAndProtocol, LastSeenMicros = now.TotalMicros, Backend = backend };
    }

    /// <summary>Live entries at <paramref name="now"/> (a scan of the whole table: for status lines and tests, not the packet path).</summary>
    public int Count(Instant now)
    {
        long cutoff = now.TotalMicros - _idleMicros;
        int n = 0;
        foreach (ref readonly Entry e in _entries.AsSpan())
        {
            n += e.Backend >= 0 && e.LastSeenMicros > cutoff ? 1 : 0;
        }
        return n;
    }

    /// <summary>Forgets every entry.</summary>
    public void Clear()
    {
        for (int i = 0; i < _entries.Length; i++)
        {
            _entries[i] = new Entry { Backend = -1 };
        }
    }

    private Span<Entry> Bucket(ulong hash) => _entries.AsSpan((int)((hash >> 32) & (uint)_bucketMask) * Ways, Ways);
}
