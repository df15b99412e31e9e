using Skiff.Wire;

namespace Skiff.Stack.Ipv4;

/// <summary>What makes fragments belong to one datagram (RFC 791 section 3.2: source, destination, protocol and identification).</summary>
/// <param name="Source">The datagram's source address.</param>
/// <param name="Destination">The datagram's destination address.</param>
/// <param name="Protocol">The protocol the datagram carries.</param>
/// <param name="Identification">The 16-bit Identification field.</param>
public readonly record struct Ipv4FragmentKey(Ipv4Address Source, Ipv4Address Destination, IpProtocol Protocol, ushort Identification);
