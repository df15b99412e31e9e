using System.Buffers.Binary;
using System.Net;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>Hand-built Ethernet frames and small parsers for the AF_PACKET device tests (independent of Skiff.Wire, so a wire bug cannot hide a driver bug).</summary>
internal static class AfPacketTestFrames
{
    public const ushort EtherTypeIpv4 = 0x0800;
    public const ushort EtherTypeArp = 0x0806;

    /// <summary>A locally administered unicast MAC for frames the tests send.</summary>
    public static readonly byte[] TestMac = [0x02, 0x53, 0x4b, 0x49, 0x46, 0x46];

    public static byte[] Ip(string address) => IPAddress.Parse(address).GetAddressBytes();

    public static ushort EtherType(ReadOnlySpan<byte> frame) => frame.Length >= 14 ? BinaryPrimitives.ReadUInt16BigEndian(frame[12..]) : (ushort)0;

    /// <summary>An ARP request (RFC 826) from <paramref name="senderMac"/>/<paramref name="senderIp"/> asking who has <paramref name="targetIp"/>, broadcast.</summary>
    public static byte[] ArpRequest(ReadOnlySpan<byte> senderMac, byte[] senderIp, byte[] targetIp)
    {
        byte[] f = new byte[60]; // padded to the Ethernet minimum
        f.AsSpan(0, 6).Fill(0xff);
        senderMac.CopyTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), EtherTypeArp);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), 1); // Ethernet
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(16), EtherTypeIpv4);
        f[18] = 6;
        f[19] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(20), 1); // request
        senderMac.CopyTo(f.AsSpan(22));
        senderIp.CopyTo(f.AsSpan(28));
        targetIp.CopyTo(f.AsSpan(38));
        return f;
    }

    /// <summary>True if <paramref name="frame"/> is an ARP reply telling <paramref name="targetIp"/> (us) where <paramref name="senderIp"/> is; returns the sender's MAC.</summary>
    public static bool IsArpReply(ReadOnlySpan<byte> frame, byte[] senderIp, byte[] targetIp, out byte[] senderMac)
    {
        senderMac = [];
        if (frame.Length < 42 || EtherType(frame) != EtherTypeArp || BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) != 2
            || !frame.Slice(28, 4).SequenceEqual(senderIp) || !frame.Slice(38, 4).SequenceEqual(targetIp))
        {
            return false;
        }
        senderMac = frame.Slice(22, 6).ToArray();
        return true;
    }

    /// <summary>True if <paramref name="frame"/> is an ARP request asking for <paramref name="targetIp"/>.</summary>
    public static bool IsArpRequestFor(ReadOnlySpan<byte> frame, byte[] targetIp) =>
        frame.Length >= 42 && EtherType(frame) == EtherTypeArp && BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) == 1 && frame.Slice(38, 4).SequenceEqual(targetIp);

    /// <summary>An IPv4 ICMP echo request (RFC 792) with correct IP and ICMP checksums.</summary>
    public static byte[] IcmpEchoRequest(ReadOnlySpan<byte> sourceMac, ReadOnlySpan<byte> destinationMac, byte[] sourceIp, byte[] destinationIp,
        ushort identifier, ushort sequence, ReadOnlySpan<byte> payload)
    {
        int ipLength = 20 + 8 + payload.Length;
        byte[] f = new byte[14 + ipLength];
        destinationMac.CopyTo(f);
        sourceMac.CopyTo(f.AsSpan(6));
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), EtherTypeIpv4);
        Span<byte> ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)ipLength);
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], 0x1234);
        ip[8] = 64;
        ip[9] = 1; // ICMP
        sourceIp.CopyTo(ip[12..]);
        destinationIp.CopyTo(ip[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip[..20]));
        Span<byte> icmp = ip[20..];
        icmp[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], identifier);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], sequence);
        payload.CopyTo(icmp[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return f;
    }

    /// <summary>True if <paramref name="frame"/> is an IPv4 ICMP echo reply from <paramref name="sourceIp"/> with this identifier and sequence; returns its payload.</summary>
    public static bool IsEchoReply(ReadOnlySpan<byte> frame, byte[] sourceIp, ushort identifier, ushort sequence, out byte[] payload)
    {
        payload = [];
        if (frame.Length < 14 + 28 || EtherType(frame) != EtherTypeIpv4)
        {
            return false;
        }
        ReadOnlySpan<byte> ip = frame[14..];
        int headerLength = (ip[0] & 0xf) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
        if (ip[9] != 1 || !ip.Slice(12, 4).SequenceEqual(sourceIp) || totalLength > ip.Length)
        {
            return false;
        }
        ReadOnlySpan<byte> icmp = ip[headerLength..totalLength];
        if (icmp[0] != 0 || BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]) != identifier || BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]) != sequence)
        {
            return false;
        }
        payload = icmp[8..].ToArray();
        return true;
    }

    /// <summary>The TCP segment of an IPv4 frame from <paramref name="sourceIp"/>, or false.</summary>
    public static bool TryGetTcp(ReadOnlySpan<byte> frame, byte[] sourceIp, out int ipOffset, out int tcpOffset, out int tcpLength)
    {
        ipOffset = tcpOffset = tcpLength = 0;
        if (frame.Length < 14 + 40 || EtherType(frame) != EtherTypeIpv4)
        {
            return false;
        }
        ReadOnlySpan<byte> ip = frame[14..];
        if (ip[9] != 6 || !ip.Slice(12, 4).SequenceEqual(sourceIp))
        {
            return false;
        }
        ipOffset = 14;
        tcpOffset = 14 + (ip[0] & 0xf) * 4;
        tcpLength = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]) - (ip[0] & 0xf) * 4;
        return true;
    }

    /// <summary>The UDP destination port of an IPv4 frame, or -1.</summary>
    public static int UdpDestinationPort(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14 + 28 || EtherType(frame) != EtherTypeIpv4 || frame[14 + 9] != 17)
        {
            return -1;
        }
        return BinaryPrimitives.ReadUInt16BigEndian(frame[(14 + (frame[14] & 0xf) * 4 + 2)..]);
    }

    /// <summary>The folded, uncomplemented one's-complement sum of the IPv4 pseudo-header (what CHECKSUM_PARTIAL leaves in the field).</summary>
    public static ushort PseudoHeaderSum(ReadOnlySpan<byte> ip, int l4Length)
    {
        uint sum = 0;
        for (int i = 12; i < 20; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(ip[i..]);
        }
        sum += ip[9];
        sum += (uint)l4Length;
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)sum;
    }

    /// <summary>True if the TCP checksum of the segment at <paramref name="tcpOffset"/> is complete and correct.</summary>
    public static bool TcpChecksumIsValid(ReadOnlySpan<byte> frame, int tcpOffset, int tcpLength)
    {
        uint sum = PseudoHeaderSum(frame[14..], tcpLength);
        ReadOnlySpan<byte> tcp = frame.Slice(tcpOffset, tcpLength);
        for (int i = 0; i + 1 < tcp.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(tcp[i..]);
        }
        if ((tcp.Length & 1) != 0)
        {
            sum += (uint)tcp[^1] << 8;
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return sum == 0xffff;
    }

    /// <summary>The Internet checksum (RFC 1071) of <paramref name="data"/>.</summary>
    public static ushort Checksum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i + 1 < data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if ((data.Length & 1) != 0)
        {
            sum += (uint)data[^1] << 8;
        }
        while (sum > 0xffff)
        {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (ushort)~sum;
    }
}
