using Skiff.Wire;

namespace Skiff.Stack.Udp;

/// <summary>An IPv4 address and UDP port.</summary>
public readonly record struct UdpEndpoint(Ipv4Address Address, ushort Port)
{
    public override string ToString() => $"{Address}:{Port}";
}
