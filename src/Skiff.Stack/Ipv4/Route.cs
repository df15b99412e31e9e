using Skiff.Wire;

namespace Skiff.Stack.Ipv4;

/// <summary>
/// One entry of a <see cref="RouteTable"/>: packets to <see cref="Destination"/> leave through
/// interface <see cref="InterfaceIndex"/>, to <see cref="Gateway"/> or, when the gateway is
/// <see cref="Ipv4Address.Any"/>, straight to the destination on the attached link (RFC 1122 section 3.3.1).
/// </summary>
/// <param name="Destination">The prefix this route covers; host bits are ignored (the table keys on the network address). 0.0.0.0/0 is the default route.</param>
/// <param name="Gateway">The next-hop router, or <see cref="Ipv4Address.Any"/> for an on-link (directly connected) route.</param>
/// <param name="InterfaceIndex">The stack's interface the packet leaves through; 0 when there is one.</param>
public readonly record struct Route(Ipv4Cidr Destination, Ipv4Address Gateway, int InterfaceIndex = 0)
{
    /// <summary>True when the destination is on the attached link (no gateway).</summary>
    public bool IsOnLink => Gateway.IsUnspecified;
}
