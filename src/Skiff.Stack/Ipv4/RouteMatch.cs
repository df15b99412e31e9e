using Skiff.Wire;

namespace Skiff.Stack.Ipv4;

/// <summary>The outcome of a successful <see cref="RouteTable.TryLookup"/>.</summary>
/// <param name="NextHop">The address to resolve with ARP: the destination itself for an on-link route, else the route's gateway.</param>
/// <param name="Route">The most specific route that matched.</param>
public readonly record struct RouteMatch(Ipv4Address NextHop, Route Route)
{
    /// <summary>The interface to send on (<see cref="Route.InterfaceIndex"/>).</summary>
    public int InterfaceIndex => Route.InterfaceIndex;
}
