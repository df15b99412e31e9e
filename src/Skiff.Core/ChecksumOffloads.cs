namespace Skiff;

/// <summary>Checksum work a device does in hardware (or that a virtual device makes unnecessary).</summary>
[Flags]
public enum ChecksumOffloads : byte
{
    None = 0,
    Ipv4 = 1,
    Tcp = 2,
    Udp = 4,
    Icmp = 8,
    All = Ipv4 | Tcp | Udp | Icmp,
}
