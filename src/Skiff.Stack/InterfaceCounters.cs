namespace Skiff.Stack;

/// <summary>
/// Packet counters of one interface: totals and drops by <see cref="DropReason"/>. Written by the owning
/// loop only; readers on other threads may see slightly stale values.
/// </summary>
public sealed class InterfaceCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    /// <summary>Frames the interface took from the receive path (<see cref="Interface.Receive"/>), dropped ones included.</summary>
    public long RxFrames;
    /// <summary>Bytes of those frames: each frame's data window as the device delivered it, Ethernet header included.</summary>
    public long RxBytes;
    /// <summary>Frames the stack queued for transmit into its output (answers, socket data, ARP, fragments); a frame refused by a full output counts as <see cref="DropReason.TxQueueFull"/> instead.</summary>
    public long TxFrames;
    /// <summary>Bytes of those frames, Ethernet header included.</summary>
    public long TxBytes;
    /// <summary>ARP requests built (RFC 826): broadcast to resolve a next hop, unicast to refresh an entry, and gratuitous announcements.</summary>
    public long ArpRequestsSent;
    /// <summary>ARP replies built for requests that asked for one of our addresses.</summary>
    public long ArpRepliesSent;
    /// <summary>ICMP echo replies built for unicast echo requests (RFC 792; broadcast requests are not answered).</summary>
    public long IcmpEchoRepliesSent;
    /// <summary>ICMP errors built (destination unreachable, time exceeded, fragmentation needed): those the rate limit withheld count as <see cref="DropReason.IcmpRateLimited"/> instead.</summary>
    public long IcmpErrorsSent;
    /// <summary>IPv4 fragments built from datagrams larger than the MTU (RFC 791), each fragment counted.</summary>
    public long FragmentsSent;
    /// <summary>IPv4 datagrams completed from fragments (RFC 791, RFC 815).</summary>
    public long DatagramsReassembled;
    /// <summary>UDP datagrams queued to a socket, both families (the IPv6 ones are also in <see cref="Ipv6UdpDatagramsReceived"/>).</summary>
    public long UdpDatagramsReceived;
    /// <summary>UDP datagrams built from socket send queues, both families (the IPv6 ones are also in <see cref="Ipv6UdpDatagramsSent"/>).</summary>
    public long UdpDatagramsSent;
    /// <summary>UDP datagrams over IPv6 queued to a socket.</summary>
    public long Ipv6UdpDatagramsReceived;
    /// <summary>UDP datagrams over IPv6 built from socket send queues.</summary>
    public long Ipv6UdpDatagramsSent;
    /// <summary>TCP segments over IPv6 handed to the TCP layer (checksum not yet verified).</summary>
    public long Ipv6TcpSegmentsReceived;
    /// <summary>TCP segments over IPv6 built (data, control and replies for no connection).</summary>
    public long Ipv6TcpSegmentsSent;
    /// <summary>Neighbor Solicitations sent (RFC 4861 section 7.2.2): to resolve, to probe, and for DAD (RFC 4862).</summary>
    public long NeighborSolicitationsSent;
    /// <summary>Neighbor Advertisements built, solicited (RFC 4861 section 7.2.4) or unsolicited.</summary>
    public long NeighborAdvertisementsSent;
    /// <summary>Router Solicitations sent to all-routers (RFC 4861 section 6.3.7).</summary>
    public long RouterSolicitationsSent;
    /// <summary>MLDv2 reports built to join our solicited-node groups (RFC 3810 section 5.2).</summary>
    public long MldReportsSent;
    /// <summary>ICMPv6 echo replies built (RFC 4443 section 4.2), multicast requests included.</summary>
    public long Icmpv6EchoRepliesSent;
    /// <summary>ICMPv6 errors built (RFC 4443 section 3): those the rate limit withheld count as <see cref="DropReason.Icmpv6RateLimited"/> instead.</summary>
    public long Icmpv6ErrorsSent;
    /// <summary>IPv6 fragments built from packets larger than the MTU (RFC 8200 section 4.5), each fragment counted.</summary>
    public long Ipv6FragmentsSent;
    /// <summary>IPv6 packets completed from fragments (RFC 8200 section 4.5).</summary>
    public long Ipv6DatagramsReassembled;
    /// <summary>Addresses of ours that DAD found in use by another node (RFC 4862 section 5.4.5) and that are therefore never used.</summary>
    public long DuplicateAddressesDetected;
    /// <summary>Frames a forwarder (Skiff.Forwarding) sent on towards another port.</summary>
    public long ForwardedFrames;
    /// <summary>Forwarded frames copied from the receiving port's pool into the sending port's (two AF_XDP UMEMs).</summary>
    public long ForwardCopies;
    /// <summary>Times TCP small queues held a data segment back in its socket because enough of the socket's bytes already waited in the egress qdisc (<see cref="IEgressBacklog"/>).</summary>
    public long TcpSmallQueueThrottles;

    /// <summary>Drops of one cause.</summary>
    public long Drops(DropReason reason) => _drops[(int)reason];

    /// <summary>All drops, excluding <see cref="DropReason.FragmentHeld"/> (a held fragment is not lost).</summary>
    public long TotalDrops
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _drops.Length; i++)
            {
                if (i != (int)DropReason.FragmentHeld)
                {
                    sum += _drops[i];
                }
            }
            return sum;
        }
    }

    /// <summary>Counts one drop for <paramref name="reason"/>. The stack's own stages call it, and so does the engine for frames its pipeline drops on this interface's loop (hooks, redirects). Loop thread only.</summary>
    public void Drop(DropReason reason) => _drops[(int)reason]++;

    /// <summary>The non-zero drop counters, for reports (allocates; not for the data path).</summary>
    public IEnumerable<(DropReason Reason, long Count)> NonZeroDrops()
    {
        for (int i = 0; i < _drops.Length; i++)
        {
            if (_drops[i] != 0)
            {
                yield return ((DropReason)i, _drops[i]);
            }
        }
    }
}
