using Skiff.Stack.Ipv4;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    /// <summary>L2: Ethernet demux (the kernel's netif_receive_skb). Takes ownership of <paramref name="frame"/>.</summary>
    private void Ingress(PacketBuffer frame)
    {
        if (EthernetFrame.TryCreate(frame.Data, out EthernetFrame eth) != WireError.Ok
            || EthernetRepr.TryParse(eth, out EthernetRepr ethRepr) != WireError.Ok)
        {
            DropFrame(frame, DropReason.EthernetMalformed);
            return;
        }
        if (ethRepr.Destination != _options.Mac && !ethRepr.Destination.IsBroadcast && !IsOurMulticastMac(ethRepr.Destination))
        {
            DropFrame(frame, DropReason.NotOurMac);
            return;
        }
        if (ethRepr.VlanId is ushort vlan && vlan != 0)
        {
            DropFrame(frame, DropReason.VlanUnsupported);
            return;
        }
        int l2 = ethRepr.HeaderLength;
        switch (ethRepr.EtherType)
        {
            case EtherType.Arp:
                IngressArp(frame, l2);
                break;
            case EtherType.Ipv4:
                IngressIpv4(frame, l2, ethRepr.Destination.IsBroadcast);
                break;
            case EtherType.Ipv6 when _v6 is not null:
                IngressIpv6(frame, l2, ethRepr.Destination.IsMulticast, ethRepr.Source);
                break;
            default:
                DropFrame(frame, DropReason.UnknownEtherType);
                break;
        }
    }

    private void DropFrame(PacketBuffer frame, DropReason reason)
    {
        Counters.Drop(reason);
        if (DropTap is IDropTap tap)
        {
            TapDrop(tap, frame, reason);
        }
        frame.Free();
    }

    /// <summary>
    /// Shows a dropped frame to the drop tap as Ethernet: a received frame as it arrived (its window before the stack
    /// stripped headers), a frame on its way out when it already has its Ethernet header (a full TX queue). Frames
    /// dropped before they had one (no route, no neighbour, no buffer) are not shown.
    /// </summary>
    private void TapDrop(IDropTap tap, PacketBuffer frame, DropReason reason)
    {
        if (ReferenceEquals(frame, _ingressFrame))
        {
            tap.Dropped(frame, frame.Frame.Slice(_ingressOffset, _ingressLength), reason, inbound: true);
        }
        else if (reason == DropReason.TxQueueFull)
        {
            tap.Dropped(frame, frame.Data, reason, inbound: false);
        }
    }

    // RFC 826 "Packet Reception", with RFC 1122 2.3.2.1 and 5227 conflict detection.
    private void IngressArp(PacketBuffer frame, int l2)
    {
        Span<byte> data = frame.Data[l2..];
        if (ArpPacket.TryCreate(data, out ArpPacket arp) != WireError.Ok || ArpRepr.TryParse(arp, out ArpRepr repr) != WireError.Ok)
        {
            DropFrame(frame, DropReason.ArpMalformed);
            return;
        }
        if (IsOurAddress(repr.SenderProtocolAddress) && repr.SenderHardwareAddress != _options.Mac)
        {
            DropFrame(frame, DropReason.ArpConflict);
            return;
        }
        bool forUs = IsOurAddress(repr.TargetProtocolAddress);
        // Merge: update an existing entry from any ARP; create one only when we are the target.
        int ready = Arp.Update(repr.SenderProtocolAddress, repr.SenderHardwareAddress, _now, forUs, _scratch);
        for (int i = 0; i < ready; i++)
        {
            PacketBuffer p = _scratch[i];
            _scratch[i] = null!;
            TransmitIpv4Frame(p, repr.SenderHardwareAddress);
        }
        if (!forUs || repr.Operation != ArpOperation.Request)
        {
            if (!forUs)
            {
                DropFrame(frame, DropReason.ArpNotForUs);
                return;
            }
            frame.Free();
            return;
        }
        // Answer in the same buffer: swap fields, opcode to reply (RFC 826).
        ArpRepr reply = new(ArpOperation.Reply, _options.Mac, repr.TargetProtocolAddress, repr.SenderHardwareAddress, repr.SenderProtocolAddress);
        frame.TrySetData(frame.DataOffset + l2, reply.BufferLength);
        reply.Emit(new ArpPacket(frame.Data));
        PrependEthernet(frame, repr.SenderHardwareAddress, EtherType.Arp);
        Counters.ArpRepliesSent++;
        QueueTx(frame);
    }

    // The kernel's ip_rcv / ip_rcv_finish / ip_local_deliver, in its order.
    private void IngressIpv4(PacketBuffer frame, int l2, bool l2Broadcast)
    {
        Span<byte> data = frame.Data[l2..];
        if (Ipv4Packet.TryCreate(data, out Ipv4Packet ip) != WireError.Ok
            || Ipv4Repr.TryParse(ip, verifyChecksum: false, out Ipv4Repr repr) != WireError.Ok)
        {
            DropFrame(frame, DropReason.Ipv4Malformed);
            return;
        }
        // 1. Destination: ours, or a broadcast we listen to. Skiff does not forward.
        bool broadcast = !IsOurAddress(repr.Destination);
        if (broadcast && !IsBroadcastForUs(repr.Destination))
        {
            DropFrame(frame, DropReason.Ipv4NotForUs);
            return;
        }
        // 2. Header checksum, unless the device verified it.
        if ((frame.Checksum & ChecksumState.IpVerified) == 0 && !ip.VerifyChecksum())
        {
            DropFrame(frame, DropReason.Ipv4BadChecksum);
            return;
        }
        // 3. Route: local delivery for our addresses; a source that cannot be answered is a martian.
        if (!repr.Source.IsUnicast || IsOurAddress(repr.Source) || IsBroadcastForUs(repr.Source))
        {
            DropFrame(frame, DropReason.Ipv4BadSource);
            return;
        }
        int l3 = repr.HeaderLength;
        // 4. Reassembly (RFC 791, RFC 815).
        if (repr.IsFragment)
        {
            Ipv4FragmentKey key = new(repr.Source, repr.Destination, repr.Protocol, repr.Identification);
            Ipv4ReassemblyResult result = Reassembler.Add(key, repr.FragmentOffset, repr.MoreFragments, ip.Header, ip.Payload, _now);
            frame.Free();
            if (!CountUnlessComplete(result.Status))
            {
                return;
            }
            Counters.DatagramsReassembled++;
            int size = result.Datagram.Length;
            PacketPool pool = _pool.HeadroomBytes + size <= _pool.FrameBytes ? _pool : _largePool;
            if (!pool.TryAllocate(out PacketBuffer? whole) || !result.TryCopyTo(whole))
            {
                whole?.Free();
                Counters.Drop(DropReason.ReassemblyNoBuffer);
                return;
            }
            frame = whole;
            l2 = 0;
            data = frame.Data;
            ip = new Ipv4Packet(data);
            // The datagram carries fragment zero's header (RFC 791 3.2), whose options, and so length, can differ
            // from this last-arriving fragment's: options not copied on fragmentation are in fragment zero only.
            l3 = result.HeaderBytes;
            repr = repr with { PayloadLength = size - l3, OptionsLength = l3 - Ipv4HeaderBytes, MoreFragments = false, FragmentOffset = 0 };
            // The copied header still says "fragment"; fix it so errors that quote it are accurate.
            ip.TotalLength = (ushort)size;
            ip.MoreFragments = false;
            ip.FragmentOffset = 0;
            ip.FillChecksum();
        }
        // 5. Strip the header: the buffer's data becomes the L4 message (Ethernet padding trimmed).
        frame.TrySetData(frame.DataOffset + l2 + l3, repr.PayloadLength);
        broadcast |= l2Broadcast;
        switch (repr.Protocol)
        {
            case IpProtocol.Icmp:
                IngressIcmp(frame, repr, broadcast);
                break;
            case IpProtocol.Udp:
                IngressUdp(frame, repr, broadcast);
                break;
            case IpProtocol.Tcp:
                IngressTcp(frame, repr, broadcast);
                break;
            default:
                // RFC 1122 3.2.2.1: protocol unreachable, never for a broadcast.
                if (!broadcast)
                {
                    SendIcmpError(frame, l3, repr, Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.ProtocolUnreachable, 0));
                }
                DropFrame(frame, DropReason.UnknownProtocol);
                break;
        }
    }

    private void IngressUdp(PacketBuffer frame, in Ipv4Repr ip, bool broadcast)
    {
        bool verify = (frame.Checksum & (ChecksumState.L4Verified | ChecksumState.L4Partial)) == 0;
        if (UdpPacket.TryCreate(frame.Data, out UdpPacket udp) != WireError.Ok)
        {
            DropFrame(frame, DropReason.UdpMalformed);
            return;
        }
        // RFC 768: the pseudo-header carries the UDP length, which may be shorter than the IP payload (Linux trims
        // the rest as padding, udp4_csum_init after pskb_trim_rcsum).
        uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Udp, udp.Length);
        WireError error = UdpRepr.TryParse(udp, pseudo, verify, out UdpRepr repr);
        if (error != WireError.Ok)
        {
            DropFrame(frame, error == WireError.BadChecksum ? DropReason.UdpBadChecksum : DropReason.UdpMalformed);
            return;
        }
        UdpSocket? socket = Udp.Find(broadcast ? Ipv4Address.Any : ip.Destination, repr.DestinationPort);
        if (socket is null)
        {
            if (!broadcast)
            {
                // RFC 1122 4.1.3.1: port unreachable.
                SendIcmpError(frame, ip.HeaderLength, ip, Icmpv4Repr.DestinationUnreachable(Icmpv4DestinationUnreachableCode.PortUnreachable, 0));
            }
            DropFrame(frame, DropReason.UdpNoSocket);
            return;
        }
        frame.TrySetData(frame.DataOffset + UdpPacket.HeaderLength, repr.PayloadLength);
        DeliverUdp(frame, socket, new UdpEndpoint(ip.Source, repr.SourcePort), ipv6: false);
    }

    /// <summary>Queues a datagram (its data window the payload) on its socket, or drops it when the queue is full.</summary>
    private void DeliverUdp(PacketBuffer frame, UdpSocket socket, UdpEndpoint source, bool ipv6)
    {
        if (!socket.TryEnqueueReceived(frame, source))
        {
            DropFrame(frame, DropReason.UdpQueueFull);
            return;
        }
        Counters.UdpDatagramsReceived++;
        if (ipv6)
        {
            Counters.Ipv6UdpDatagramsReceived++;
        }
    }

    private void IngressTcp(PacketBuffer frame, in Ipv4Repr ip, bool broadcast)
    {
        if (broadcast)
        {
            DropFrame(frame, DropReason.TcpNotUnicast);
            return;
        }
        uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Tcp, frame.Length);
        IngressTcpSegment(frame, pseudo, ip.Source, ip.Destination);
    }

    /// <summary>Parses the TCP segment that is <paramref name="frame"/>'s data and hands it to the TCP layer (either family).</summary>
    private void IngressTcpSegment(PacketBuffer frame, uint pseudo, IpAddress source, IpAddress destination)
    {
        bool verify = (frame.Checksum & (ChecksumState.L4Verified | ChecksumState.L4Partial)) == 0;
        if (TcpSegment.TryCreate(frame.Data, out TcpSegment segment) != WireError.Ok)
        {
            DropFrame(frame, DropReason.TcpMalformed);
            return;
        }
        WireError error = TcpRepr.TryParse(segment, pseudo, verify, out TcpRepr repr);
        if (error != WireError.Ok)
        {
            DropFrame(frame, error == WireError.BadChecksum ? DropReason.TcpBadChecksum : DropReason.TcpMalformed);
            return;
        }
        int payload = repr.PayloadLength;
        frame.TrySetData(frame.DataOffset + segment.HeaderLength, payload);
        if (!Tcp.Process(_now, source, destination, repr, payload > 0 ? frame : null))
        {
            frame.Free();
        }
    }

    /// <summary>
    /// Counts a fragment that did not complete its datagram (IPv4 and IPv6 alike): held or an identical duplicate as
    /// <see cref="DropReason.FragmentHeld"/>, refused by the reassembler's bounds or rules as
    /// <see cref="DropReason.FragmentRefused"/>. True when the datagram is complete and the caller goes on.
    /// </summary>
    private bool CountUnlessComplete(Ipv4ReassemblyStatus status)
    {
        switch (status)
        {
            case Ipv4ReassemblyStatus.Complete:
                return true;
            case Ipv4ReassemblyStatus.Held:
            case Ipv4ReassemblyStatus.Duplicate:
                Counters.Drop(DropReason.FragmentHeld);
                return false;
            default:
                Counters.Drop(DropReason.FragmentRefused);
                return false;
        }
    }
}
