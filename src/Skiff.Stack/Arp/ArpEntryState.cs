namespace Skiff.Stack.Arp;

/// <summary>The state of one <see cref="ArpCache"/> entry.</summary>
public enum ArpEntryState : byte
{
    /// <summary>No entry.</summary>
    None = 0,

    /// <summary>A request is out and no reply has come yet; packets wait in the entry's queue.</summary>
    Incomplete = 1,

    /// <summary>The mapping was learned less than <see cref="ArpCacheOptions.ReachableTime"/> ago.</summary>
    Reachable = 2,

    /// <summary>The mapping is older than <see cref="ArpCacheOptions.ReachableTime"/>: still used, but confirmed by a unicast poll on use (RFC 1122 section 2.3.2.1).</summary>
    Stale = 3,
}
