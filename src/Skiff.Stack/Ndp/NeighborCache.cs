using Skiff.Stack.Internal;
using Skiff.Wire;

namespace Skiff.Stack.Ndp;

/// <summary>
/// The IPv6 neighbour cache with Neighbor Unreachability Detection (RFC 4861 sections 7.2 and 7.3): IPv6 address to
/// MAC, the states Incomplete, Reachable, Stale, Delay and Probe, and a bounded queue of packets per address being
/// resolved. Sans-I/O like the ARP cache: it sends nothing; it says which solicitations to send and hands back the
/// packets that became sendable or undeliverable.
/// </summary>
/// <remarks>
/// <para>Use. To send to next hop <c>ip</c>: <see cref="Lookup"/>; on <see cref="NeighborLookupResult.Found"/> send to
/// the MAC; otherwise <see cref="Enqueue"/> and, on <see cref="NeighborLookupResult.QueueAndSolicit"/>, multicast a
/// solicitation. A Neighbor Advertisement goes to <see cref="OnAdvertisement"/> (section 7.2.5); a solicitation, Router
/// Solicitation or Router Advertisement carrying the sender's link-layer address goes to <see cref="OnLinkLayerAddress"/>
/// (sections 7.2.3 and 6.3.4). <see cref="Poll"/> runs the timers when <see cref="PollAt"/> is due.</para>
/// <para>Bounds (contract 5), as the ARP cache's: at most <see cref="NeighborCacheOptions.MaxEntries"/> entries, the least
/// recently used evicted when full (<see cref="Evictions"/>); at most <see cref="NeighborCacheOptions.MaxPendingPerDestination"/>
/// queued packets per address, the oldest freed on overflow (<see cref="PendingDroppedOverflow"/>). Everything is
/// allocated in the constructor. Not thread-safe: one stack owns it.</para>
/// </remarks>
public sealed class NeighborCache
{
    private struct Entry
    {
        public Ipv6Address Ip;
        public MacAddress Mac;
        public NeighborState State;
        public bool IsRouter;
        public int Probes;
        public Instant Deadline; // Incomplete/Probe: next solicitation; Reachable: turns Stale; Delay: starts Probe; Stale: removal
        public Instant LastUsed;
    }

    private readonly NeighborCacheOptions _options;
    private readonly Entry[] _entries;
    private readonly bool[] _used;
    private readonly Dictionary<Ipv6Address, int> _index;
    private readonly int[] _free;
    private int _freeCount;
    private readonly PendingPackets _pending;
    private readonly int _perEntry;
    private Instant _nextDeadline = Instant.Never;

    /// <summary>Creates an empty cache; <paramref name="options"/> defaults to RFC 4861's constants.</summary>
    public NeighborCache(NeighborCacheOptions? options = null)
    {
        _options = options ?? new NeighborCacheOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxEntries);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxEntries, 1 << 20);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxPendingPerDestination);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxMulticastSolicit);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.MaxUnicastSolicit);
        if (_options.RetransTimer <= Duration.Zero || _options.BaseReachableTime <= Duration.Zero || _options.DelayFirstProbeTime <= Duration.Zero
            || _options.StaleTime <= Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Neighbour discovery timers must be positive.");
        }
        int max = _options.MaxEntries;
        _entries = new Entry[max];
        _used = new bool[max];
        _index = new Dictionary<Ipv6Address, int>(max);
        _free = new int[max];
        for (int i = 0; i < max; i++)
        {
            _free[i] = max - 1 - i;
        }
        _freeCount = max;
        _perEntry = _options.MaxPendingPerDestination;
        _pending = new PendingPackets(max, _perEntry);
        ReachableTime = _options.BaseReachableTime;
        RetransTimer = _options.RetransTimer;
    }

    /// <summary>The options this cache was made with.</summary>
    public NeighborCacheOptions Options => _options;

    /// <summary>How long a confirmation keeps an entry Reachable (the interface draws it around BaseReachableTime; an RA may change it).</summary>
    public Duration ReachableTime { get; set; }

    /// <summary>Time between solicitations (an RA may change it).</summary>
    public Duration RetransTimer { get; set; }

    /// <summary>Entries in any state.</summary>
    public int Count => _options.MaxEntries - _freeCount;

    /// <summary>Entries evicted to make room for a new one.</summary>
    public long Evictions { get; private set; }

    /// <summary>Queued packets freed because their address's queue was full (the oldest goes).</summary>
    public long PendingDroppedOverflow { get; private set; }

    /// <summary>Queued packets freed because their entry was evicted.</summary>
    public long PendingDroppedEvicted { get; private set; }

    /// <summary>Packets of a failed resolution freed because the caller's span in <see cref="Poll"/> was full.</summary>
    public long PendingDroppedUnresolved { get; private set; }

    /// <summary>Resolutions abandoned after MAX_MULTICAST_SOLICIT unanswered solicitations.</summary>
    public long ResolutionFailures { get; private set; }

    /// <summary>Neighbours removed after MAX_UNICAST_SOLICIT unanswered probes.</summary>
    public long ProbeFailures { get; private set; }

    /// <summary>Advertisements for addresses without an entry (RFC 4861 section 7.2.5: silently discarded).</summary>
    public long UnsolicitedIgnored { get; private set; }

    /// <summary>The state and MAC of <paramref name="ip"/>'s entry, if any (for reports and tests).</summary>
    public bool TryGet(Ipv6Address ip, out NeighborState state, out MacAddress mac, out bool isRouter)
    {
        if (_index.TryGetValue(ip, out int e))
        {
            state = _entries[e].State;
            mac = _entries[e].Mac;
            isRouter = _entries[e].IsRouter;
            return true;
        }
        state = default;
        mac = default;
        isRouter = false;
        return false;
    }

    /// <summary>
    /// Decides what to do with a packet for next hop <paramref name="ip"/> (RFC 4861 section 7.3.3): a Reachable,
    /// Delay or Probe entry is used as is; a Reachable one past its time and a Stale one are used and move to Delay;
    /// an Incomplete one means queue; an unknown address gets an Incomplete entry and its first solicitation.
    /// </summary>
    public NeighborLookupResult Lookup(Ipv6Address ip, Instant now, out MacAddress mac)
    {
        if (!_index.TryGetValue(ip, out int e))
        {
            e = Create(ip, now);
            ref Entry created = ref _entries[e];
            created.State = NeighborState.Incomplete;
            created.Probes = 1;
            SetDeadline(ref created, now + RetransTimer);
            mac = default;
            return NeighborLookupResult.QueueAndSolicit;
        }
        ref Entry entry = ref _entries[e];
        entry.LastUsed = now;
        mac = entry.Mac;
        switch (entry.State)
        {
            case NeighborState.Incomplete:
                return NeighborLookupResult.Queue;
            case NeighborState.Reachable when now < entry.Deadline:
            case NeighborState.Delay:
            case NeighborState.Probe:
                return NeighborLookupResult.Found;
            default:
                // Stale (or Reachable whose time ran out, which is Stale): the first use starts the DELAY timer.
                entry.State = NeighborState.Delay;
                SetDeadline(ref entry, now + _options.DelayFirstProbeTime);
                return NeighborLookupResult.Found;
        }
    }

    /// <summary>Queues <paramref name="buffer"/> until <paramref name="ip"/> resolves; false (the caller keeps it) without an Incomplete entry.</summary>
    public bool Enqueue(Ipv6Address ip, PacketBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (!_index.TryGetValue(ip, out int e) || _entries[e].State != NeighborState.Incomplete)
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
    /// The sender's link-layer address from a Neighbor Solicitation, Router Solicitation or Router Advertisement
    /// (RFC 4861 sections 7.2.3, 6.2.6, 6.3.4): creates a Stale entry if none exists; an Incomplete entry takes the
    /// address and its queued packets move to <paramref name="sendable"/> (the caller sends them to
    /// <paramref name="mac"/>; the entry is then in Delay, as a Stale entry that was used); a different address
    /// replaces the cached one and the entry turns Stale; the same address changes nothing. Returns how many moved.
    /// </summary>
    public int OnLinkLayerAddress(Ipv6Address ip, MacAddress mac, bool isRouter, Instant now, Span<PacketBuffer> sendable)
    {
        CheckSpan(sendable);
        if (!IsUsable(ip, mac))
        {
            return 0;
        }
        if (!_index.TryGetValue(ip, out int e))
        {
            e = Create(ip, now);
            ref Entry fresh = ref _entries[e];
            fresh.Mac = mac;
            fresh.IsRouter = isRouter;
            fresh.State = NeighborState.Stale;
            SetDeadline(ref fresh, now + _options.StaleTime);
            return 0;
        }
        ref Entry entry = ref _entries[e];
        entry.IsRouter |= isRouter;
        if (entry.State == NeighborState.Incomplete)
        {
            entry.Mac = mac;
            return Resolved(e, NeighborState.Stale, now, sendable);
        }
        if (entry.Mac != mac)
        {
            entry.Mac = mac;
            entry.State = NeighborState.Stale;
            SetDeadline(ref entry, now + _options.StaleTime);
        }
        return 0;
    }

    /// <summary>
    /// A Neighbor Advertisement for <paramref name="ip"/> (RFC 4861 section 7.2.5), its target link-layer address if it
    /// had one and its R, S and O flags. Without an entry it is ignored. An Incomplete entry takes the address (an
    /// advertisement without one is ignored) and turns Reachable when solicited, else Stale; its queued packets move to
    /// <paramref name="sendable"/> for the caller to send to <paramref name="mac"/>. Otherwise: with O clear and a
    /// different address, a Reachable entry turns Stale and nothing else changes; else the address is taken, a solicited
    /// advertisement makes the entry Reachable, an unsolicited one with a new address makes it Stale.
    /// </summary>
    public int OnAdvertisement(Ipv6Address ip, MacAddress? targetLinkLayer, NdpNeighborFlags flags, Instant now, Span<PacketBuffer> sendable, out MacAddress mac)
    {
        CheckSpan(sendable);
        mac = default;
        if (!_index.TryGetValue(ip, out int e))
        {
            UnsolicitedIgnored++;
            return 0;
        }
        ref Entry entry = ref _entries[e];
        bool solicited = (flags & NdpNeighborFlags.Solicited) != 0;
        bool overrideFlag = (flags & NdpNeighborFlags.Override) != 0;
        bool router = (flags & NdpNeighborFlags.Router) != 0;
        if (targetLinkLayer is MacAddress t && !IsUsable(ip, t))
        {
            return 0;
        }
        if (entry.State == NeighborState.Incomplete)
        {
            if (targetLinkLayer is not MacAddress tll)
            {
                return 0;
            }
            entry.Mac = tll;
            entry.IsRouter = router;
            mac = tll;
            return Resolved(e, solicited ? NeighborState.Reachable : NeighborState.Stale, now, sendable);
        }
        mac = entry.Mac;
        bool differs = targetLinkLayer is MacAddress n && n != entry.Mac;
        if (!overrideFlag && differs)
        {
            if (entry.State == NeighborState.Reachable)
            {
                entry.State = NeighborState.Stale;
                SetDeadline(ref entry, now + _options.StaleTime);
            }
            return 0;
        }
        if (targetLinkLayer is MacAddress update)
        {
            entry.Mac = update;
            mac = update;
        }
        entry.IsRouter = router;
        if (solicited)
        {
            entry.State = NeighborState.Reachable;
            entry.Probes = 0;
            SetDeadline(ref entry, now + ReachableTime);
        }
        else if (differs)
        {
            entry.State = NeighborState.Stale;
            SetDeadline(ref entry, now + _options.StaleTime);
        }
        return 0;
    }

    /// <summary>Forward progress from an upper layer (RFC 4861 section 7.3.1, e.g. a TCP acknowledgement): the entry turns Reachable.</summary>
    public void Confirm(Ipv6Address ip, Instant now)
    {
        if (_index.TryGetValue(ip, out int e) && _entries[e].State != NeighborState.Incomplete)
        {
            ref Entry entry = ref _entries[e];
            entry.State = NeighborState.Reachable;
            entry.Probes = 0;
            SetDeadline(ref entry, now + ReachableTime);
        }
    }

    /// <summary>Removes <paramref name="ip"/>'s entry, freeing its queued packets (counted as evicted).</summary>
    public bool Remove(Ipv6Address ip)
    {
        if (!_index.TryGetValue(ip, out int e))
        {
            return false;
        }
        Release(e);
        return true;
    }

    /// <summary>
    /// Runs the timers due at <paramref name="now"/> (RFC 4861 section 7.3.3): Incomplete entries multicast again until
    /// MAX_MULTICAST_SOLICIT, then fail (their packets go to <paramref name="unreachable"/>, or are freed and counted when
    /// it is full); Reachable entries turn Stale; Delay entries start probing (a unicast solicitation); Probe entries probe
    /// again until MAX_UNICAST_SOLICIT, then are removed; unused Stale entries are removed after StaleTime. When
    /// <paramref name="solicitations"/> fills up, the rest waits for the next call (<see cref="NeighborPollResult.HasMore"/>).
    /// </summary>
    public NeighborPollResult Poll(Instant now, Span<NeighborSolicitation> solicitations, Span<PacketBuffer> unreachable)
    {
        if (now < _nextDeadline)
        {
            return default;
        }
        int sent = 0;
        int failed = 0;
        bool more = false;
        Instant next = Instant.Never;
        for (int e = 0; e < _entries.Length; e++)
        {
            if (!_used[e])
            {
                continue;
            }
            ref Entry entry = ref _entries[e];
            if (now >= entry.Deadline)
            {
                bool wantsSolicit = entry.State is NeighborState.Delay
                    || (entry.State == NeighborState.Incomplete && entry.Probes < _options.MaxMulticastSolicit)
                    || (entry.State == NeighborState.Probe && entry.Probes < _options.MaxUnicastSolicit);
                if (wantsSolicit && sent == solicitations.Length)
                {
                    more = true;
                    continue;
                }
                switch (entry.State)
                {
                    case NeighborState.Reachable:
                        entry.State = NeighborState.Stale;
                        entry.Deadline = now + _options.StaleTime;
                        break;
                    case NeighborState.Delay:
                        entry.State = NeighborState.Probe;
                        entry.Probes = 1;
                        entry.Deadline = now + RetransTimer;
                        solicitations[sent++] = new NeighborSolicitation(entry.Ip, entry.Mac);
                        break;
                    case NeighborState.Incomplete when wantsSolicit:
                        entry.Probes++;
                        entry.Deadline = now + RetransTimer;
                        solicitations[sent++] = new NeighborSolicitation(entry.Ip, null);
                        break;
                    case NeighborState.Probe when wantsSolicit:
                        entry.Probes++;
                        entry.Deadline = now + RetransTimer;
                        solicitations[sent++] = new NeighborSolicitation(entry.Ip, entry.Mac);
                        break;
                    case NeighborState.Incomplete:
                        ResolutionFailures++;
                        PendingDroppedUnresolved += _pending.TakeAllOrFree(e, unreachable, ref failed);
                        Release(e);
                        continue;
                    case NeighborState.Probe:
                        ProbeFailures++;
                        Release(e);
                        continue;
                    default: // Stale, unused for StaleTime
                        Release(e);
                        continue;
                }
            }
            next = Instant.Min(next, entry.Deadline);
        }
        _nextDeadline = more ? now : next;
        return new NeighborPollResult(sent, failed, more);
    }

    /// <summary>When <see cref="Poll"/> has work next (a lower bound), or <see cref="Instant.Never"/>.</summary>
    public Instant PollAt() => _nextDeadline;

    /// <summary>Frees every queued packet and forgets every entry (shutdown, tests).</summary>
    public void Clear()
    {
        for (int e = 0; e < _entries.Length; e++)
        {
            if (_used[e])
            {
                Release(e);
            }
        }
    }

    private int Resolved(int e, NeighborState state, Instant now, Span<PacketBuffer> sendable)
    {
        ref Entry entry = ref _entries[e];
        int moved = _pending.TakeAll(e, sendable);
        entry.Probes = 0;
        if (state == NeighborState.Reachable)
        {
            entry.State = NeighborState.Reachable;
            SetDeadline(ref entry, now + ReachableTime);
        }
        else if (moved > 0)
        {
            // Sending the queued packets is a use of a Stale entry: Delay (section 7.3.3).
            entry.State = NeighborState.Delay;
            SetDeadline(ref entry, now + _options.DelayFirstProbeTime);
        }
        else
        {
            entry.State = NeighborState.Stale;
            SetDeadline(ref entry, now + _options.StaleTime);
        }
        return moved;
    }

    private int Create(Ipv6Address ip, Instant now)
    {
        if (_freeCount == 0)
        {
            int victim = 0;
            for (int e = 1; e < _entries.Length; e++)
            {
                if (_entries[e].LastUsed < _entries[victim].LastUsed)
                {
                    victim = e;
                }
            }
            Evictions++;
            Release(victim);
        }
        int i = _free[--_freeCount];
        _entries[i] = new Entry { Ip = ip, LastUsed = now };
        _used[i] = true;
        _index[ip] = i;
        return i;
    }

    private void Release(int e)
    {
        ref Entry entry = ref _entries[e];
        PendingDroppedEvicted += _pending.FreeAll(e);
        _index.Remove(entry.Ip);
        _used[e] = false;
        _free[_freeCount++] = e;
    }

    private void SetDeadline(ref Entry entry, Instant deadline)
    {
        entry.Deadline = deadline;
        if (deadline < _nextDeadline)
        {
            _nextDeadline = deadline;
        }
    }

    private static bool IsUsable(Ipv6Address ip, MacAddress mac) => !ip.IsMulticast && !ip.IsUnspecified && !mac.IsMulticast && mac != MacAddress.Zero;

    private void CheckSpan(Span<PacketBuffer> sendable)
    {
        if (sendable.Length < _perEntry)
        {
            throw new ArgumentException($"The span must hold {_perEntry} buffers (MaxPendingPerDestination).", nameof(sendable));
        }
    }
}
