using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>The device and address options shared by <c>serve</c>, <c>send</c> and <c>fetch</c>, parsed and checked.</summary>
internal sealed record StackSettings(string Driver, string InterfaceName, Ipv4Cidr Address, Ipv4Address? Gateway, MacAddress? Mac);
