using Skiff.Wire;

namespace Skiff.Stack;

/// <summary>
/// What a router beside the stack (Skiff.Forwarding, issue 17) asks of a port's interface: its neighbour resolution
/// and its rate-limited ICMP errors, so the forwarder does not keep a second ARP cache or ICMP builder.
/// </summary>
public sealed partial class Interface
{
    /// <summary>
    /// Sends <paramref name="packet"/>, whose data is a complete IPv4 packet (header onward, no Ethernet header), to
    /// <paramref name="nextHop"/> on this interface's link: at once when the neighbour is known, else queued behind an
    /// ARP request (RFC 1122 2.3.2.2) and sent by a later <see cref="Receive"/> or dropped as
    /// <see cref="DropReason.NeighborUnresolved"/>. Ownership passes. Frames leave through <paramref name="output"/>.
    /// </summary>
    public void SendToNeighbor(Instant now, PacketBuffer packet, Ipv4Address nextHop, TxBuffer output)
    {
        ArgumentNullException.ThrowIfNull(packet);
        ArgumentNullException.ThrowIfNull(output);
        _now = now;
        _output = output;
        Resolve(packet, nextHop, broadcast: false);
    }

    /// <summary>
    /// Sends an ICMP error (<paramref name="template"/>: Time Exceeded, Destination Unreachable, fragmentation needed)
    /// about <paramref name="packet"/>, whose data is an IPv4 packet (header onward), to its source, from this
    /// interface's address on the way back (RFC 1812 4.3.2.4), rate limited as the stack's own errors
    /// (<see cref="InterfaceOptions.IcmpErrorsPerSecond"/>, RFC 1812 4.3.2.8). Never about an ICMP error, a
    /// non-initial fragment or a source that is not unicast (RFC 1812 4.3.2.7). The caller keeps
    /// <paramref name="packet"/>, unchanged. False when nothing was sent.
    /// </summary>
    public bool SendIcmpErrorAbout(Instant now, PacketBuffer packet, Icmpv4Repr template, TxBuffer output)
    {
        ArgumentNullException.ThrowIfNull(packet);
        ArgumentNullException.ThrowIfNull(output);
        if (Ipv4Packet.TryCreate(packet.Data, out Ipv4Packet ip) != WireError.Ok
            || Ipv4Repr.TryParse(ip, verifyChecksum: false, out Ipv4Repr repr) != WireError.Ok)
        {
            return false;
        }
        _now = now;
        _output = output;
        int l3 = ip.HeaderLength;
        long sent = Counters.IcmpErrorsSent;
        packet.TryAdjust(l3);
        SendIcmpError(packet, l3, repr, template);
        packet.TryPrepend(l3);
        return Counters.IcmpErrorsSent != sent;
    }
}
