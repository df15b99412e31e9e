namespace Skiff.Stack.Ndp;

/// <summary>Bounds and timers of a <see cref="NeighborCache"/>; the defaults are RFC 4861 section 10's constants.</summary>
public sealed record NeighborCacheOptions
{
    /// <summary>Most entries (any state). When full, a new entry evicts the least recently used one. Default 1024.</summary>
    public int MaxEntries { get; init; } = 1024;

    /// <summary>Most packets queued per unresolved address (RFC 4861 section 7.2.2: "at least one"); overflow frees the oldest. Default 3.</summary>
    public int MaxPendingPerDestination { get; init; } = 3;

    /// <summary>BaseReachableTime (REACHABLE_TIME): the reachable time is drawn between 0.5 and 1.5 times it. An RA may change it. Default 30 s.</summary>
    public Duration BaseReachableTime { get; init; } = Duration.FromSeconds(30);

    /// <summary>RetransTimer (RETRANS_TIMER): time between solicitations. An RA may change it. Default 1 s.</summary>
    public Duration RetransTimer { get; init; } = Duration.FromSeconds(1);

    /// <summary>DELAY_FIRST_PROBE_TIME: how long a used Stale entry waits in Delay for a confirmation before probing. Default 5 s.</summary>
    public Duration DelayFirstProbeTime { get; init; } = Duration.FromSeconds(5);

    /// <summary>MAX_MULTICAST_SOLICIT: multicast solicitations before a resolution fails. Default 3.</summary>
    public int MaxMulticastSolicit { get; init; } = 3;

    /// <summary>MAX_UNICAST_SOLICIT: unicast probes before an unconfirmed neighbour is removed. Default 3.</summary>
    public int MaxUnicastSolicit { get; init; } = 3;

    /// <summary>How long a Stale entry nobody uses is kept (Linux's gc_stale_time). Default 60 s.</summary>
    public Duration StaleTime { get; init; } = Duration.FromSeconds(60);
}
