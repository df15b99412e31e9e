namespace Skiff.Stack.Ndp;

/// <summary>The reachability states of a neighbour cache entry (RFC 4861 section 7.3.2).</summary>
public enum NeighborState : byte
{
    /// <summary>Address resolution is under way: multicast solicitations out, packets queued.</summary>
    Incomplete,
    /// <summary>Reachability was confirmed within the reachable time.</summary>
    Reachable,
    /// <summary>The link-layer address is known but unconfirmed; it is used, and its use starts a check.</summary>
    Stale,
    /// <summary>A packet was sent to a Stale neighbour; probing starts after DELAY_FIRST_PROBE_TIME without confirmation.</summary>
    Delay,
    /// <summary>Unicast solicitations are out to confirm the neighbour.</summary>
    Probe,
}
