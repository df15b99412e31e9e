using Skiff.Wire;

namespace Skiff.Stack.Arp;

/// <summary>An ARP request the cache asks the caller to send (RFC 826).</summary>
/// <param name="Target">The protocol address to resolve (the request's target IP).</param>
/// <param name="Destination">The Ethernet destination: <see cref="MacAddress.Broadcast"/> to resolve, or the known MAC for a unicast poll of a Stale entry.</param>
public readonly record struct ArpRequest(Ipv4Address Target, MacAddress Destination);
