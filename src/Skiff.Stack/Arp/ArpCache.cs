using Skiff.Stack.Internal;
using System.Numerics;
using Skiff.Wire;

namespace Skiff.Stack.Arp;

/// <summary>
/// The neighbour table of an Ethernet interface: IPv4 address to MAC address (RFC 826), with the
/// pending-packet queue, request pacing and timeouts of RFC 1122 sections 2.3.2.1 and 2.3.2.2. Sans-I/O:
/// it never sends anything; it tells the caller which requests to send and hands back the packets that
/// became sendable or undeliverable.
/// </summary>
/// <remarks>
/// <para>How the stack uses it. To send an IPv4 packet to next hop <c>ip</c>: call <see cref="Lookup"/>;
/// on <see cref="ArpLookupResult.Found"/> send; on <see cref="ArpLookupResult.SendRequest"/> broadcast a
/// request and <see cref="Enqueue"/> the packet; on <see cref="ArpLookupResult.Wait"/> only enqueue. For every
/// received ARP packet (request or reply) call <see cref="Update"/> with the sender's addresses and
/// <c>createIfMissing</c> true only when the target IP is ours: that is RFC 826's merge rule ("update an
/// existing entry from any packet; add one only if I am the target"). Call <see cref="Poll"/> when
/// <see cref="PollAt"/> is due: it paces retries and ages entries.</para>
/// <para>States: Incomplete (requests out, packets queued), Reachable for
/// <see cref="ArpCacheOptions.ReachableTime"/> after the last update, then Stale. A Stale entry is still
/// used; its next use starts a unicast poll (RFC 1122 section 2.3.2.1), and after
/// <see cref="ArpCacheOptions.MaxRequests"/> unanswered polls it is removed. A Stale entry nobody uses is
/// removed after <see cref="ArpCacheOptions.StaleTime"/>.</para>
/// <para>Bounds (contract 5): at most <see cref="ArpCacheOptions.MaxEntries"/> entries, evicting the least
/// recently used when full (<see cref="Evictions"/>); at most
/// <see cref="ArpCacheOptions.MaxPendingPerDestination"/> queued packets per destination, dropping the oldest
/// (<see cref="PendingDroppedOverflow"/>); at most one request per destination per
/// <see cref="ArpCacheOptions.RequestInterval"/>. Every array is allocated in the constructor: no call allocates.</para>
/// <para>Buffer ownership: <see cref="Enqueue"/> takes the buffer when it returns true. The cache frees a queued
/// buffer only when it drops it (overflow, eviction, <see cref="Remove"/>, or a failed resolution whose packets
/// do not fit the caller's span); every other queued buffer goes back to the caller through
/// <see cref="Update"/> or <see cref="Poll"/>.</para>
/// <para>Not thread-safe: one stack (one core) owns it.</para>
/// </remarks>
public sealed class ArpCache
{
    private struct Entry
    {
        public Ipv4Address Ip;
        public MacAddress Mac;
        public ArpEntryState State;
        public int RequestsSent;
        // Incomplete: when the next request is due (or, after the last one, when resolution fails).
        // Reachable: when it turns Stale. Stale: removal time, or the next poll when RequestsSent > 0.
        public Instant Deadline;
        public int LruPrev; // towards the most recently used; -1 at the head
        public int LruNext; // towards the least recently used; -1 at the tail
    }

    private readonly ArpCacheOptions _options;
    private readonly Entry[] _entries;
    private readonly int[] _freeEntries;
    private int _freeCount;
    private readonly int[] _index; // open addressing on Ip: entry index + 1, 0 = empty
    private readonly int _indexMask;
    private readonly int _indexShift;
    private readonly PendingPackets _pending;
    private readonly int _pendingPerEntry;
    private int _lruHead = -1;
    private int _lruTail = -1;
    private Instant _nextDeadline = Instant.Never; // a lower bound on every entry's deadline

    /// <summary>Creates an empty cache; <paramref name="options"/> defaults to <see cref="ArpCacheOptions"/>' defaults.</summary>
    public ArpCache(ArpCacheOptions? options = null)
    {
        _options = options ?? new ArpCacheOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxEntries);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxEntries, 1 << 24);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxPendingPerDestination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxRequests);
        if (_options.RequestInterval <= Duration.Zero || _options.ReachableTime <= Duration.Zero || _options.StaleTime < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "ARP timers must be positive.");
        }

        int max = _options.MaxEntries;
        _entries = new Entry[max];
        _freeEntries = new int[max];
        for (int i = 0; i < max; i++)
        {
            _freeEntries[i] = max - 1 - i;
        }
        _freeCount = max;
        int indexSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, max * 2));
        _index = new int[indexSize];
        _indexMask = indexSize - 1;
        _indexShift = 32 - BitOperations.Log2((uint)indexSize);
        _pendingPerEntry = _options.MaxPendingPerDestination;
        _pending = new PendingPackets(max, _pendingPerEntry);
    }

    /// <summary>The options this cache was made with.</summary>
    public ArpCacheOptions Options => _options;

    /// <summary>Entries in any state.</summary>
    public int Count => _options.MaxEntries - _freeCount;

    /// <summary>Entries evicted (least recently used first) to make room for a new one.</summary>
    public long Evictions { get; private set; }

    /// <summary>Queued packets freed because their destination's queue was full (the oldest goes).</summary>
    public long PendingDroppedOverflow { get; private set; }

    /// <summary>Queued packets freed because their entry was evicted or removed.</summary>
    public long PendingDroppedEvicted { get; private set; }

    /// <summary>Packets of a failed resolution freed because the caller's unreachable span in <see cref="Poll"/> was full.</summary>
    public long PendingDroppedUnresolved { get; private set; }

    /// <summary>Resolutions abandoned after <see cref="ArpCacheOptions.MaxRequests"/> unanswered requests.</summary>
    public long ResolutionFailures { get; private set; }

    /// <summary>Stale entries removed: unused for <see cref="ArpCacheOptions.StaleTime"/>, or not confirming a unicast poll.</summary>
    public long StaleRemoved { get; private set; }

    /// <summary>Updates refused because the sender's IP is not unicast or its MAC is multicast, broadcast or zero.</summary>
    public long InvalidUpdates { get; private set; }

    /// <summary>
    /// Decides what to do with a packet for next hop <paramref name="ip"/>. On <see cref="ArpLookupResult.Found"/>
    /// and <see cref="ArpLookupResult.FoundSendRequest"/>, <paramref name="mac"/> is the destination MAC.
    /// For an unknown address it creates an Incomplete entry (evicting the least recently used entry if the
    /// cache is full) and returns <see cref="ArpLookupResult.SendRequest"/>; it never returns a request for the
    /// same destination twice within <see cref="ArpCacheOptions.RequestInterval"/>.
    /// </summary>
    public ArpLookupResult Lookup(Ipv4Address ip, Instant now, out MacAddress mac)
    {
        int e = Find(ip);
        if (e < 0)
        {
            e = Create(ip);
            ref Entry created = ref _entries[e];
            created.State = ArpEntryState.Incomplete;
            created.RequestsSent = 1;
            SetDeadline(ref created, now + _options.RequestInterval);
            mac = default;
            return ArpLookupResult.SendRequest;
        }

        ref Entry entry = ref _entries[e];
        Touch(e);
        switch (entry.State)
        {
            case ArpEntryState.Reachable when now < entry.Deadline:
                mac = entry.Mac;
                return ArpLookupResult.Found;
            case ArpEntryState.Reachable:
            case ArpEntryState.Stale when entry.RequestsSent == 0:
                // First use since the mapping aged: keep using it and start the unicast poll.
                entry.State = ArpEntryState.Stale;
                entry.RequestsSent = 1;
                SetDeadline(ref entry, now + _options.RequestInterval);
                mac = entry.Mac;
                return ArpLookupResult.FoundSendRequest;
            case ArpEntryState.Stale:
                mac = entry.Mac; // a poll is already under way; Poll paces the rest
                return ArpLookupResult.Found;
            case ArpEntryState.Incomplete when now >= entry.Deadline && entry.RequestsSent < _options.MaxRequests:
                entry.RequestsSent++;
                SetDeadline(ref entry, now + _options.RequestInterval);
                mac = default;
                return ArpLookupResult.SendRequest;
            default:
                mac = default;
                return ArpLookupResult.Wait;
        }
    }

    /// <summary>
    /// Queues <paramref name="buffer"/> until <paramref name="ip"/> resolves. True: the cache owns the buffer (if the
    /// destination's queue was full its oldest packet was freed and counted). False: there is no Incomplete entry
    /// for <paramref name="ip"/> (call <see cref="Lookup"/> first); the caller keeps the buffer.
    /// </summary>
    public bool Enqueue(Ipv4Address ip, PacketBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        int e = Find(ip);
        if (e < 0 || _entries[e].State != ArpEntryState.Incomplete)
        {
            return false;
        }
        if (_pending.Enqueue(e, buffer))
        {
            PendingDroppedOverflow++;
        }
        return true;
    }

    /// <summary>
    /// Merges a mapping learned from an ARP packet (RFC 826 "Packet Reception"): an existing entry for
    /// <paramref name="ip"/> is updated whatever its state; a new one is created only when
    /// <paramref name="createIfMissing"/> (the caller is the packet's target). The entry becomes Reachable and its
    /// queued packets, oldest first, are moved to <paramref name="sendable"/>: the caller now owns them, sets their
    /// destination MAC to <paramref name="mac"/> and sends them. Returns how many were moved.
    /// A non-unicast <paramref name="ip"/> or a multicast, broadcast or zero <paramref name="mac"/> changes nothing
    /// and is counted in <see cref="InvalidUpdates"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="sendable"/> is shorter than <see cref="ArpCacheOptions.MaxPendingPerDestination"/>.</exception>
    public int Update(Ipv4Address ip, MacAddress mac, Instant now, bool createIfMissing, Span<PacketBuffer> sendable)
    {
        if (sendable.Length < _pendingPerEntry)
        {
            throw new ArgumentException($"The span must hold {_pendingPerEntry} buffers (MaxPendingPerDestination).", nameof(sendable));
        }
        if (!ip.IsUnicast || mac.IsMulticast || mac == MacAddress.Zero)
        {
            InvalidUpdates++;
            return 0;
        }
        int e = Find(ip);
        if (e < 0)
        {
            if (!createIfMissing)
            {
                return 0;
            }
            e = Create(ip);
        }
        else
        {
            Touch(e);
        }
        ref Entry entry = ref _entries[e];
        entry.Mac = mac;
        entry.State = ArpEntryState.Reachable;
        entry.RequestsSent = 0;
        SetDeadline(ref entry, now + _options.ReachableTime);
        return _pending.TakeAll(e, sendable);
    }

    /// <summary>
    /// Does the timed work that is due at <paramref name="now"/>: retries for Incomplete entries (broadcast) and
    /// polls for Stale ones (unicast), at most one per destination per <see cref="ArpCacheOptions.RequestInterval"/>;
    /// Reachable entries turn Stale; unused Stale entries and those that did not answer their polls are removed.
    /// A resolution that got no reply to <see cref="ArpCacheOptions.MaxRequests"/> requests fails: its entry is
    /// removed and its queued packets are moved to <paramref name="unreachable"/> (the caller owns them and may
    /// send ICMP host unreachable) or, when that span is full, freed and counted. When
    /// <paramref name="requests"/> fills up, the rest waits for the next call (<see cref="ArpPollResult.HasMore"/>).
    /// Cost: nothing before <see cref="PollAt"/>, then one pass over the live entries.
    /// </summary>
    public ArpPollResult Poll(Instant now, Span<ArpRequest> requests, Span<PacketBuffer> unreachable)
    {
        if (now < _nextDeadline)
        {
            return default;
        }
        int requestCount = 0;
        int unreachableCount = 0;
        bool hasMore = false;
        Instant next = Instant.Never;
        int e = _lruHead;
        while (e >= 0)
        {
            int following = _entries[e].LruNext;
            ref Entry entry = ref _entries[e];
            if (now >= entry.Deadline)
            {
                switch (entry.State)
                {
                    case ArpEntryState.Reachable:
                        entry.State = ArpEntryState.Stale;
                        entry.RequestsSent = 0;
                        entry.Deadline = now + _options.StaleTime;
                        break;
                    case ArpEntryState.Incomplete or ArpEntryState.Stale when entry.RequestsSent > 0 && entry.RequestsSent < _options.MaxRequests:
                        if (requestCount == requests.Length)
                        {
                            hasMore = true;
                            break;
                        }
                        requests[requestCount++] = new ArpRequest(entry.Ip, entry.State == ArpEntryState.Stale ? entry.Mac : MacAddress.Broadcast);
                        entry.RequestsSent++;
                        entry.Deadline = now + _options.RequestInterval;
                        break;
                    case ArpEntryState.Incomplete:
                        ResolutionFailures++;
                        PendingDroppedUnresolved += _pending.TakeAllOrFree(e, unreachable, ref unreachableCount);
                        Delete(e);
                        e = following;
                        continue;
                    default: // Stale: unused for StaleTime, or its polls went unanswered
                        StaleRemoved++;
                        Delete(e);
                        e = following;
                        continue;
                }
            }
            next = Instant.Min(next, entry.Deadline);
            e = following;
        }
        _nextDeadline = hasMore ? now : next;
        return new ArpPollResult(requestCount, unreachableCount, hasMore);
    }

    /// <summary>When <see cref="Poll"/> next has work to do (<see cref="Instant.Never"/> when the cache is empty). May be early, never late.</summary>
    public Instant PollAt() => _nextDeadline;

    /// <summary>The state of the entry for <paramref name="ip"/> and its MAC (zero unless Reachable or Stale). Changes nothing.</summary>
    public ArpEntryState GetState(Ipv4Address ip, out MacAddress mac)
    {
        int e = Find(ip);
        if (e < 0)
        {
            mac = default;
            return ArpEntryState.None;
        }
        mac = _entries[e].State == ArpEntryState.Incomplete ? default : _entries[e].Mac;
        return _entries[e].State;
    }

    /// <summary>Removes the entry for <paramref name="ip"/>, freeing its queued packets (counted in <see cref="PendingDroppedEvicted"/>). False if there was none.</summary>
    public bool Remove(Ipv4Address ip)
    {
        int e = Find(ip);
        if (e < 0)
        {
            return false;
        }
        PendingDroppedEvicted += _pending.FreeAll(e);
        Delete(e);
        return true;
    }

    private int Find(Ipv4Address ip)
    {
        int i = Home(ip);
        while (true)
        {
            int slot = _index[i];
            if (slot == 0)
            {
                return -1;
            }
            if (_entries[slot - 1].Ip == ip)
            {
                return slot - 1;
            }
            i = (i + 1) & _indexMask;
        }
    }

    private int Home(Ipv4Address ip) => (int)((ip.Value * 0x9E37_79B9u) >> _indexShift);

    // Takes a free entry (evicting the least recently used if there is none), indexes it and makes it the most recently used.
    private int Create(Ipv4Address ip)
    {
        if (_freeCount == 0)
        {
            int victim = _lruTail;
            PendingDroppedEvicted += _pending.FreeAll(victim);
            Delete(victim);
            Evictions++;
        }
        int e = _freeEntries[--_freeCount];
        _entries[e] = new Entry { Ip = ip, LruPrev = -1, LruNext = _lruHead };
        if (_lruHead >= 0)
        {
            _entries[_lruHead].LruPrev = e;
        }
        _lruHead = e;
        if (_lruTail < 0)
        {
            _lruTail = e;
        }
        int i = Home(ip);
        while (_index[i] != 0)
        {
            i = (i + 1) & _indexMask;
        }
        _index[i] = e + 1;
        return e;
    }

    private void Delete(int e)
    {
        // Unindex with backward-shift deletion (no tombstones, so lookups stay short).
        int gap = Home(_entries[e].Ip);
        while (_index[gap] != e + 1)
        {
            gap = (gap + 1) & _indexMask;
        }
        int j = gap;
        while (true)
        {
            j = (j + 1) & _indexMask;
            if (_index[j] == 0)
            {
                break;
            }
            int home = Home(_entries[_index[j] - 1].Ip);
            bool homeBetween = gap <= j ? home > gap && home <= j : home > gap || home <= j;
            if (!homeBetween)
            {
                _index[gap] = _index[j];
                gap = j;
            }
        }
        _index[gap] = 0;

        Unlink(e);
        _entries[e] = default;
        _freeEntries[_freeCount++] = e;
    }

    private void Touch(int e)
    {
        if (_lruHead == e)
        {
            return;
        }
        Unlink(e);
        _entries[e].LruPrev = -1;
        _entries[e].LruNext = _lruHead;
        if (_lruHead >= 0)
        {
            _entries[_lruHead].LruPrev = e;
        }
        _lruHead = e;
        if (_lruTail < 0)
        {
            _lruTail = e;
        }
    }

    private void Unlink(int e)
    {
        ref Entry entry = ref _entries[e];
        if (entry.LruPrev >= 0)
        {
            _entries[entry.LruPrev].LruNext = entry.LruNext;
        }
        else
        {
            _lruHead = entry.LruNext;
        }
        if (entry.LruNext >= 0)
        {
            _entries[entry.LruNext].LruPrev = entry.LruPrev;
        }
        else
        {
            _lruTail = entry.LruPrev;
        }
        entry.LruPrev = -1;
        entry.LruNext = -1;
    }

    private void SetDeadline(ref Entry entry, Instant deadline)
    {
        entry.Deadline = deadline;
        _nextDeadline = Instant.Min(_nextDeadline, deadline);
    }
}
