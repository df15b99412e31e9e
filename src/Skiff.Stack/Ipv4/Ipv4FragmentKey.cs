using Skiff.Wire;

namespace Skiff.Stack.Ipv4;

/// <summary>What makes fragments belong to one datagram (RFC 791 section 3.2: source, destination, protocol and identification).</summary>
public readonly record struct Ipv4FragmentKey(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, ushort Identification);
