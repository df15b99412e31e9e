using Skiff.Stack.Ipv6;
using Skiff.Stack.Ndp;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    /// <summary>
    /// The kernel's ip6_xmit / ip6_finish_output: add the header, fragment to the link MTU (RFC 8200 section 4.5; only
    /// the source fragments in IPv6), and resolve the next hop. Takes ownership of <paramref name="l4"/>, whose data is
    /// what follows the IPv6 header (extension headers included), <paramref name="next"/> being its first header.
    /// </summary>
    private void SendIpv6(PacketBuffer l4, Ipv6Address source, Ipv6Address destination, IpProtocol next, byte hopLimit = 0)
    {
        Ipv6State v6 = _v6!;
        byte hops = hopLimit != 0 ? hopLimit : v6.HopLimit;
        if (l4.Length + Ipv6Packet.HeaderLength > v6.LinkMtu)
        {
            FragmentIpv6(l4, new Ipv6Repr(source, destination, IpProtocol.Ipv6Fragment, 0, hops), next);
            return;
        }
        if (!l4.TryPrepend(Ipv6Packet.HeaderLength))
        {
            DropFrame(l4, DropReason.NoBuffer);
            return;
        }
        new Ipv6Repr(source, destination, next, l4.Length - Ipv6Packet.HeaderLength, hops).Emit(new Ipv6Packet(l4.Data));
        ResolveIpv6(l4, destination);
    }

    // RFC 8200 section 4.5: fragments of (MTU - 48) & ~7 bytes, each with a Fragment header carrying one Identification.
    private void FragmentIpv6(PacketBuffer l4, Ipv6Repr header, IpProtocol next)
    {
        Ipv6State v6 = _v6!;
        int chunk = (v6.LinkMtu - Ipv6Packet.HeaderLength - Ipv6FragmentRepr.HeaderLength) & ~7;
        uint id = v6.FragmentId;
        v6.FragmentId += (uint)(v6.NextRandom() & 0xFF) + 1; // not a plain counter (RFC 7739)
        ReadOnlySpan<byte> payload = l4.Data;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            int total = Ipv6Packet.HeaderLength + Ipv6FragmentRepr.HeaderLength + length;
            if (!TryAllocateL4(total, out PacketBuffer? fragment))
            {
                Counters.Drop(DropReason.NoBuffer);
                break;
            }
            Span<byte> data = fragment.Data;
            (header with { PayloadLength = total - Ipv6Packet.HeaderLength }).Emit(new Ipv6Packet(data));
            new Ipv6FragmentRepr(offset, offset + length < payload.Length, id).Emit(data[Ipv6Packet.HeaderLength..], next);
            payload.Slice(offset, length).CopyTo(data[(Ipv6Packet.HeaderLength + Ipv6FragmentRepr.HeaderLength)..]);
            Counters.Ipv6FragmentsSent++;
            ResolveIpv6(fragment, header.Destination);
        }
        l4.Free();
    }

    /// <summary>Next hop and neighbour resolution (RFC 4861 sections 5.2 and 7.2.2): send now, or queue behind a solicitation.</summary>
    private void ResolveIpv6(PacketBuffer packet, Ipv6Address destination)
    {
        Ipv6State v6 = _v6!;
        if (destination.IsMulticast)
        {
            TransmitIpv6Frame(packet, MacAddress.FromIpv6Multicast(destination));
            return;
        }
        Ipv6Address nextHop = destination;
        if (!v6.IsOnLink(destination, _now) && !v6.TryDefaultRouter(_now, out nextHop))
        {
            DropFrame(packet, DropReason.NoRoute);
            return;
        }
        switch (v6.Neighbors.Lookup(nextHop, _now, out MacAddress mac))
        {
            case NeighborLookupResult.Found:
                TransmitIpv6Frame(packet, mac);
                break;
            case NeighborLookupResult.QueueAndSolicit:
                if (!v6.Neighbors.Enqueue(nextHop, packet))
                {
                    DropFrame(packet, DropReason.NeighborUnresolved);
                }
                SendNeighborSolicitation(nextHop, null, dad: false);
                break;
            default:
                if (!v6.Neighbors.Enqueue(nextHop, packet))
                {
                    DropFrame(packet, DropReason.NeighborUnresolved);
                }
                break;
        }
    }

    private void TransmitIpv6Frame(PacketBuffer packet, MacAddress destination)
    {
        if (!PrependEthernet(packet, destination, EtherType.Ipv6))
        {
            DropFrame(packet, DropReason.NoBuffer);
            return;
        }
        QueueTx(packet);
    }

    /// <summary>Sends the packets a resolution released (their IPv6 headers are written) to <paramref name="mac"/>.</summary>
    private void SendResolved(int count, MacAddress mac)
    {
        for (int i = 0; i < count; i++)
        {
            PacketBuffer p = _scratch[i];
            _scratch[i] = null!;
            TransmitIpv6Frame(p, mac);
        }
    }
}
