using Skiff.Wire;

namespace Skiff.Stack.Udp;

/// <summary>An IP address (IPv4 or IPv6) and UDP port.</summary>
/// <param name="Address">The IPv4 address; <see cref="Ipv4Address.Any"/> in a bound socket's endpoint means every address of the interface, of either family.</param>
/// <param name="Port">The UDP port (RFC 768); 0 is not a valid destination.</param>
public readonly record struct UdpEndpoint(Ipv4Address Address, ushort Port)
{
    private readonly IpAddress _ip = Address;

    /// <summary>An endpoint of either family (IPv6: <c>new UdpEndpoint(Ipv6Address.Parse("fd00::1"), 53)</c>).</summary>
    /// <param name="address">The address; unspecified (0.0.0.0 or ::) in a bound socket's endpoint means every address.</param>
    /// <param name="port">The UDP port.</param>
    public UdpEndpoint(IpAddress address, ushort port) : this(Ipv4Address.Any, port)
    {
        _ip = address;
    }

    /// <summary>The IPv4 address; <see cref="Ipv4Address.Any"/> for an IPv6 endpoint (read <see cref="Ip"/>).</summary>
    public Ipv4Address Address { get => _ip.Ipv4; init => _ip = value; }

    /// <summary>The address, IPv4 or IPv6.</summary>
    public IpAddress Ip => _ip;

    /// <summary>True for an IPv6 endpoint.</summary>
    public bool IsIpv6 => _ip.IsIpv6;

    /// <summary>The endpoint as <c>ADDRESS:PORT</c>, <c>[ADDRESS]:PORT</c> for IPv6.</summary>
    public override string ToString() => $"{_ip.ToUriHost()}:{Port}";
}
