using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Cli.Tests;

/// <summary>
/// Builds frames byte by byte, checksums included, independently of the wire views under test (so a bug there
/// cannot hide itself). Used to generate tests/data/sample.pcapng.
/// </summary>
internal static class FrameBuilder
{
    public static byte[] Ethernet(MacAddress destination, MacAddress source, ushort etherType, byte[] payload, ushort? vlan = null)
    {
        int header = vlan is null ? 14 : 18;
        byte[] frame = new byte[Math.Max(header + payload.Length, 60)]; // pad to the Ethernet minimum, as a NIC would
        destination.Write(frame);
        source.Write(frame.AsSpan(6));
        if (vlan is ushort id)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), id);
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(header - 2), etherType);
        payload.CopyTo(frame.AsSpan(header));
        return frame;
    }

    public static byte[] Ipv4(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, byte[] payload,
        ushort id = 1, bool dontFragment = true, bool moreFragments = false, int fragmentOffsetBytes = 0, byte ttl = 64)
    {
        byte[] packet = new byte[20 + payload.Length];
        packet[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)packet.Length);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), id);
        ushort flags = (ushort)((dontFragment ? 0x4000 : 0) | (moreFragments ? 0x2000 : 0) | (fragmentOffsetBytes / 8));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), flags);
        packet[8] = ttl;
        packet[9] = (byte)protocol;
        source.Write(packet.AsSpan(12));
        destination.Write(packet.AsSpan(16));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Checksum.Compute(packet.AsSpan(0, 20)));
        payload.CopyTo(packet.AsSpan(20));
        return packet;
    }

    public static byte[] Ipv6(Ipv6Address source, Ipv6Address destination, IpProtocol nextHeader, byte[] payload, byte hopLimit = 64)
    {
        byte[] packet = new byte[40 + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload.Length);
        packet[6] = (byte)nextHeader;
        packet[7] = hopLimit;
        source.Write(packet.AsSpan(8));
        destination.Write(packet.AsSpan(24));
        payload.CopyTo(packet.AsSpan(40));
        return packet;
    }

    /// <summary>A TCP segment; <paramref name="options"/> must be a multiple of 4 bytes. The checksum uses <paramref name="pseudoHeader"/> (a partial sum of the pseudo-header without the length).</summary>
    public static byte[] Tcp(ushort sourcePort, ushort destinationPort, uint seq, uint ack, TcpFlags flags, ushort window, byte[] options, byte[] payload, Func<int, uint> pseudoHeader)
    {
        byte[] segment = new byte[20 + options.Length + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), seq);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), ack);
        segment[12] = (byte)((20 + options.Length) / 4 << 4);
        segment[13] = (byte)flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), window);
        options.CopyTo(segment.AsSpan(20));
        payload.CopyTo(segment.AsSpan(20 + options.Length));
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(16), Checksum.Finish(Checksum.Accumulate(segment, pseudoHeader(segment.Length))));
        return segment;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, byte[] payload, Func<int, uint> pseudoHeader)
    {
        byte[] datagram = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(datagram, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)datagram.Length);
        payload.CopyTo(datagram.AsSpan(8));
        ushort sum = Checksum.Finish(Checksum.Accumulate(datagram, pseudoHeader(datagram.Length)));
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(6), sum == 0 ? (ushort)0xFFFF : sum);
        return datagram;
    }

    /// <summary>An ICMP (v4 when <paramref name="pseudoHeader"/> is null) or ICMPv6 message: type, code, 4-byte rest of header, body.</summary>
    public static byte[] Icmp(byte type, byte code, uint restOfHeader, byte[] body, Func<int, uint>? pseudoHeader = null)
    {
        byte[] message = new byte[8 + body.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), restOfHeader);
        body.CopyTo(message.AsSpan(8));
        uint partial = pseudoHeader?.Invoke(message.Length) ?? 0;
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Checksum.Finish(Checksum.Accumulate(message, partial)));
        return message;
    }

    public static byte[] Arp(ushort operation, MacAddress senderMac, Ipv4Address senderIp, MacAddress targetMac, Ipv4Address targetIp)
    {
        byte[] packet = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(packet, 1);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), 0x0800);
        packet[4] = 6;
        packet[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), operation);
        senderMac.Write(packet.AsSpan(8));
        senderIp.Write(packet.AsSpan(14));
        targetMac.Write(packet.AsSpan(18));
        targetIp.Write(packet.AsSpan(24));
        return packet;
    }

    public static byte[] Bytes(int length, byte seed)
    {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) bytes[i] = (byte)(seed + i);
        return bytes;
    }
}
