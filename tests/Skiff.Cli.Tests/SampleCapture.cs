using System.Text;
using Skiff.Wire;
using Skiff.Wire.Pcap;
using static Skiff.Cli.Tests.FrameBuilder;

namespace Skiff.Cli.Tests;

/// <summary>
/// The frames of tests/data/sample.pcapng: a TCP handshake with options, data and ACK, UDP, ICMP echo and a port
/// unreachable, ARP who-has/is-at, IPv6 NDP and ICMPv6 echo, an IPv4 datagram in two fragments, a VLAN-tagged frame,
/// and one deliberately malformed frame (a TCP header whose data offset says 12 bytes). Deterministic: the same
/// bytes every run, so the committed file is checked against this generator.
/// </summary>
internal static class SampleCapture
{
    public const long StartNanos = 1_700_000_000_000_000_000; // 2023-11-14T22:13:20Z
    public const int MalformedFrameNumber = 17;

    public static readonly MacAddress MacA = MacAddress.Parse("02:00:00:00:00:0a");
    public static readonly MacAddress MacB = MacAddress.Parse("02:00:00:00:00:0b");
    public static readonly Ipv4Address IpA = Ipv4Address.Parse("10.0.0.1");
    public static readonly Ipv4Address IpB = Ipv4Address.Parse("10.0.0.2");
    public static readonly Ipv6Address Ip6A = Ipv6Address.Parse("fd00::a");
    public static readonly Ipv6Address Ip6B = Ipv6Address.Parse("fd00::b");

    public static List<byte[]> Frames()
    {
        Func<int, uint> tcpAB = n => Checksum.PseudoHeader(IpA, IpB, IpProtocol.Tcp, n);
        Func<int, uint> tcpBA = n => Checksum.PseudoHeader(IpB, IpA, IpProtocol.Tcp, n);
        Func<int, uint> udpAB = n => Checksum.PseudoHeader(IpA, IpB, IpProtocol.Udp, n);
        Func<int, uint> icmp6AB = n => Checksum.PseudoHeader(Ip6A, Ip6B, IpProtocol.Icmpv6, n);
        Func<int, uint> icmp6BA = n => Checksum.PseudoHeader(Ip6B, Ip6A, IpProtocol.Icmpv6, n);
        Ipv6Address solicitedB = Ip6B.SolicitedNode;
        Func<int, uint> icmp6ToSolicited = n => Checksum.PseudoHeader(Ip6A, solicitedB, IpProtocol.Icmpv6, n);

        // mss 1460, sackOK, TS val 1 ecr 0, nop, wscale 7: what Linux sends on a SYN.
        byte[] synOptions = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];
        byte[] synAckOptions = [2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1, 1, 3, 3, 7];
        byte[] tsOptions(uint val, uint ecr) => [1, 1, 8, 10, (byte)(val >> 24), (byte)(val >> 16), (byte)(val >> 8), (byte)val, (byte)(ecr >> 24), (byte)(ecr >> 16), (byte)(ecr >> 8), (byte)ecr];
        byte[] request = Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\n\r\n");
        byte[] udpPayload = Encoding.ASCII.GetBytes("skiff sample datagram");
        byte[] udpToClosedPort = Ipv4(IpA, IpB, IpProtocol.Udp, Udp(40000, 9, udpPayload, n => Checksum.PseudoHeader(IpA, IpB, IpProtocol.Udp, n)));
        byte[] echoData = Bytes(56, 0x10);
        byte[] bigEcho = Icmp(8, 0, (7u << 16) | 1, Bytes(1992, 0x20)); // 2000 bytes: two fragments at MTU 1500

        const ushort ipv4 = 0x0800, arp = 0x0806, ipv6 = 0x86DD;
        List<byte[]> frames =
        [
            // 1-2 ARP
            Ethernet(MacAddress.Broadcast, MacA, arp, Arp(1, MacA, IpA, MacAddress.Zero, IpB)),
            Ethernet(MacA, MacB, arp, Arp(2, MacB, IpB, MacA, IpA)),
            // 3-7 TCP handshake, request, ACK
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Tcp, Tcp(5000, 80, 1000, 0, TcpFlags.Syn, 64240, synOptions, [], tcpAB), id: 1)),
            Ethernet(MacA, MacB, ipv4, Ipv4(IpB, IpA, IpProtocol.Tcp, Tcp(80, 5000, 9000, 1001, TcpFlags.Syn | TcpFlags.Ack, 65160, synAckOptions, [], tcpBA), id: 0)),
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Tcp, Tcp(5000, 80, 1001, 9001, TcpFlags.Ack, 502, tsOptions(3, 2), [], tcpAB), id: 2)),
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Tcp, Tcp(5000, 80, 1001, 9001, TcpFlags.Psh | TcpFlags.Ack, 502, tsOptions(4, 2), request, tcpAB), id: 3)),
            Ethernet(MacA, MacB, ipv4, Ipv4(IpB, IpA, IpProtocol.Tcp, Tcp(80, 5000, 9001, 1001 + (uint)request.Length, TcpFlags.Ack, 509, tsOptions(5, 4), [], tcpBA), id: 1)),
            // 8 UDP, 9 ICMP port unreachable quoting it
            Ethernet(MacB, MacA, ipv4, udpToClosedPort),
            Ethernet(MacA, MacB, ipv4, Ipv4(IpB, IpA, IpProtocol.Icmp, Icmp(3, 3, 0, udpToClosedPort), id: 2, dontFragment: false)),
            // 10-11 ICMP echo
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Icmp, Icmp(8, 0, (7u << 16) | 1, echoData), id: 4)),
            Ethernet(MacA, MacB, ipv4, Ipv4(IpB, IpA, IpProtocol.Icmp, Icmp(0, 0, (7u << 16) | 1, echoData), id: 3, dontFragment: false)),
            // 12-13 IPv6 neighbour discovery: NS with source link-address, solicited NA with target link-address
            Ethernet(MacAddress.FromIpv6Multicast(solicitedB), MacA, ipv6, Ipv6(Ip6A, solicitedB, IpProtocol.Icmpv6,
                Icmp(135, 0, 0, [.. Address(Ip6B), 1, 1, .. Mac(MacA)], icmp6ToSolicited), hopLimit: 255)),
            Ethernet(MacA, MacB, ipv6, Ipv6(Ip6B, Ip6A, IpProtocol.Icmpv6,
                Icmp(136, 0, 0x6000_0000, [.. Address(Ip6B), 2, 1, .. Mac(MacB)], icmp6BA), hopLimit: 255)),
            // 14-15 ICMPv6 echo
            Ethernet(MacB, MacA, ipv6, Ipv6(Ip6A, Ip6B, IpProtocol.Icmpv6, Icmp(128, 0, (9u << 16) | 1, echoData, icmp6AB))),
            Ethernet(MacA, MacB, ipv6, Ipv6(Ip6B, Ip6A, IpProtocol.Icmpv6, Icmp(129, 0, (9u << 16) | 1, echoData, icmp6BA))),
            // 16 a VLAN-tagged UDP datagram
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Udp, Udp(40001, 53, udpPayload, udpAB), id: 5), vlan: 10),
            // 17 malformed: a TCP data offset of 3 words (12 bytes) is below the 20-byte minimum
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Tcp, BreakDataOffset(Tcp(5000, 80, 1019, 9001, TcpFlags.Ack, 502, [], [], tcpAB)), id: 6)),
            // 18-19 a 2000-byte echo request in two IPv4 fragments (1480 + 520 bytes)
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Icmp, bigEcho[..1480], id: 0x1234, dontFragment: false, moreFragments: true)),
            Ethernet(MacB, MacA, ipv4, Ipv4(IpA, IpB, IpProtocol.Icmp, bigEcho[1480..], id: 0x1234, dontFragment: false, fragmentOffsetBytes: 1480)),
        ];
        return frames;
    }

    /// <summary>Writes the sample as pcapng (or classic pcap), one frame per millisecond from <see cref="StartNanos"/>.</summary>
    public static byte[] Build(bool pcapng = true)
    {
        MemoryStream file = new();
        List<byte[]> frames = Frames();
        if (pcapng)
        {
            using PcapNgWriter writer = new(file, application: "skiff tests (SampleCapture.cs)", leaveOpen: true);
            int eth0 = writer.AddInterface(LinkType.Ethernet, "eth0");
            for (int i = 0; i < frames.Count; i++) writer.Write(frames[i], StartNanos + i * 1_000_000L, eth0);
        }
        else
        {
            using PcapWriter writer = new(file, leaveOpen: true);
            for (int i = 0; i < frames.Count; i++) writer.Write(frames[i], StartNanos + i * 1_000_000L);
        }
        return file.ToArray();
    }

    private static byte[] Address(Ipv6Address address)
    {
        byte[] bytes = new byte[16];
        address.Write(bytes);
        return bytes;
    }

    private static byte[] Mac(MacAddress mac)
    {
        byte[] bytes = new byte[6];
        mac.Write(bytes);
        return bytes;
    }

    private static byte[] BreakDataOffset(byte[] segment)
    {
        segment[12] = 3 << 4;
        return segment;
    }
}
