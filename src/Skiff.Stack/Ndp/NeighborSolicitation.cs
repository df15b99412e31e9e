using Skiff.Wire;

namespace Skiff.Stack.Ndp;

/// <summary>A Neighbor Solicitation the cache asks the caller to send (RFC 4861 section 7.2.2 and 7.3.3).</summary>
/// <param name="Target">The address to resolve or probe.</param>
/// <param name="Destination">Null: multicast to the target's solicited-node group (resolution); else the cached MAC of a unicast probe.</param>
public readonly record struct NeighborSolicitation(Ipv6Address Target, MacAddress? Destination);

/// <summary>What <see cref="NeighborCache.Poll"/> did: solicitations to send, packets whose resolution failed, and whether more is due.</summary>
public readonly record struct NeighborPollResult(int SolicitationCount, int UnreachableCount, bool HasMore);
