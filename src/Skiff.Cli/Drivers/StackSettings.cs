using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>The device and address options shared by <c>serve</c>, <c>send</c> and <c>fetch</c>, parsed and checked.</summary>
/// <remarks><c>Ipv6</c>: the addresses of <c>--ip6</c>; empty means IPv6 off, as before it existed.</remarks>
internal sealed record StackSettings(string Driver, string InterfaceName, Ipv4Cidr Address, Ipv4Address? Gateway, MacAddress? Mac,
    IReadOnlyList<Skiff.Stack.Ipv6.Ipv6Prefix>? Ipv6 = null);
