namespace Skiff.Stack.Arp;

/// <summary>Bounds and timers of an <see cref="ArpCache"/>. The defaults follow Linux where RFC 1122 leaves a choice.</summary>
public sealed record ArpCacheOptions
{
    /// <summary>Most entries (any state). When full, a new entry evicts the least recently used one. Default 1024.</summary>
    public int MaxEntries { get; init; } = 1024;

    /// <summary>
    /// Most packets queued per destination while its address is being resolved (RFC 1122 section 2.3.2.2:
    /// "at least one"; Linux allows about 100 through <c>unres_qlen_bytes</c>, but a small bound keeps a flood towards
    /// unresolvable addresses from pinning the pool: at most MaxEntries × this many frames). Overflow frees the oldest. Default 3.
    /// </summary>
    public int MaxPendingPerDestination { get; init; } = 3;

    /// <summary>How long a learned mapping is Reachable before it turns Stale (RFC 1122 section 2.3.2.1 cache timeout). Default 60 s.</summary>
    public Duration ReachableTime { get; init; } = Duration.FromSeconds(60);

    /// <summary>How long a Stale entry that nobody uses is kept before it is removed. Default 60 s.</summary>
    public Duration StaleTime { get; init; } = Duration.FromSeconds(60);

    /// <summary>Least time between two requests for one destination (RFC 1122 section 2.3.2.1: at most one per second). Default 1 s.</summary>
    public Duration RequestInterval { get; init; } = Duration.FromSeconds(1);

    /// <summary>Requests sent for one resolution (or one stale poll) before giving up. Default 3 (Linux <c>mcast_solicit</c>).</summary>
    public int MaxRequests { get; init; } = 3;
}
