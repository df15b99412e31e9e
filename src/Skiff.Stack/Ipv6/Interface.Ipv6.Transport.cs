using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    /// <summary>
    /// UDP over IPv6 (RFC 8200 section 8.1, RFC 768): the checksum covers the IPv6 pseudo-header and is mandatory,
    /// so a zero one is refused; nothing listening gets ICMPv6 port unreachable (RFC 4443 section 3.1), never for a
    /// multicast destination. <paramref name="frame"/>'s data is the IPv6 packet; the UDP header is at <paramref name="offset"/>.
    /// </summary>
    private void IngressUdp6(PacketBuffer frame, in Ipv6Repr ip, int offset, bool multicast)
    {
        bool verify = (frame.Checksum & (ChecksumState.L4Verified | ChecksumState.L4Partial)) == 0;
        if (UdpPacket.TryCreate(frame.Data[offset..], out UdpPacket udp) != WireError.Ok)
        {
            DropFrame(frame, DropReason.UdpMalformed);
            return;
        }
        uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Udp, udp.Length);
        WireError error = UdpRepr.TryParse(udp, pseudo, verify, zeroChecksumIsNone: false, out UdpRepr repr);
        if (error != WireError.Ok)
        {
            DropFrame(frame, error == WireError.BadChecksum ? DropReason.UdpBadChecksum : DropReason.UdpMalformed);
            return;
        }
        UdpSocket? socket = Udp.Find(multicast ? default : ip.Destination, repr.DestinationPort);
        if (socket is null)
        {
            SendIcmpv6Error(frame.Data, ip, multicast, Icmpv6Type.DestinationUnreachable, (byte)Icmpv6DestinationUnreachableCode.PortUnreachable, 0, allowMulticast: false);
            DropFrame(frame, DropReason.UdpNoSocket);
            return;
        }
        frame.TrySetData(frame.DataOffset + offset + UdpPacket.HeaderLength, repr.PayloadLength);
        DeliverUdp(frame, socket, new UdpEndpoint(ip.Source, repr.SourcePort), ipv6: true);
    }

    /// <summary>TCP over IPv6: the segment's checksum covers the IPv6 pseudo-header (RFC 8200 section 8.1); never to a multicast destination.</summary>
    private void IngressTcp6(PacketBuffer frame, in Ipv6Repr ip, int offset, bool multicast)
    {
        if (multicast)
        {
            DropFrame(frame, DropReason.TcpNotUnicast);
            return;
        }
        frame.TrySetData(frame.DataOffset + offset, frame.Length - offset);
        uint pseudo = Checksum.PseudoHeader(ip.Source, ip.Destination, IpProtocol.Tcp, frame.Length);
        Counters.Ipv6TcpSegmentsReceived++;
        IngressTcpSegment(frame, pseudo, ip.Source, ip.Destination);
    }

    /// <summary>
    /// A datagram (its data window the UDP header and payload) to an IPv6 destination, from the socket's address or,
    /// for a socket on every address, the source RFC 6724 picks for the destination. The checksum is always filled:
    /// zero is not allowed over IPv6 (RFC 8200 section 8.1). Without a usable IPv6 source it is dropped as no route.
    /// </summary>
    private void SendUdp6(PacketBuffer buffer, IpAddress bound, Ipv6Address to, in UdpRepr repr)
    {
        Ipv6Address from = _v6 is null || bound.IsIpv4 && !bound.IsUnspecified ? default : bound.IsUnspecified ? SourceFor(to) : bound.Ipv6;
        if (from.IsUnspecified)
        {
            DropFrame(buffer, DropReason.NoRoute);
            return;
        }
        uint pseudo = Checksum.PseudoHeader(from, to, IpProtocol.Udp, buffer.Length);
        repr.Emit(new UdpPacket(buffer.Data), pseudo, fillChecksum: (_output.Capabilities.TxChecksum & ChecksumOffloads.Udp) == 0);
        Counters.UdpDatagramsSent++;
        Counters.Ipv6UdpDatagramsSent++;
        SendIpv6(buffer, from, to, IpProtocol.Udp);
    }
}
