using Skiff.Wire;

namespace Skiff.Stack.Udp;

/// <summary>An IPv4 address and UDP port.</summary>
/// <param name="Address">The IPv4 address; <see cref="Ipv4Address.Any"/> in a bound socket's endpoint means every address of the interface.</param>
/// <param name="Port">The UDP port (RFC 768); 0 is not a valid destination.</param>
public readonly record struct UdpEndpoint(Ipv4Address Address, ushort Port)
{
    /// <summary>The endpoint as <c>ADDRESS:PORT</c>.</summary>
    public override string ToString() => $"{Address}:{Port}";
}
