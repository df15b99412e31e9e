using Skiff.Wire;

namespace Skiff.Stack.Ipv6;

/// <summary>What identifies the fragments of one IPv6 packet (RFC 8200 section 4.5): source, destination and Identification.</summary>
/// <param name="Source">The packet's source address.</param>
/// <param name="Destination">The packet's destination address.</param>
/// <param name="Identification">The 32-bit Identification of the Fragment header.</param>
public readonly record struct Ipv6FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification);
