using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Hooks;

/// <summary>
/// An RX hook that answers ICMP echo requests (RFC 792) to one IPv4 address by itself, before the stack: it turns the
/// request into the reply in place (MACs and addresses swapped, TTL 64, type 0; both checksums updated incrementally,
/// RFC 1624) and returns <see cref="HookVerdict.Tx"/>, as an XDP responder returns XDP_TX. Everything else passes.
/// </summary>
/// <remarks>
/// It answers only well-formed, unfragmented requests whose IPv4 header and ICMP checksums verify (the kernel's
/// icmp_rcv checks the same), addressed to <see cref="Address"/> by a unicast Ethernet frame; a broken one passes on
/// to the stack, which counts why it drops it. Allocates nothing.
/// </remarks>
/// <param name="address">The address it answers for.</param>
public readonly struct IcmpEchoResponder(Ipv4Address address) : IPacketHook
{
    private const byte ReplyTtl = 64;

    /// <summary>The address it answers for.</summary>
    public Ipv4Address Address { get; } = address;

    /// <inheritdoc />
    public HookVerdict Process(PacketBuffer frame, ref HookContext context)
    {
        const PacketClass Wanted = PacketClass.Ipv4 | PacketClass.Icmp;
        PacketClass c = frame.Classification;
        if ((c & (Wanted | PacketClass.Fragment | PacketClass.Malformed | PacketClass.Vlan)) != Wanted)
        {
            return HookVerdict.Pass;
        }
        Span<byte> data = frame.Data;
        int l3 = frame.L3Offset;
        int l4 = frame.L4Offset;
        Span<byte> ip = data[l3..];
        Span<byte> icmp = data[l4..(l3 + BinaryPrimitives.ReadUInt16BigEndian(ip[2..]))];
        if ((data[0] & 1) != 0 || icmp[0] != (byte)Icmpv4Type.EchoRequest || icmp[1] != 0
            || BinaryPrimitives.ReadUInt32BigEndian(ip[16..]) != Address.Value
            || !Checksum.IsValid(ip[..(l4 - l3)]) || !Checksum.IsValid(icmp))
        {
            return HookVerdict.Pass;
        }
        // Ethernet: back to whoever sent it, from the MAC it was sent to.
        Span<byte> mac = stackalloc byte[6];
        data[..6].CopyTo(mac);
        data[6..12].CopyTo(data);
        mac.CopyTo(data[6..]);
        // IPv4: swap the addresses (the checksum's sum does not change), TTL 64.
        uint source = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]);
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], Address.Value);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], source);
        ushort oldTtlWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
        ip[8] = ReplyTtl;
        ushort newTtlWord = BinaryPrimitives.ReadUInt16BigEndian(ip[8..]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Update(BinaryPrimitives.ReadUInt16BigEndian(ip[10..]), oldTtlWord, newTtlWord));
        // ICMP: type 8 becomes 0.
        ushort oldType = BinaryPrimitives.ReadUInt16BigEndian(icmp);
        icmp[0] = (byte)Icmpv4Type.EchoReply;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum.Update(BinaryPrimitives.ReadUInt16BigEndian(icmp[2..]), oldType, BinaryPrimitives.ReadUInt16BigEndian(icmp)));
        frame.Checksum = ChecksumState.None;
        return HookVerdict.Tx;
    }
}
