using System.Diagnostics.CodeAnalysis;
using Skiff.Stack.Ipv4;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    /// <summary>Writes TCP segments into fresh frames and sends them down the IPv4 path.</summary>
    private readonly struct TcpEgress(Interface owner) : ITcpEmitter
    {
        public bool TryEmit(in TcpTuple tuple, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond) =>
            owner.EmitTcp(tuple, repr, payloadFirst, payloadSecond);
    }

    private bool EmitTcp(in TcpTuple tuple, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond)
    {
        if (!CanQueueTx())
        {
            return false;
        }
        uint txHash = TxHashOf(tuple);
        bool hasData = payloadFirst.Length + payloadSecond.Length > 0;
        if (hasData && _output.Backlog is IEgressBacklog backlog && !SmallQueueHasRoom(backlog, txHash))
        {
            return false; // TCP small queues: the data stays in the socket until the qdisc drains (Interface.SmallQueues.cs)
        }
        if (tuple.IsIpv6)
        {
            return EmitTcp6(tuple, repr, payloadFirst, payloadSecond, txHash);
        }
        int header = repr.HeaderLength;
        int total = header + payloadFirst.Length + payloadSecond.Length;
        if (!TryAllocateL4(total, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return false;
        }
        WriteTcp(buffer, repr, payloadFirst, payloadSecond, Checksum.PseudoHeader(tuple.LocalAddress, tuple.RemoteAddress, IpProtocol.Tcp, total));
        buffer.RssHash = txHash;
        SendIpv4(buffer, tuple.LocalAddress, tuple.RemoteAddress, IpProtocol.Tcp);
        ChargeSmallQueue(txHash, total + Ipv4HeaderBytes + EthernetHeaderBytes);
        return true;
    }

    /// <summary>Writes the segment (header, then the payload's two parts) into <paramref name="buffer"/>, whose data window is the segment.</summary>
    private void WriteTcp(PacketBuffer buffer, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond, uint pseudo)
    {
        Span<byte> data = buffer.Data;
        int header = repr.HeaderLength;
        payloadFirst.CopyTo(data[header..]);
        payloadSecond.CopyTo(data[(header + payloadFirst.Length)..]);
        repr.Emit(new TcpSegment(data), pseudo, fillChecksum: (_output.Capabilities.TxChecksum & ChecksumOffloads.Tcp) == 0);
    }

    /// <summary>A TCP segment over IPv6 (RFC 8200 section 8.1 pseudo-header). Without IPv6 on the interface it is lost and counted as no route.</summary>
    private bool EmitTcp6(in TcpTuple tuple, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond, uint txHash)
    {
        int total = repr.HeaderLength + payloadFirst.Length + payloadSecond.Length;
        if (_v6 is null)
        {
            Counters.Drop(DropReason.NoRoute);
            return true;
        }
        if (!TryAllocateL4(total, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return false;
        }
        Ipv6Address source = tuple.LocalIp.Ipv6, destination = tuple.RemoteIp.Ipv6;
        WriteTcp(buffer, repr, payloadFirst, payloadSecond, Checksum.PseudoHeader(source, destination, IpProtocol.Tcp, total));
        Counters.Ipv6TcpSegmentsSent++;
        buffer.RssHash = txHash;
        SendIpv6(buffer, source, destination, IpProtocol.Tcp);
        ChargeSmallQueue(txHash, total + Ipv6Packet.HeaderLength + EthernetHeaderBytes);
        return true;
    }

    private void DispatchUdp()
    {
        for (int i = 0; i < Udp.SocketCount; i++)
        {
            UdpSocket socket = Udp.SocketAt(i);
            while (socket.SendQueued > 0 && CanQueueTx() && socket.TryTakeSend(out PacketBuffer? buffer, out UdpEndpoint to))
            {
                if (!buffer.TryPrepend(UdpPacket.HeaderLength))
                {
                    DropFrame(buffer, DropReason.NoBuffer);
                    continue;
                }
                UdpRepr repr = new() { SourcePort = socket.LocalEndpoint.Port, DestinationPort = to.Port, PayloadLength = buffer.Length - UdpPacket.HeaderLength };
                if (to.IsIpv6)
                {
                    SendUdp6(buffer, socket.LocalEndpoint.Ip, to.Ip.Ipv6, repr);
                    continue;
                }
                if (socket.LocalEndpoint.IsIpv6)
                {
                    DropFrame(buffer, DropReason.NoRoute); // an IPv6-bound socket has no IPv4 source
                    continue;
                }
                Ipv4Address from = socket.LocalEndpoint.Address.IsUnspecified ? SourceFor(to.Address) : socket.LocalEndpoint.Address;
                uint pseudo = Checksum.PseudoHeader(from, to.Address, IpProtocol.Udp, buffer.Length);
                repr.Emit(new UdpPacket(buffer.Data), pseudo, fillChecksum: (_output.Capabilities.TxChecksum & ChecksumOffloads.Udp) == 0);
                Counters.UdpDatagramsSent++;
                SendIpv4(buffer, from, to.Address, IpProtocol.Udp);
            }
        }
    }

    /// <summary>A frame whose data window is <paramref name="length"/> bytes after room for the IP and Ethernet headers.</summary>
    private bool TryAllocateL4(int length, [NotNullWhen(true)] out PacketBuffer? buffer)
    {
        PacketPool pool = _pool.HeadroomBytes + length <= _pool.FrameBytes ? _pool : _largePool;
        if (pool.HeadroomBytes + length > pool.FrameBytes || !pool.TryAllocate(out buffer))
        {
            buffer = null;
            return false;
        }
        buffer.TrySetData(pool.HeadroomBytes, length);
        return true;
    }

    /// <summary>
    /// The kernel's ip_queue_xmit: route, fragment to the MTU (RFC 791), add the header, resolve the
    /// next hop. Takes ownership of <paramref name="l4"/> (its data is the L4 message).
    /// </summary>
    private void SendIpv4(PacketBuffer l4, Ipv4Address source, Ipv4Address destination, IpProtocol protocol)
    {
        bool broadcast = IsBroadcastForUs(destination);
        Ipv4Address nextHop = destination;
        if (!broadcast)
        {
            if (!Routes.TryLookup(destination, out RouteMatch match))
            {
                DropFrame(l4, DropReason.NoRoute);
                return;
            }
            nextHop = match.NextHop;
        }
        Ipv4Repr repr = new(source, destination, protocol, l4.Length, _options.DefaultTtl) { Identification = _ipIdentification++ };
        if (l4.Length + Ipv4HeaderBytes > _options.MtuBytes)
        {
            Fragment(l4, repr, nextHop, broadcast);
            return;
        }
        if (!l4.TryPrepend(Ipv4HeaderBytes))
        {
            DropFrame(l4, DropReason.NoBuffer);
            return;
        }
        repr.Emit(new Ipv4Packet(l4.Data), fillChecksum: (_output.Capabilities.TxChecksum & ChecksumOffloads.Ipv4) == 0);
        Resolve(l4, nextHop, broadcast);
    }

    private void Fragment(PacketBuffer l4, Ipv4Repr repr, Ipv4Address nextHop, bool broadcast)
    {
        // Every fragment but the last carries a multiple of 8 bytes (RFC 791).
        int chunk = (_options.MtuBytes - Ipv4HeaderBytes) & ~7;
        ReadOnlySpan<byte> payload = l4.Data;
        for (int offset = 0; offset < payload.Length; offset += chunk)
        {
            int length = Math.Min(chunk, payload.Length - offset);
            if (!TryAllocateL4(Ipv4HeaderBytes + length, out PacketBuffer? fragment))
            {
                Counters.Drop(DropReason.NoBuffer);
                break;
            }
            payload.Slice(offset, length).CopyTo(fragment.Data[Ipv4HeaderBytes..]);
            Ipv4Repr header = repr with { PayloadLength = length, FragmentOffset = offset, MoreFragments = offset + length < payload.Length };
            header.Emit(new Ipv4Packet(fragment.Data), fillChecksum: true);
            Counters.FragmentsSent++;
            Resolve(fragment, nextHop, broadcast);
        }
        l4.Free();
    }

    /// <summary>Neighbour resolution (RFC 826, RFC 1122 2.3.2.2): send now, or queue behind an ARP request.</summary>
    private void Resolve(PacketBuffer packet, Ipv4Address nextHop, bool broadcast)
    {
        if (broadcast)
        {
            TransmitIpv4Frame(packet, MacAddress.Broadcast);
            return;
        }
        switch (Arp.Lookup(nextHop, _now, out MacAddress mac))
        {
            case Skiff.Stack.Arp.ArpLookupResult.Found:
                TransmitIpv4Frame(packet, mac);
                break;
            case Skiff.Stack.Arp.ArpLookupResult.FoundSendRequest:
                TransmitIpv4Frame(packet, mac);
                SendArpRequest(SourceFor(nextHop), nextHop, mac);
                break;
            case Skiff.Stack.Arp.ArpLookupResult.SendRequest:
                if (!Arp.Enqueue(nextHop, packet))
                {
                    DropFrame(packet, DropReason.NeighborUnresolved);
                }
                SendArpRequest(SourceFor(nextHop), nextHop, MacAddress.Broadcast);
                break;
            default:
                if (!Arp.Enqueue(nextHop, packet))
                {
                    DropFrame(packet, DropReason.NeighborUnresolved);
                }
                break;
        }
    }

    private void TransmitIpv4Frame(PacketBuffer packet, MacAddress destination)
    {
        if (!PrependEthernet(packet, destination, EtherType.Ipv4))
        {
            DropFrame(packet, DropReason.NoBuffer);
            return;
        }
        QueueTx(packet);
    }

    private bool PrependEthernet(PacketBuffer buffer, MacAddress destination, EtherType type)
    {
        if (!buffer.TryPrepend(EthernetHeaderBytes))
        {
            return false;
        }
        new EthernetRepr(destination, _options.Mac, type).Emit(new EthernetFrame(buffer.Data));
        return true;
    }

    /// <summary>An ARP request (RFC 826): who has <paramref name="target"/>? Broadcast, or unicast to refresh an entry.</summary>
    private void SendArpRequest(Ipv4Address sender, Ipv4Address target, MacAddress destination)
    {
        ArpRepr repr = new(ArpOperation.Request, _options.Mac, sender, MacAddress.Zero, target);
        if (!TryAllocateL4(repr.BufferLength, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return;
        }
        repr.Emit(new ArpPacket(buffer.Data));
        PrependEthernet(buffer, destination, EtherType.Arp);
        Counters.ArpRequestsSent++;
        QueueTx(buffer);
    }

    private void PollArp()
    {
        if (_now < Arp.PollAt())
        {
            return;
        }
        Skiff.Stack.Arp.ArpPollResult result;
        do
        {
            result = Arp.Poll(_now, _arpRequests, _scratch);
            for (int i = 0; i < result.RequestCount; i++)
            {
                SendArpRequest(SourceFor(_arpRequests[i].Target), _arpRequests[i].Target, _arpRequests[i].Destination);
            }
            for (int i = 0; i < result.UnreachableCount; i++)
            {
                DropFrame(_scratch[i], DropReason.NeighborUnresolved);
                _scratch[i] = null!;
            }
        }
        while (result.HasMore);
    }

    private bool CanQueueTx() => _output.HasRoom();

    private void QueueTx(PacketBuffer frame)
    {
        if (!_output.TryAdd(frame))
        {
            DropFrame(frame, DropReason.TxQueueFull);
            return;
        }
        Counters.TxFrames++;
        Counters.TxBytes += frame.Length;
    }
}
