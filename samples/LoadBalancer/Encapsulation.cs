using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Samples.LoadBalancer;

/// <summary>Why a frame for the VIP could not be sent on (each counted by the balancer).</summary>
public enum EncapsulationResult
{
    /// <summary>Rewritten and ready to send.</summary>
    Ok,

    /// <summary>The IPv4 header's lengths do not fit the frame.</summary>
    Malformed,

    /// <summary>The encapsulated packet would exceed the link's MTU.</summary>
    TooBig,

    /// <summary>The frame's buffer has no headroom for the outer header.</summary>
    NoHeadroom,
}

/// <summary>
/// The two ways a frame reaches its backend, both rewriting the frame in place: IP-in-IP (RFC 2003, IP protocol 4) puts an
/// outer IPv4 header from the load balancer to the backend in front of the client's packet, in the buffer's headroom
/// (no copy of the payload); direct server return (DSR) only rewrites the Ethernet addresses, for backends on the
/// load balancer's link that own the VIP themselves. Either way the backend answers the client directly.
/// </summary>
public static class Encapsulation
{
    /// <summary>The outer IPv4 header IP-in-IP adds.</summary>
    public const int IpipOverhead = 20;

    private const int EthernetHeader = 14;

    /// <summary>
    /// Encapsulates the untagged Ethernet frame's IPv4 packet in IP-in-IP: new Ethernet header (<paramref name="sourceMac"/>
    /// to <paramref name="nextHopMac"/>), then an outer IPv4 header <paramref name="outerSource"/> → <paramref name="outerDestination"/>
    /// (protocol 4, TTL 64, the inner packet's DSCP/ECN, identification and DF bit; checksum computed), then the inner
    /// packet unchanged. Ethernet padding after the inner packet is dropped. A TCP or UDP checksum the sender left for
    /// offload (<see cref="ChecksumState.L4Partial"/>) is finished first, since the backend cannot finish it.
    /// </summary>
    public static EncapsulationResult Ipip(PacketBuffer frame, MacAddress sourceMac, MacAddress nextHopMac, Ipv4Address outerSource,
        Ipv4Address outerDestination, int mtuBytes)
    {
        Span<byte> data = frame.Data;
        if (data.Length < EthernetHeader + 20)
        {
            return EncapsulationResult.Malformed;
        }
        Span<byte> inner = data[EthernetHeader..];
        int innerLength = BinaryPrimitives.ReadUInt16BigEndian(inner[2..]);
        int headerLength = (inner[0] & 0x0F) * 4;
        if (inner[0] >> 4 != 4 || headerLength < 20 || innerLength < headerLength || innerLength > inner.Length)
        {
            return EncapsulationResult.Malformed;
        }
        if (innerLength + IpipOverhead > mtuBytes)
        {
            return EncapsulationResult.TooBig;
        }
        if ((frame.Checksum & ChecksumState.L4Partial) != 0)
        {
            FinishTransportChecksum(inner[..innerLength], headerLength);
            frame.Checksum &= ~ChecksumState.L4Partial;
        }
        if (!frame.TryPrepend(IpipOverhead))
        {
            return EncapsulationResult.NoHeadroom;
        }
        frame.TrySetLength(EthernetHeader + IpipOverhead + innerLength);
        data = frame.Data;
        inner = data[(EthernetHeader + IpipOverhead)..];
        nextHopMac.Write(data);
        sourceMac.Write(data[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(data[12..], (ushort)EtherType.Ipv4);
        Span<byte> outer = data.Slice(EthernetHeader, 20);
        outer[0] = 0x45;
        outer[1] = inner[1]; // DSCP and ECN travel with the packet (RFC 6040's normal mode)
        BinaryPrimitives.WriteUInt16BigEndian(outer[2..], (ushort)(innerLength + IpipOverhead));
        outer[4] = inner[4]; // the inner identification: unique per source already
        outer[5] = inner[5];
        outer[6] = (byte)(inner[6] & 0x40); // DF from the inner packet, no fragment offset
        outer[7] = 0;
        outer[8] = 64;
        outer[9] = 4; // IP-in-IP
        outer[10] = 0;
        outer[11] = 0;
        outerSource.Write(outer[12..]);
        outerDestination.Write(outer[16..]);
        BinaryPrimitives.WriteUInt16BigEndian(outer[10..], Checksum.Compute(outer));
        frame.L3Offset = EthernetHeader;
        frame.L4Offset = EthernetHeader + 20;
        return EncapsulationResult.Ok;
    }

    /// <summary>Direct server return: the frame goes to <paramref name="nextHopMac"/> from <paramref name="sourceMac"/>, its IP packet untouched.</summary>
    public static void RewriteMacs(PacketBuffer frame, MacAddress sourceMac, MacAddress nextHopMac)
    {
        Span<byte> data = frame.Data;
        nextHopMac.Write(data);
        sourceMac.Write(data[6..]);
    }

    /// <summary>Computes the TCP or UDP checksum of an IPv4 packet whose sender left it to offload; other protocols are left alone.</summary>
    public static void FinishTransportChecksum(Span<byte> packet, int headerLength)
    {
        byte protocol = packet[9];
        int field = protocol == (byte)IpProtocol.Tcp ? 16 : protocol == (byte)IpProtocol.Udp ? 6 : -1;
        Span<byte> segment = packet[headerLength..];
        if (field < 0 || segment.Length < field + 2 || (packet[6] & 0x3F) != 0 || packet[7] != 0)
        {
            return; // not TCP or UDP, too short, or a fragment: nothing a backend could check either
        }
        segment[field] = 0;
        segment[field + 1] = 0;
        uint partial = Checksum.PseudoHeader(Ipv4Address.Read(packet[12..]), Ipv4Address.Read(packet[16..]), (IpProtocol)protocol, segment.Length);
        ushort sum = Checksum.Finish(Checksum.Accumulate(segment, partial));
        if (protocol == (byte)IpProtocol.Udp && sum == 0)
        {
            sum = 0xFFFF; // RFC 768: a computed zero is sent as all ones
        }
        BinaryPrimitives.WriteUInt16BigEndian(segment[field..], sum);
    }
}
