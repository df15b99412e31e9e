using Skiff.Wire;

namespace Skiff.Forwarding;

/// <summary>One port of a forwarder, as the command line describes it.</summary>
public sealed record ForwardingPort
{
    /// <summary>The port's own MAC: the source of the frames it sends in mac and l3 modes, the address it answers ARP with.</summary>
    public required MacAddress Mac { get; init; }

    /// <summary>mac mode: the destination MAC of frames leaving this port (testpmd's --eth-peer). Default 02:00:00:00:00:0N, as DPDK l2fwd's, N the port.</summary>
    public MacAddress? PeerMac { get; init; }

    /// <summary>l3 mode: the router's address on this port, with the prefix of the connected network. Required there.</summary>
    public Ipv4Cidr? Address { get; init; }

    /// <summary>Largest IPv4 packet the port sends (l3 mode: larger ones with DF get fragmentation-needed). Default 1500.</summary>
    public int MtuBytes { get; init; } = 1500;
}
