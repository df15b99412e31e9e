using Skiff.Wire;

namespace Skiff.Stack.Ipv6;

/// <summary>What identifies the fragments of one IPv6 packet (RFC 8200 section 4.5): source, destination and Identification.</summary>
public readonly record struct Ipv6FragmentKey(Ipv6Address Source, Ipv6Address Destination, uint Identification);
