using Skiff.Wire;

namespace Skiff.Forwarding;

/// <summary>Where a route sends a packet: out of <paramref name="Port"/>, to <paramref name="Gateway"/> or, when it is unspecified, to the destination itself (a connected route).</summary>
public readonly record struct NextHop(int Port, Ipv4Address Gateway)
{
    /// <summary>True for a connected route: the destination is on the port's link.</summary>
    public bool IsOnLink => Gateway.IsUnspecified;
}
