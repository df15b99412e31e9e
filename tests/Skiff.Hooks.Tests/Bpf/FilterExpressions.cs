namespace Skiff.Hooks.Tests.Bpf;

/// <summary>The tcpdump expressions the differential tests run: hand-written ones, then combinations of them.</summary>
internal static class FilterExpressions
{
    /// <summary>Written out one by one: every family of pcap-filter(7) primitive that applies to Ethernet.</summary>
    public static readonly string[] Basic =
    [
        // protocols
        "ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "igmp", "ip proto 47", "ip proto \\gre", "ip6 proto 58",
        "ether proto 0x88cc", "ether proto \\arp", "ether proto 0x88b5", "not ip", "not ip and not ip6", "ip or ip6",
        "tcp or udp", "not tcp and not udp", "ip and not tcp", "ip6 and tcp", "ip6 and udp", "ip6 and not icmp6", "ip and icmp",
        "llc", "stp", "mpls", "mpls 100", "mpls 101", "pppoes", "pppoes 1",
        // hosts and nets
        "host 10.0.0.1", "host 10.0.0.2", "src host 10.0.0.1", "dst host 10.0.0.1", "src host 8.8.8.8", "dst host 8.8.8.8",
        "host 192.168.1.1", "ip host 192.168.1.20", "arp host 10.0.0.2", "src or dst host 172.16.5.4", "src and dst host 10.0.0.1",
        "net 10.0.0.0/8", "net 10.0.0.0/24", "src net 10.1.0.0/16", "dst net 10.0.0.0/8", "net 192.168", "net 192.168.1.0/24",
        "dst net 172.16.0.0 mask 255.240.0.0", "src net 172.16.0.0/12", "net 8.8.8.0/24", "not net 10.0.0.0/8", "net 224.0.0.0/4",
        "host 255.255.255.255", "dst host 10.255.255.255", "host 0.0.0.0", "net 10.200.0.0/16",
        // IPv6 hosts and nets
        "host fd00::a", "host fd00::b", "src host fd00::a", "dst host fd00::b", "ip6 host 2001:db8::1", "host fe80::1",
        "net 2001:db8::/32", "src net 2001:db8::/48", "dst net 2001:db8:1::/48", "net fe80::/10", "net fd00::/8",
        "dst net ff02::/16", "ip6 dst host ff02::1", "ip6 and not net fd00::/8", "net ::/0",
        // ports and port ranges
        "port 80", "tcp port 80", "udp port 80", "src port 80", "dst port 80", "port 22", "tcp dst port 22", "not port 22",
        "port 53", "udp port 53", "tcp port 53", "udp src port 53", "udp dst port 53", "port 443", "tcp src port 443",
        "port 8080", "port 123", "udp port 67 or udp port 68", "port 5353", "portrange 1000-2000", "tcp portrange 1000-2000",
        "udp portrange 1000-2000", "src portrange 1-1023", "dst portrange 1024-65535", "portrange 0-100", "ip6 and port 80",
        "ip and port 80", "port 547", "tcp port 40000", "udp port 9",
        // TCP flags and header bytes
        "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "tcp[tcpflags] & (tcp-syn|tcp-ack) == (tcp-syn|tcp-ack)",
        "tcp[tcpflags] & tcp-fin != 0", "tcp[tcpflags] & tcp-rst != 0", "tcp[tcpflags] & tcp-push != 0", "tcp[tcpflags] & tcp-urg != 0",
        "tcp[tcpflags] & tcp-ack != 0", "tcp[tcpflags] & tcp-ece != 0", "tcp[tcpflags] & tcp-cwr != 0", "tcp[tcpflags] == tcp-syn",
        "tcp[13] & 2 != 0", "tcp[13] = 18", "tcp[13] & 0x11 != 0", "tcp[12] & 0xf0 < 0x50", "tcp[0:2] = 80", "tcp[2:2] > 1023",
        "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420", "tcp[4:4] > 2000", "tcp[14:2] = 64240",
        // IPv4 header bytes, arithmetic
        "ip[6:2] & 0x1fff != 0", "ip[6:2] & 0x1fff = 0", "ip[6] & 0x20 != 0", "ip[6] & 0x40 != 0", "ip[0] & 0xf != 5", "ip[0] & 0xf > 5",
        "ip[8] < 64", "ip[8] = 255", "ip[1] != 0", "ip[2:2] > 576", "ip[9] = 6", "ip[12:4] = 0x0a000001", "ip[16] = 224",
        "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0", "ip[2:2] / 4 > 100", "ip[2:2] % 7 = 3", "ip[2:2] * 2 > 1000",
        "ip[8] ^ 0xff = 0", "len / ip[8] > 1", "len % ip[8] = 0", "ip[2:2] - 20 < 30", "ip[0] >> 4 = 4", "ip[1] | 1 = 1",
        // UDP, ICMP bytes
        "udp[8:2] = 0x1234", "udp[0:2] > 1023 and udp[2:2] < 1024", "udp[4:2] > 100", "icmp[icmptype] == icmp-echo",
        "icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply", "icmp[0] = 3", "icmp[icmptype] = icmp-timxceed",
        "icmp6 and ip6[40] == 128", "icmp6 and ip6[40] == 135", "ip6[6] = 58", "ip6[7] = 255", "ip6[40:2] = 0x8000", "icmp6[0] = 129",
        // sizes
        "greater 100", "less 60", "greater 1000", "less 1500", "len > 100", "len <= 60", "len = 60", "len >= 1514", "greater 64 and less 100",
        // Ethernet, broadcast, multicast
        "ether host 02:00:00:00:00:0a", "ether src 02:00:00:00:00:0a", "ether dst 02:00:00:00:00:0b", "ether src 02:00:00:00:00:0c",
        "ether dst ff:ff:ff:ff:ff:ff", "broadcast", "ether broadcast", "multicast", "ether multicast", "not broadcast and multicast",
        "ip multicast", "ip6 multicast", "ether[0] & 1 != 0", "ether[12:2] = 0x0800", "ether[len - 1] = 0", "ether[6:4] = 0x02000000",
        // VLAN
        "vlan", "vlan 10", "vlan 20", "vlan 10 and udp", "vlan and ip6", "vlan 20 and tcp port 80", "vlan 100 and vlan 300",
        "vlan and vlan 300", "vlan 200 and vlan 300 and tcp", "not vlan", "vlan and arp", "vlan 10 or vlan 20", "vlan and udp port 53",
        // combinations and negations
        "tcp[tcpflags] & tcp-syn != 0 and (dst net 10.0.0.0/8 or src host 192.168.1.1) and not port 22",
        "(tcp or udp) and not port 53", "host 10.0.0.1 and (port 80 or port 22)", "not (host 10.0.0.1 or host 10.0.0.2)",
        "ip and not (tcp or udp or icmp)", "icmp or icmp6", "arp or (udp and broadcast)", "src net 10.0.0.0/8 and dst port 80 and greater 70",
        "tcp and not tcp[tcpflags] & tcp-ack != 0", "udp and (src port 53 or dst port 53) and not vlan", "ip6 or arp or vlan",
        "host 10.0.0.1 and not arp", "not ip6 and not icmp", "(tcp port 80 or tcp port 443) and tcp[tcpflags] & tcp-syn != 0",
        "ether src 02:00:00:00:00:0a and not ip", "less 100 and not arp", "dst host 10.0.0.2 and ip[8] < 64", "",
    ];

    /// <summary>Pairs of primitives joined with "or" and with "and not", to exercise the optimiser's joins.</summary>
    public static IEnumerable<string> Combinations()
    {
        string[] left = ["tcp", "udp", "ip6", "arp", "vlan", "host 10.0.0.1", "net 192.168.0.0/16", "port 80", "greater 200", "icmp"];
        string[] right = ["port 53", "src host 10.0.0.2", "tcp[tcpflags] & tcp-syn != 0", "dst net 2001:db8::/32", "less 80", "broadcast"];
        foreach (string l in left)
        {
            foreach (string r in right)
            {
                yield return $"{l} or {r}";
                yield return $"{l} and not {r}";
            }
        }
    }

    /// <summary>Expressions libpcap compiles but with backward jumps (loops), which Skiff and the kernel refuse.</summary>
    public static readonly string[] Looping = ["ip protochain 6", "ip6 protochain 17", "ip6 protochain 6"];

    /// <summary>Every expression, hand-written first.</summary>
    public static IEnumerable<string> All() => Basic.Concat(Combinations()).Distinct();
}
