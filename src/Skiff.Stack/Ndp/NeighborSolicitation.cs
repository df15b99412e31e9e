using Skiff.Wire;

namespace Skiff.Stack.Ndp;

/// <summary>A Neighbor Solicitation the cache asks the caller to send (RFC 4861 section 7.2.2 and 7.3.3).</summary>
/// <param name="Target">The address to resolve or probe.</param>
/// <param name="Destination">Null: multicast to the target's solicited-node group (resolution); else the cached MAC of a unicast probe.</param>
public readonly record struct NeighborSolicitation(Ipv6Address Target, MacAddress? Destination);

/// <summary>What <see cref="NeighborCache.Poll"/> did: solicitations to send, packets whose resolution failed, and whether more is due.</summary>
/// <param name="SolicitationCount">Solicitations written to the caller's span: send each.</param>
/// <param name="UnreachableCount">Packets written to the caller's unreachable span: their neighbour did not answer; the caller owns them.</param>
/// <param name="HasMore">True when a span filled up before all due work was done: call again.</param>
public readonly record struct NeighborPollResult(int SolicitationCount, int UnreachableCount, bool HasMore);
