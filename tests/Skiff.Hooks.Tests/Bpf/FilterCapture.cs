using System.Buffers.Binary;
using System.Net;
using System.Text;
using Skiff.Wire.Pcap;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// The frames of tests/data/filters.pcap, built byte by byte (no Skiff wire code) so that filter expressions both
/// match and miss: ARP, TCP with every flag, UDP, ICMP, IPv4 options and fragments, IPv6 with extension headers,
/// ICMPv6, VLAN and QinQ, MPLS, PPPoE, LLC, broadcast and multicast, plus frames cut short by a snap length
/// (captured &lt; wire length) and malformed ones. Deterministic: the committed file is checked against it.
/// </summary>
internal static class FilterCapture
{
    public const string FileName = "filters.pcap";
    public const long StartNanos = 1_704_067_200_000_000_000; // 2024-01-01T00:00:00Z, frames 1 ms apart

    private const ushort Ipv4Type = 0x0800, ArpType = 0x0806, Ipv6Type = 0x86DD;
    private const byte Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80;

    private static readonly byte[] s_macA = Mac("02:00:00:00:00:0a"), s_macB = Mac("02:00:00:00:00:0b"), s_macC = Mac("02:00:00:00:00:0c");
    private static readonly byte[] s_broadcast = Mac("ff:ff:ff:ff:ff:ff");

    /// <summary>A frame: the bytes captured and its length on the wire (larger when cut short).</summary>
    public sealed record CapturedFrame(byte[] Bytes, int WireLength, string What);

    public static List<CapturedFrame> Frames()
    {
        List<CapturedFrame> f = [];
        void Add(string what, byte[] frame, int? capture = null)
        {
            int kept = Math.Min(capture ?? frame.Length, frame.Length);
            f.Add(new CapturedFrame(frame[..kept], frame.Length, what));
        }
        byte[] http = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: b\r\n\r\n");

        Add("ARP who-has 10.0.0.2 tell 10.0.0.1", Eth(s_broadcast, s_macA, ArpType, Arp(1, s_macA, "10.0.0.1", new byte[6], "10.0.0.2")));
        Add("ARP reply 10.0.0.2 is-at", Eth(s_macA, s_macB, ArpType, Arp(2, s_macB, "10.0.0.2", s_macA, "10.0.0.1")));
        Add("ARP who-has 192.168.1.20 tell 192.168.1.1", Eth(s_broadcast, s_macC, ArpType, Arp(1, s_macC, "192.168.1.1", new byte[6], "192.168.1.20")));
        Add("TCP SYN 10.0.0.1:40000 > 10.0.0.2:80", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40000, 80, Syn, []))));
        Add("TCP SYN-ACK", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 6, Tcp(80, 40000, Syn | Ack, []))));
        Add("TCP ACK", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40000, 80, Ack, []))));
        Add("TCP GET request", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40000, 80, Psh | Ack, http))));
        Add("TCP FIN-ACK from 80", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 6, Tcp(80, 40000, Fin | Ack, []))));
        Add("TCP RST to 22", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40001, 22, Rst, []))));
        Add("TCP SYN 192.168.1.1 > 10.0.0.1:22", Eth(s_macA, s_macC, Ipv4Type, Ip4("192.168.1.1", "10.0.0.1", 6, Tcp(50000, 22, Syn, []))));
        Add("TCP ssh data", Eth(s_macC, s_macA, Ipv4Type, Ip4("10.0.0.1", "192.168.1.1", 6, Tcp(22, 50000, Psh | Ack, Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2\r\n")))));
        Add("TCP SYN 192.168.1.20 > 8.8.8.8:443", Eth(s_macB, s_macC, Ipv4Type, Ip4("192.168.1.20", "8.8.8.8", 6, Tcp(51000, 443, Syn, []))));
        Add("TCP SYN-ACK from 443", Eth(s_macC, s_macB, Ipv4Type, Ip4("8.8.8.8", "192.168.1.20", 6, Tcp(443, 51000, Syn | Ack, []), ttl: 120)));
        Add("TCP URG 10.1.2.3 > 172.16.5.4:8080", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.1.2.3", "172.16.5.4", 6, Tcp(1234, 8080, Urg | Ack, [1, 2, 3]))));
        Add("TCP SYN 172.16.5.4:2000 > 10.1.2.3:1500", Eth(s_macA, s_macB, Ipv4Type, Ip4("172.16.5.4", "10.1.2.3", 6, Tcp(2000, 1500, Syn, []))));
        Add("TCP SYN with IPv4 options (IHL 6)", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(3000, 80, Syn, []), options: [1, 1, 1, 0])));
        Add("malformed: TCP data offset 3", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(3001, 80, Syn, [], dataOffsetWords: 3))));
        Add("malformed: IPv4 IHL 2", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(3002, 80, Syn, []), ihlOverride: 2)));
        Add("UDP mDNS to 224.0.0.251", Eth(Mac("01:00:5e:00:00:fb"), s_macA, Ipv4Type, Ip4("10.0.0.1", "224.0.0.251", 17, Udp(5353, 5353, new byte[20]), ttl: 255)));
        Add("UDP DNS query to 8.8.8.8", Eth(s_macB, s_macC, Ipv4Type, Ip4("192.168.1.1", "8.8.8.8", 17, Udp(53000, 53, new byte[30]))));
        Add("UDP DNS reply", Eth(s_macC, s_macB, Ipv4Type, Ip4("8.8.8.8", "192.168.1.1", 17, Udp(53, 53000, new byte[46]), ttl: 118)));
        Add("UDP DHCP discover broadcast", Eth(s_broadcast, s_macA, Ipv4Type, Ip4("0.0.0.0", "255.255.255.255", 17, Udp(68, 67, new byte[240]))));
        Add("UDP NTP 192.168.1.20 > 172.16.5.4", Eth(s_macA, s_macC, Ipv4Type, Ip4("192.168.1.20", "172.16.5.4", 17, Udp(123, 123, new byte[48]))));
        Add("UDP 10.0.0.1:1500 > 10.0.0.2:1999", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(1500, 1999, new byte[8]))));
        Add("UDP with payload 0x1234", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(7777, 8888, [0x12, 0x34, 0, 0]))));
        Add("ICMP echo request", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 1, Icmp(8, 0, new byte[32]))));
        Add("ICMP echo reply", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 1, Icmp(0, 0, new byte[32]))));
        Add("ICMP port unreachable", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 1, Icmp(3, 3, new byte[28]))));
        Add("ICMP echo request with TTL 0", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 1, Icmp(8, 0, new byte[8]), ttl: 0)));
        Add("ICMP time exceeded", Eth(s_macA, s_macC, Ipv4Type, Ip4("192.168.1.1", "10.0.0.1", 1, Icmp(11, 0, new byte[28]))));
        Add("IPv4 first fragment of UDP to port 53", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(7000, 53, new byte[64]), fragment: 0x2000)));
        Add("IPv4 second fragment (offset 1480)", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, [0x00, 0x50, 0x00, 0x35, 9, 9, 9, 9, 9, 9], fragment: 185)));
        Add("IPv4 GRE", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 47, new byte[24])));
        Add("UDP to directed broadcast 10.255.255.255", Eth(s_broadcast, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.255.255.255", 17, Udp(137, 137, new byte[50]))));
        Add("IPv6 TCP SYN fd00::a > fd00::b:80", Eth(s_macB, s_macA, Ipv6Type, Ip6("fd00::a", "fd00::b", 6, Tcp(40000, 80, Syn, []))));
        Add("IPv6 TCP SYN 2001:db8::1 > 2001:db8:1::2:443", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8:1::2", 6, Tcp(41000, 443, Syn, []))));
        Add("IPv6 UDP DHCPv6 to ff02::1:2", Eth(Mac("33:33:00:01:00:02"), s_macA, Ipv6Type, Ip6("fe80::1", "ff02::1:2", 17, Udp(546, 547, new byte[40]))));
        Add("ICMPv6 echo request", Eth(s_macB, s_macA, Ipv6Type, Ip6("fd00::a", "fd00::b", 58, Icmp(128, 0, new byte[16]))));
        Add("ICMPv6 echo reply", Eth(s_macA, s_macB, Ipv6Type, Ip6("fd00::b", "fd00::a", 58, Icmp(129, 0, new byte[16]))));
        Add("ICMPv6 neighbour solicitation", Eth(Mac("33:33:ff:00:00:0b"), s_macA, Ipv6Type, Ip6("fd00::a", "ff02::1:ff00:b", 58, Icmp(135, 0, new byte[20]), hopLimit: 255)));
        Add("ICMPv6 router advertisement", Eth(Mac("33:33:00:00:00:01"), s_macC, Ipv6Type, Ip6("fe80::1", "ff02::1", 58, Icmp(134, 0, new byte[12]), hopLimit: 255)));
        Add("IPv6 hop-by-hop then UDP 53", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8::2", 0, [17, 0, 1, 4, 0, 0, 0, 0, .. Udp(5300, 53, new byte[12])])));
        Add("IPv6 fragment header then TCP", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8::2", 44, [6, 0, 0, 1, 0, 0, 0, 7, .. Tcp(42000, 80, Syn, [])])));
        Add("VLAN 10 UDP to 53", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(40001, 53, new byte[80])), vlans: [10]));
        Add("VLAN 20 TCP SYN to 80", Eth(s_macC, s_macB, Ipv4Type, Ip4("192.168.1.1", "8.8.8.8", 6, Tcp(50001, 80, Syn, [])), vlans: [20]));
        Add("VLAN 10 ARP", Eth(s_broadcast, s_macA, ArpType, Arp(1, s_macA, "10.0.0.1", new byte[6], "10.0.0.3"), vlans: [10]));
        Add("VLAN 30 IPv6 UDP", Eth(s_macB, s_macA, Ipv6Type, Ip6("fd00::a", "fd00::b", 17, Udp(6000, 6001, new byte[10])), vlans: [30]));
        Add("QinQ 802.1ad 100 / 802.1Q 300 UDP", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(6100, 53, new byte[10])), vlans: [100, 300], outerTpid: 0x88A8));
        Add("double 802.1Q 200 / 300 TCP to 80", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(6200, 80, Syn, [])), vlans: [200, 300]));
        Add("802.3 LLC STP BPDU", Llc(Mac("01:80:c2:00:00:00"), s_macA, [0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 0x80, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Add("LLDP", Eth(Mac("01:80:c2:00:00:0e"), s_macB, 0x88CC, new byte[30]));
        Add("unknown EtherType 0x88b5 broadcast", Eth(s_broadcast, s_macB, 0x88B5, new byte[40]));
        Add("PPPoE session IPv4 UDP", Eth(s_macB, s_macA, 0x8864, [0x11, 0x00, 0x00, 0x01, 0x00, 0x2a, 0x00, 0x21, .. Ip4("10.0.0.1", "10.0.0.2", 17, Udp(6300, 53, new byte[12]))]));
        Add("MPLS label 100 IPv4 TCP", Eth(s_macB, s_macA, 0x8847, [0x00, 0x06, 0x41, 0x40, .. Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(6400, 80, Syn, []))]));
        Add("snapped: TCP SYN cut inside the TCP header", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40002, 80, Syn, []))), capture: 40);
        Add("snapped: UDP cut after the Ethernet header", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(40003, 53, new byte[30]))), capture: 14);
        Add("snapped: ICMP cut inside the IPv4 addresses", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 1, Icmp(8, 0, new byte[56]))), capture: 30);
        Add("snapped: 1514-byte TCP to 80 kept 96", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 6, Tcp(40004, 80, Psh | Ack, new byte[1460]))), capture: 96);
        Add("malformed: 6-byte frame", [.. s_broadcast]);
        Add("snapped: nothing captured of a 64-byte frame", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(1, 2, new byte[18]))), capture: 0);
        Add("malformed: IPv4 total length beyond the frame", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(40005, 53, new byte[10]), totalLengthOverride: 1000)));
        Add("snapped: IPv6 cut inside the source address", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8::2", 17, Udp(5000, 53, new byte[24]))), capture: 30);
        Add("UDP 1400 bytes", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(9000, 9001, new byte[1400]))));
        Add("malformed: EtherType IPv6, version 4", Eth(s_macB, s_macA, Ipv6Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(9002, 53, new byte[40]))));
        Add("ICMP with TTL 255 and TOS 0x10", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 1, Icmp(8, 0, new byte[16]), ttl: 255, tos: 0x10)));
        Add("TCP SYN ECE CWR 192.168.1.1 > 10.200.0.5:8080", Eth(s_macB, s_macC, Ipv4Type, Ip4("192.168.1.1", "10.200.0.5", 6, Tcp(52000, 8080, Syn | Ece | Cwr, []))));
        Add("TCP response from 80", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 6, Tcp(80, 40000, Psh | Ack, Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n\r\n")))));
        Add("IGMP to 224.0.0.22", Eth(Mac("01:00:5e:00:00:16"), s_macA, Ipv4Type, Ip4("10.0.0.1", "224.0.0.22", 2, new byte[16], ttl: 1)));
        Add("UDP broadcast from 192.168.1.20 to port 9", Eth(s_broadcast, s_macC, Ipv4Type, Ip4("192.168.1.20", "255.255.255.255", 17, Udp(9, 9, new byte[100]))));
        Add("TCP FIN 172.16.5.4:22 > 192.168.1.1", Eth(s_macC, s_macB, Ipv4Type, Ip4("172.16.5.4", "192.168.1.1", 6, Tcp(22, 50002, Fin | Ack, []))));
        Add("RARP request", Eth(s_broadcast, s_macC, 0x8035, Arp(3, s_macC, "0.0.0.0", s_macC, "0.0.0.0")));
        Add("TCP DNS 10.0.0.2:53 > 10.0.0.1:80", Eth(s_macA, s_macB, Ipv4Type, Ip4("10.0.0.2", "10.0.0.1", 6, Tcp(53, 80, Ack, [0, 0]))));
        Add("UDP QUIC 10.0.0.1:50500 > 10.0.0.2:80", Eth(s_macB, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.2", 17, Udp(50500, 80, new byte[40]))));
        Add("MPLS label 101 IPv6", Eth(s_macB, s_macA, 0x8847, [0x00, 0x06, 0x51, 0x40, .. Ip6("fd00::a", "fd00::b", 17, Udp(6500, 6501, new byte[8]))]));
        Add("IPv6 UDP DNS reply 300 bytes to 2001:db8::53", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8:1::2", "2001:db8::53", 17, Udp(53, 5301, new byte[300]))));
        Add("IPv6 TCP to 2001:db8::80 port 80", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8::80", 6, Tcp(42001, 80, Ack, []))));
        Add("VLAN 40 IPv6 UDP to 2001:db8::2", Eth(s_macB, s_macA, Ipv6Type, Ip6("2001:db8::1", "2001:db8::2", 17, Udp(6600, 6601, new byte[10])), vlans: [40]));
        Add("IPv4 10.0.0.1 to itself, UDP 53", Eth(s_macA, s_macA, Ipv4Type, Ip4("10.0.0.1", "10.0.0.1", 17, Udp(5400, 53, new byte[220]))));
        Add("ARP reply with a 50-byte trailer", Eth(s_macC, s_macB, ArpType, [.. Arp(2, s_macB, "10.0.0.2", s_macC, "192.168.1.1"), .. new byte[50]]));
        return f;
    }

    /// <summary>The capture file's bytes (classic pcap, microseconds, snap length 65535).</summary>
    public static byte[] Build()
    {
        using MemoryStream stream = new();
        using (PcapWriter writer = new(stream, LinkType.Ethernet, snapLengthBytes: 65535, leaveOpen: true))
        {
            List<CapturedFrame> frames = Frames();
            for (int i = 0; i < frames.Count; i++)
            {
                writer.Write(frames[i].Bytes, StartNanos + i * 1_000_000L, frames[i].WireLength);
            }
        }
        return stream.ToArray();
    }

    private static byte[] Mac(string text) => Convert.FromHexString(text.Replace(":", ""));

    private static byte[] Eth(byte[] destination, byte[] source, ushort etherType, byte[] payload, ushort[]? vlans = null, ushort outerTpid = 0x8100)
    {
        vlans ??= [];
        int header = 14 + 4 * vlans.Length;
        byte[] frame = new byte[Math.Max(header + payload.Length, 60)]; // padded to the Ethernet minimum, as a NIC would
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        for (int i = 0; i < vlans.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12 + 4 * i), i == 0 ? outerTpid : (ushort)0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14 + 4 * i), vlans[i]);
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(header - 2), etherType);
        payload.CopyTo(frame, header);
        return frame;
    }

    private static byte[] Llc(byte[] destination, byte[] source, byte[] payload)
    {
        byte[] frame = new byte[Math.Max(14 + payload.Length, 60)];
        destination.CopyTo(frame, 0);
        source.CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), (ushort)payload.Length);
        payload.CopyTo(frame, 14);
        return frame;
    }

    private static byte[] Arp(ushort operation, byte[] senderMac, string senderIp, byte[] targetMac, string targetIp)
    {
        byte[] arp = new byte[28];
        BinaryPrimitives.WriteUInt16BigEndian(arp, 1);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(2), Ipv4Type);
        arp[4] = 6;
        arp[5] = 4;
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(6), operation);
        senderMac.CopyTo(arp, 8);
        IPAddress.Parse(senderIp).GetAddressBytes().CopyTo(arp, 14);
        targetMac.CopyTo(arp, 18);
        IPAddress.Parse(targetIp).GetAddressBytes().CopyTo(arp, 24);
        return arp;
    }

    private static byte[] Ip4(string source, string destination, byte protocol, byte[] payload, byte ttl = 64, byte tos = 0,
        byte[]? options = null, ushort fragment = 0x4000, int? ihlOverride = null, int? totalLengthOverride = null)
    {
        options ??= [];
        int header = 20 + options.Length;
        byte[] packet = new byte[header + payload.Length];
        packet[0] = (byte)(0x40 | (ihlOverride ?? header / 4));
        packet[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(2), (ushort)(totalLengthOverride ?? packet.Length));
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), 0x1234);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(6), fragment);
        packet[8] = ttl;
        packet[9] = protocol;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(packet, 12);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(packet, 16);
        options.CopyTo(packet, 20);
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), InternetChecksum(packet.AsSpan(0, header)));
        payload.CopyTo(packet, header);
        return packet;
    }

    private static byte[] Ip6(string source, string destination, byte nextHeader, byte[] payload, byte hopLimit = 64)
    {
        byte[] packet = new byte[40 + payload.Length];
        packet[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(4), (ushort)payload.Length);
        packet[6] = nextHeader;
        packet[7] = hopLimit;
        IPAddress.Parse(source).GetAddressBytes().CopyTo(packet, 8);
        IPAddress.Parse(destination).GetAddressBytes().CopyTo(packet, 24);
        payload.CopyTo(packet, 40);
        return packet;
    }

    /// <summary>A TCP segment (checksum left 0: filters do not look at it, and tcpdump -nn does not check it).</summary>
    private static byte[] Tcp(ushort sourcePort, ushort destinationPort, byte flags, byte[] payload, int dataOffsetWords = 5)
    {
        byte[] segment = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(segment, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(4), 1000u + sourcePort);
        BinaryPrimitives.WriteUInt32BigEndian(segment.AsSpan(8), (flags & Ack) != 0 ? 5000u + destinationPort : 0);
        segment[12] = (byte)(dataOffsetWords << 4);
        segment[13] = flags;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(14), 64240);
        if ((flags & Urg) != 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(18), 1);
        }
        payload.CopyTo(segment, 20);
        return segment;
    }

    /// <summary>A UDP datagram (checksum 0: none, which IPv4 allows).</summary>
    private static byte[] Udp(ushort sourcePort, ushort destinationPort, byte[] payload)
    {
        byte[] datagram = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(datagram, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(datagram.AsSpan(4), (ushort)datagram.Length);
        payload.CopyTo(datagram, 8);
        return datagram;
    }

    private static byte[] Icmp(byte type, byte code, byte[] body)
    {
        byte[] message = new byte[8 + body.Length];
        message[0] = type;
        message[1] = code;
        BinaryPrimitives.WriteUInt32BigEndian(message.AsSpan(4), 0x00070001);
        body.CopyTo(message, 8);
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), InternetChecksum(message));
        return message;
    }

    private static ushort InternetChecksum(ReadOnlySpan<byte> data)
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
