using Skiff.Stack.Ipv6;
using Skiff.Stack.Tests.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv4;

/// <summary>
/// ICMP types the stack does not act on are discarded silently (RFC 1122 3.2.2) and counted as ignored, not as
/// malformed: a timestamp request (nmap -PP) is a well-formed message, not an attack.
/// </summary>
public sealed class IcmpTypeTests
{
    private static readonly Ipv4Address s_peer = new(10, 0, 0, 2);
    private static readonly Ipv4Address s_our = new(10, 0, 0, 1);

    [Theory]
    [InlineData(13, 20)] // timestamp request
    [InlineData(14, 20)] // timestamp reply
    [InlineData(4, 28)]  // source quench
    [InlineData(99, 8)]  // undefined
    public void A_type_the_stack_does_not_act_on_is_ignored_not_malformed(byte type, int length)
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [], RouterSolicitations = false });
        h.Start();
        h.Receive(Frame(Icmp(type, length)));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.IcmpIgnored));
        Assert.Equal(0, h.Stack.Counters.Drops(DropReason.IcmpMalformed));
        Assert.Empty(h.Sent);
    }

    [Fact]
    public void A_truncated_or_corrupt_message_is_still_malformed_or_a_bad_checksum()
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [], RouterSolicitations = false });
        h.Start();
        byte[] corrupt = Icmp(13, 20);
        corrupt[10] ^= 0xFF;
        h.Receive(Frame(corrupt));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.IcmpBadChecksum));
        h.Receive(Frame(Icmp(3, 8))); // an unreachable that quotes nothing
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.IcmpMalformed));
        Assert.Equal(0, h.Stack.Counters.Drops(DropReason.IcmpIgnored));
    }

    /// <summary>An ICMP message of <paramref name="length"/> bytes with a valid checksum.</summary>
    private static byte[] Icmp(byte type, int length)
    {
        byte[] m = new byte[length];
        m[0] = type;
        for (int i = 4; i < length; i++)
        {
            m[i] = (byte)i;
        }
        uint sum = 0;
        for (int i = 0; i < length; i += 2)
        {
            sum += (uint)(m[i] << 8 | (i + 1 < length ? m[i + 1] : 0));
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        ushort checksum = (ushort)~sum;
        m[2] = (byte)(checksum >> 8);
        m[3] = (byte)checksum;
        return m;
    }

    private static byte[] Frame(byte[] icmp)
    {
        byte[] frame = new byte[Math.Max(60, 14 + 20 + icmp.Length)];
        new EthernetRepr(Ipv6Harness.OurMac, Ipv6Harness.PeerMac, EtherType.Ipv4).Emit(new EthernetFrame(frame));
        new Ipv4Repr(s_peer, s_our, IpProtocol.Icmp, icmp.Length, 64).Emit(new Ipv4Packet(frame.AsSpan(14)));
        icmp.CopyTo(frame, 34);
        return frame;
    }
}
