using Skiff.Wire;

namespace Skiff.Cli.Forwarding;

/// <summary>One <c>--iface</c> of <c>skiff fwd</c> with the options that follow it (<c>--ip</c>, <c>--peer-mac</c>, <c>--mtu</c>).</summary>
internal sealed record FwdPortSpec(string Interface, Ipv4Cidr? Address, MacAddress? PeerMac, int MtuBytes);
