namespace Skiff.Stack;

/// <summary>
/// Packet counters of one interface: totals and drops by <see cref="DropReason"/>. Written by the owning
/// loop only; readers on other threads may see slightly stale values.
/// </summary>
public sealed class InterfaceCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DropReason>().Length];

    public long RxFrames;
    public long RxBytes;
    public long TxFrames;
    public long TxBytes;
    public long ArpRequestsSent;
    public long ArpRepliesSent;
    public long IcmpEchoRepliesSent;
    public long IcmpErrorsSent;
    public long FragmentsSent;
    public long DatagramsReassembled;
    public long UdpDatagramsReceived;
    public long UdpDatagramsSent;
    public long NeighborSolicitationsSent;
    public long NeighborAdvertisementsSent;
    public long RouterSolicitationsSent;
    public long MldReportsSent;
    public long Icmpv6EchoRepliesSent;
    public long Icmpv6ErrorsSent;
    public long Ipv6FragmentsSent;
    public long Ipv6DatagramsReassembled;
    public long DuplicateAddressesDetected;
    /// <summary>Frames a forwarder (Skiff.Forwarding) sent on towards another port.</summary>
    public long ForwardedFrames;
    /// <summary>Forwarded frames copied from the receiving port's pool into the sending port's (two AF_XDP UMEMs).</summary>
    public long ForwardCopies;

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
