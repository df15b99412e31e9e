using System.Buffers.Binary;
using System.Text;
using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Cli.Formatting;

/// <summary>
/// Decodes one captured frame with Skiff's wire views and describes it in tcpdump's spirit (absolute sequence
/// numbers, as <c>tcpdump -S</c>). Checks what a receiver would: IPv4 header and ICMP/ICMPv6 checksums are
/// verified; TCP/UDP checksums are not, because a capture on the sending host holds them unfinished (offload).
/// </summary>
internal static class FrameDecoder
{
    /// <summary>Decodes <paramref name="data"/> (captured bytes of a frame of <paramref name="linkType"/>) into <paramref name="frame"/>.</summary>
    public static void Decode(Span<byte> data, LinkType linkType, DecodedFrame frame)
    {
        frame.Reset();
        switch (linkType)
        {
            case LinkType.Ethernet:
                DecodeEthernet(data, frame);
                break;
            case LinkType.Raw:
                if (data.Length > 0 && data[0] >> 4 == 6)
                {
                    DecodeIpv6(data, frame);
                }
                else
                {
                    DecodeIpv4(data, frame);
                }
                break;
            default:
                frame.Protocol = "other";
                frame.Text.Append("link type ").Append((ushort)linkType).Append(" (not decoded), length ").Append(data.Length);
                break;
        }
    }

    private static void DecodeEthernet(Span<byte> data, DecodedFrame frame)
    {
        WireError error = EthernetFrame.TryCreate(data, out EthernetFrame ethernet);
        if (error == WireError.Ok)
        {
            error = EthernetRepr.TryParse(ethernet, out EthernetRepr repr);
            if (error == WireError.Ok && repr.VlanId is ushort vlan)
            {
                frame.VlanId = vlan;
                frame.Text.Append("vlan ").Append(vlan).Append(", p ").Append(repr.Priority).Append(", ");
            }
        }
        if (error != WireError.Ok)
        {
            frame.Protocol = "Ethernet";
            frame.Fail("Ethernet", error);
            return;
        }
        Span<byte> payload = ethernet.Payload;
        switch (ethernet.PayloadEtherType)
        {
            case EtherType.Ipv4:
                DecodeIpv4(payload, frame);
                break;
            case EtherType.Ipv6:
                DecodeIpv6(payload, frame);
                break;
            case EtherType.Arp:
                DecodeArp(payload, frame);
                break;
            default:
                frame.Protocol = "other";
                frame.Text.Append("ethertype 0x").Append(((ushort)ethernet.PayloadEtherType).ToString("x4"))
                    .Append(", length ").Append(data.Length);
                break;
        }
    }

    private static void DecodeArp(Span<byte> data, DecodedFrame frame)
    {
        frame.Protocol = "ARP";
        WireError error = ArpPacket.TryCreate(data, out ArpPacket view);
        if (error == WireError.Ok)
        {
            error = ArpRepr.TryParse(view, out ArpRepr repr);
            if (error == WireError.Ok)
            {
                frame.Source = repr.SenderProtocolAddress.ToString();
                frame.Destination = repr.TargetProtocolAddress.ToString();
                frame.Text.Append(repr.ToString()).Append(", length ").Append(ArpPacket.EthernetIpv4Length);
                return;
            }
        }
        frame.Text.Append("ARP,");
        frame.Fail("ARP", error);
    }

    private static void DecodeIpv4(Span<byte> data, DecodedFrame frame)
    {
        frame.Protocol = "IPv4";
        frame.Text.Append("IP ");
        WireError error = Ipv4Packet.TryCreate(data, out Ipv4Packet ip);
        Ipv4Repr repr = default;
        if (error == WireError.Ok)
        {
            error = Ipv4Repr.TryParse(ip, verifyChecksum: true, out repr);
        }
        if (error != WireError.Ok)
        {
            frame.Fail("IPv4", error);
            return;
        }
        frame.Source = repr.Source.ToString();
        frame.Destination = repr.Destination.ToString();
        Span<byte> payload = ip.Payload;
        if (repr.IsFragment)
        {
            frame.IsFragment = true;
            if (repr.FragmentOffset != 0)
            {
                // Later fragments carry no transport header: say which datagram and where this piece goes.
                frame.Protocol = "IPv4-frag";
                frame.Text.Append(repr.Source).Append(" > ").Append(repr.Destination).Append(": ").Append(ProtocolName(repr.Protocol));
                AppendFragment(frame.Text, repr);
                return;
            }
        }
        DecodeTransport(repr.Protocol, payload, frame, repr.Source.ToString(), repr.Destination.ToString(),
            Checksum.PseudoHeader(repr.Source, repr.Destination, repr.Protocol, payload.Length), default, default, isIpv6: false, firstFragment: repr.IsFragment);
        if (repr.IsFragment && !frame.IsMalformed)
        {
            AppendFragment(frame.Text, repr);
        }
    }

    /// <summary>tcpdump's fragment note: <c>(frag id:size@offset+)</c>, + while more fragments follow.</summary>
    private static void AppendFragment(StringBuilder text, Ipv4Repr repr) =>
        text.Append(" (frag ").Append(repr.Identification).Append(':').Append(repr.PayloadLength).Append('@')
            .Append(repr.FragmentOffset).Append(repr.MoreFragments ? "+)" : ")");

    private static void DecodeIpv6(Span<byte> data, DecodedFrame frame)
    {
        frame.Protocol = "IPv6";
        frame.Text.Append("IP6 ");
        WireError error = Ipv6Packet.TryCreate(data, out Ipv6Packet ip);
        Ipv6Repr repr = default;
        if (error == WireError.Ok)
        {
            error = Ipv6Repr.TryParse(ip, out repr);
        }
        if (error != WireError.Ok)
        {
            frame.Fail("IPv6", error);
            return;
        }
        frame.Source = repr.Source.ToString();
        frame.Destination = repr.Destination.ToString();
        Span<byte> payload = ip.Payload;
        error = Ipv6ExtensionHeaders.TryWalk(repr.NextHeader, payload, out Ipv6ExtensionChain chain);
        if (error != WireError.Ok)
        {
            frame.Text.Append(frame.Source).Append(" > ").Append(frame.Destination).Append(':');
            frame.Fail("IPv6 extension headers", error);
            return;
        }
        Span<byte> upper = payload[chain.UpperLayerOffset..];
        if (chain.Fragment is Ipv6FragmentRepr fragment)
        {
            frame.IsFragment = true;
            if (fragment.Offset != 0)
            {
                frame.Protocol = "IPv6-frag";
                frame.Text.Append(frame.Source).Append(" > ").Append(frame.Destination).Append(": ").Append(fragment.ToString())
                    .Append(' ').Append(ProtocolName(chain.UpperLayerProtocol)).Append(", length ").Append(upper.Length);
                return;
            }
        }
        DecodeTransport(chain.UpperLayerProtocol, upper, frame, frame.Source, frame.Destination,
            Checksum.PseudoHeader(repr.Source, repr.Destination, chain.UpperLayerProtocol, upper.Length), repr.Source, repr.Destination,
            isIpv6: true, firstFragment: chain.IsFragment);
        if (chain.Fragment is Ipv6FragmentRepr first && !frame.IsMalformed)
        {
            frame.Text.Append(' ').Append(first.ToString());
        }
    }

    private static void DecodeTransport(IpProtocol protocol, Span<byte> payload, DecodedFrame frame, string source, string destination,
        uint pseudoHeader, Ipv6Address source6, Ipv6Address destination6, bool isIpv6, bool firstFragment)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp:
                DecodeTcp(payload, frame, source, destination, pseudoHeader, firstFragment);
                break;
            case IpProtocol.Udp:
                DecodeUdp(payload, frame, source, destination, pseudoHeader, firstFragment);
                break;
            case IpProtocol.Icmp when !isIpv6:
                frame.Protocol = "ICMP";
                frame.Text.Append(source).Append(" > ").Append(destination).Append(": ");
                DecodeIcmpv4(payload, frame, firstFragment);
                break;
            case IpProtocol.Icmpv6 when isIpv6:
                frame.Protocol = "ICMP6";
                frame.Text.Append(source).Append(" > ").Append(destination).Append(": ");
                DecodeIcmpv6(payload, frame, source6, destination6, firstFragment);
                break;
            case IpProtocol.Ipv6NoNext:
                frame.Text.Append(source).Append(" > ").Append(destination).Append(": no next header");
                break;
            default:
                frame.Text.Append(source).Append(" > ").Append(destination).Append(": ").Append(ProtocolName(protocol))
                    .Append(", length ").Append(payload.Length);
                break;
        }
    }

    private static void DecodeTcp(Span<byte> payload, DecodedFrame frame, string source, string destination, uint pseudoHeader, bool firstFragment)
    {
        frame.Protocol = "TCP";
        WireError error = TcpSegment.TryCreate(payload, out TcpSegment segment);
        if (error == WireError.Ok && !firstFragment)
        {
            error = TcpRepr.TryParse(segment, pseudoHeader, verifyChecksum: false, out _);
        }
        if (error != WireError.Ok)
        {
            frame.Text.Append(source).Append(" > ").Append(destination).Append(':');
            frame.Fail("TCP", error);
            return;
        }
        frame.SourcePort = segment.SourcePort;
        frame.DestinationPort = segment.DestinationPort;
        StringBuilder text = frame.Text;
        text.Append(source).Append('.').Append(segment.SourcePort).Append(" > ").Append(destination).Append('.').Append(segment.DestinationPort)
            .Append(": Flags [").Append(segment.Flags.ToTcpdumpString()).Append("], seq ").Append(segment.SequenceNumber);
        int length = segment.Payload.Length;
        if (length > 0)
        {
            text.Append(':').Append(unchecked(segment.SequenceNumber + (uint)length));
        }
        if ((segment.Flags & TcpFlags.Ack) != 0)
        {
            text.Append(", ack ").Append(segment.AcknowledgmentNumber);
        }
        text.Append(", win ").Append(segment.WindowLength);
        if ((segment.Flags & TcpFlags.Urg) != 0)
        {
            text.Append(", urg ").Append(segment.UrgentPointer);
        }
        if (segment.HeaderLength > TcpSegment.MinHeaderLength)
        {
            text.Append(", options [");
            TcpOptionReader options = segment.ReadOptions();
            bool first = true;
            while (options.MoveNext())
            {
                text.Append(first ? "" : ",").Append(options.Current.ToString());
                first = false;
            }
            text.Append(']');
            if (options.Error != WireError.Ok)
            {
                frame.Fail("TCP options", options.Error);
                return;
            }
        }
        text.Append(", length ").Append(length);
    }

    private static void DecodeUdp(Span<byte> payload, DecodedFrame frame, string source, string destination, uint pseudoHeader, bool firstFragment)
    {
        frame.Protocol = "UDP";
        if (firstFragment)
        {
            // The datagram continues in later fragments, so its length field exceeds these bytes: read the ports only.
            if (payload.Length < UdpPacket.HeaderLength)
            {
                frame.Text.Append(source).Append(" > ").Append(destination).Append(':');
                frame.Fail("UDP", WireError.Truncated);
                return;
            }
            frame.SourcePort = BinaryPrimitives.ReadUInt16BigEndian(payload);
            frame.DestinationPort = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
            frame.Text.Append(source).Append('.').Append(frame.SourcePort).Append(" > ").Append(destination).Append('.').Append(frame.DestinationPort)
                .Append(": UDP, length ").Append(BinaryPrimitives.ReadUInt16BigEndian(payload[4..]) - UdpPacket.HeaderLength);
            return;
        }
        WireError error = UdpPacket.TryCreate(payload, out UdpPacket packet);
        UdpRepr repr = default;
        if (error == WireError.Ok)
        {
            error = UdpRepr.TryParse(packet, pseudoHeader, verifyChecksum: false, out repr);
        }
        if (error != WireError.Ok)
        {
            frame.Text.Append(source).Append(" > ").Append(destination).Append(':');
            frame.Fail("UDP", error);
            return;
        }
        frame.SourcePort = repr.SourcePort;
        frame.DestinationPort = repr.DestinationPort;
        frame.Text.Append(source).Append('.').Append(repr.SourcePort).Append(" > ").Append(destination).Append('.').Append(repr.DestinationPort)
            .Append(": UDP, length ").Append(repr.PayloadLength);
    }

    private static void DecodeIcmpv4(Span<byte> payload, DecodedFrame frame, bool firstFragment)
    {
        WireError error = Icmpv4Packet.TryCreate(payload, out Icmpv4Packet view);
        if (error != WireError.Ok)
        {
            frame.Fail("ICMP", error);
            return;
        }
        bool known = view.Type is Icmpv4Type.EchoRequest or Icmpv4Type.EchoReply or Icmpv4Type.DestinationUnreachable
            or Icmpv4Type.TimeExceeded or Icmpv4Type.ParameterProblem;
        if (!known)
        {
            frame.Text.Append("ICMP type-#").Append((byte)view.Type).Append(", code ").Append(view.Code).Append(", length ").Append(payload.Length);
            return;
        }
        // The checksum covers the whole message, so only a complete one can be checked.
        error = Icmpv4Repr.TryParse(view, verifyChecksum: !firstFragment, out Icmpv4Repr repr);
        if (error != WireError.Ok)
        {
            frame.Text.Append("ICMP");
            frame.Fail("ICMP", error);
            return;
        }
        frame.Text.Append(repr.ToString());
        if (repr.IsError && view.TryReadInvokingPacket(out Ipv4Repr quoted, out Span<byte> leading) == WireError.Ok)
        {
            frame.Text.Append(" (for ").Append(quoted.Source).Append(" > ").Append(quoted.Destination).Append(' ').Append(ProtocolName(quoted.Protocol));
            if (quoted.Protocol is IpProtocol.Tcp or IpProtocol.Udp && leading.Length >= 4)
            {
                frame.Text.Append(" port ").Append(BinaryPrimitives.ReadUInt16BigEndian(leading[2..]));
            }
            frame.Text.Append(')');
        }
    }

    private static void DecodeIcmpv6(Span<byte> payload, DecodedFrame frame, Ipv6Address source, Ipv6Address destination, bool firstFragment)
    {
        WireError error = Icmpv6Packet.TryCreate(payload, out Icmpv6Packet view);
        if (error != WireError.Ok)
        {
            frame.Fail("ICMP6", error);
            return;
        }
        string? other = view.Type switch
        {
            Icmpv6Type.MulticastListenerQuery => "multicast listener query",
            Icmpv6Type.MulticastListenerReport => "multicast listener report",
            Icmpv6Type.MulticastListenerDone => "multicast listener done",
            (Icmpv6Type)143 => "multicast listener report v2",
            Icmpv6Type.Redirect => "redirect",
            Icmpv6Type.DestinationUnreachable or Icmpv6Type.PacketTooBig or Icmpv6Type.TimeExceeded or Icmpv6Type.ParameterProblem
                or Icmpv6Type.EchoRequest or Icmpv6Type.EchoReply or Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement
                or Icmpv6Type.NeighborSolicitation or Icmpv6Type.NeighborAdvertisement => null,
            _ => $"type {(byte)view.Type}",
        };
        if (other is not null)
        {
            // Messages the stack does not act on are still well-formed traffic: name them, don't call them malformed.
            frame.Text.Append("ICMP6, ").Append(other).Append(", length ").Append(payload.Length);
            return;
        }
        error = Icmpv6Repr.TryParse(view, source, destination, verifyChecksum: !firstFragment, out Icmpv6Repr repr);
        if (error != WireError.Ok)
        {
            frame.Text.Append("ICMP6,");
            frame.Fail("ICMP6", error);
            return;
        }
        frame.Text.Append(repr.ToString());
    }

    internal static string ProtocolName(IpProtocol protocol) => protocol switch
    {
        IpProtocol.Tcp => "TCP",
        IpProtocol.Udp => "UDP",
        IpProtocol.Icmp => "ICMP",
        IpProtocol.Icmpv6 => "ICMP6",
        IpProtocol.Igmp => "IGMP",
        IpProtocol.Esp => "ESP",
        IpProtocol.Ah => "AH",
        _ => $"ip-proto-{(byte)protocol}",
    };
}
