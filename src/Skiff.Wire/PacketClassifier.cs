using System.Buffers.Binary;

namespace Skiff.Wire;

/// <summary>
/// Classifies a received frame once, on the engine's receive path before the RX hooks: finds where L3 and L4 start and
/// which protocols they are, and records it in <see cref="PacketBuffer.L3Offset"/>, <see cref="PacketBuffer.L4Offset"/>
/// and <see cref="PacketBuffer.Classification"/>, so that hooks, filters and the QDisc read fields at known offsets
/// instead of parsing again. It reads a few header bytes and validates only lengths (not checksums): the stack still
/// validates everything it uses, so a frame marked <see cref="PacketClass.Malformed"/> is only a hint.
/// </summary>
/// <remarks>
/// Ethernet with at most one 802.1Q tag; ARP; IPv4 (header length, total length, fragments: a later fragment has no
/// L4); IPv6's fixed header, with L4 found when the next header is TCP, UDP or ICMPv6 itself (a chain of extension
/// headers leaves L4 unknown). Allocates nothing; never throws.
/// </remarks>
public static class PacketClassifier
{
    private const int EthernetHeaderBytes = 14;
    private const int VlanTagBytes = 4;

    /// <summary>Classifies <paramref name="frame"/> in place and returns what it found.</summary>
    public static PacketClass Classify(PacketBuffer frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        ReadOnlySpan<byte> data = frame.Data;
        PacketClass found = Classify(data, out int l3, out int l4);
        frame.L3Offset = (ushort)l3;
        frame.L4Offset = (ushort)l4;
        frame.Classification = found;
        return found;
    }

    /// <summary>Classifies the Ethernet frame <paramref name="data"/>: the L3 and L4 offsets (0 when unknown) and the class.</summary>
    public static PacketClass Classify(ReadOnlySpan<byte> data, out int l3Offset, out int l4Offset)
    {
        l3Offset = 0;
        l4Offset = 0;
        if (data.Length < EthernetHeaderBytes)
        {
            return PacketClass.Classified | PacketClass.Malformed;
        }
        PacketClass found = PacketClass.Classified;
        int l3 = EthernetHeaderBytes;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(data[12..]);
        if (type == (ushort)EtherType.Vlan)
        {
            if (data.Length < EthernetHeaderBytes + VlanTagBytes)
            {
                return found | PacketClass.Vlan | PacketClass.Malformed;
            }
            found |= PacketClass.Vlan;
            type = BinaryPrimitives.ReadUInt16BigEndian(data[16..]);
            l3 += VlanTagBytes;
        }
        switch (type)
        {
            case (ushort)EtherType.Arp:
                l3Offset = l3;
                return found | PacketClass.Arp;
            case (ushort)EtherType.Ipv4:
                l3Offset = l3;
                return ClassifyIpv4(data[l3..], l3, found | PacketClass.Ipv4, ref l4Offset);
            case (ushort)EtherType.Ipv6:
                l3Offset = l3;
                return ClassifyIpv6(data[l3..], l3, found | PacketClass.Ipv6, ref l4Offset);
            default:
                return found;
        }
    }

    private static PacketClass ClassifyIpv4(ReadOnlySpan<byte> ip, int l3, PacketClass found, ref int l4Offset)
    {
        if (ip.Length < Ipv4Packet.MinimumHeaderLength || ip[0] >> 4 != 4)
        {
            return found | PacketClass.Malformed;
        }
        int headerBytes = (ip[0] & 0x0f) * 4;
        int totalBytes = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (headerBytes < Ipv4Packet.MinimumHeaderLength || totalBytes < headerBytes || totalBytes > ip.Length)
        {
            return found | PacketClass.Malformed;
        }
        ushort fragment = BinaryPrimitives.ReadUInt16BigEndian(ip[6..]);
        if ((fragment & 0x3fff) != 0)
        {
            found |= PacketClass.Fragment;
            if ((fragment & 0x1fff) != 0)
            {
                return found; // a later fragment: no L4 header here
            }
        }
        return found | L4((IpProtocol)ip[9], ip[headerBytes..totalBytes], l3 + headerBytes, ref l4Offset);
    }

    private static PacketClass ClassifyIpv6(ReadOnlySpan<byte> ip, int l3, PacketClass found, ref int l4Offset)
    {
        const int FixedHeaderBytes = 40;
        if (ip.Length < FixedHeaderBytes || ip[0] >> 4 != 6)
        {
            return found | PacketClass.Malformed;
        }
        int payloadBytes = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
        if (FixedHeaderBytes + payloadBytes > ip.Length)
        {
            return found | PacketClass.Malformed;
        }
        return found | L4((IpProtocol)ip[6], ip.Slice(FixedHeaderBytes, payloadBytes), l3 + FixedHeaderBytes, ref l4Offset);
    }

    private static PacketClass L4(IpProtocol protocol, ReadOnlySpan<byte> payload, int offset, ref int l4Offset)
    {
        (PacketClass kind, int minimum) = protocol switch
        {
            IpProtocol.Tcp => (PacketClass.Tcp, 20),
            IpProtocol.Udp => (PacketClass.Udp, 8),
            IpProtocol.Icmp => (PacketClass.Icmp, 8),
            IpProtocol.Icmpv6 => (PacketClass.Icmpv6, 4),
            _ => (PacketClass.None, 0),
        };
        if (kind == PacketClass.None)
        {
            return PacketClass.None;
        }
        if (payload.Length < minimum)
        {
            return kind | PacketClass.Malformed;
        }
        l4Offset = offset;
        return kind;
    }
}
