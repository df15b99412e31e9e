namespace Skiff.Stack.Ndp;

/// <summary>What to do with a packet for a neighbour (<see cref="NeighborCache.Lookup"/>).</summary>
public enum NeighborLookupResult : byte
{
    /// <summary>Send it to the MAC returned.</summary>
    Found,
    /// <summary>Resolution is under way: queue it (<see cref="NeighborCache.Enqueue"/>).</summary>
    Queue,
    /// <summary>A new Incomplete entry: queue it and multicast a Neighbor Solicitation to the target's solicited-node group.</summary>
    QueueAndSolicit,
}
