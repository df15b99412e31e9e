namespace Skiff.Forwarding;

/// <summary>What <see cref="Forwarder"/> does with a frame (docs/forwarding.md).</summary>
public enum ForwardingMode : byte
{
    /// <summary>Out of the paired port as it came, unchanged (netmap's bridge, testpmd's io).</summary>
    Io,

    /// <summary>Out of the paired port with the source MAC set to that port's and the destination to its peer's (DPDK l2fwd, testpmd's mac).</summary>
    Mac,

    /// <summary>An IPv4 router (RFC 1812): longest-prefix match, ARP, TTL, ICMP errors (DPDK l3fwd with the router's duties).</summary>
    L3,
}
