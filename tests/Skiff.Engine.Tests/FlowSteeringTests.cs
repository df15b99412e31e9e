using System.Buffers.Binary;
using Skiff.Engine.Rss;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

public sealed class FlowSteeringTests
{
    private static readonly Ipv4Address s_local = new(10, 0, 0, 2);
    private static readonly Ipv4Address s_remote = new(10, 0, 0, 1);

    /// <summary>Ethernet + IPv4 (+ 4 bytes of ports) from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    private static byte[] Frame(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, ushort sourcePort, ushort destinationPort, ushort flagsAndOffset = 0)
    {
        byte[] f = new byte[14 + 20 + 20];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)EtherType.Ipv4);
        Span<byte> ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], flagsAndOffset);
        ip[9] = (byte)protocol;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], source.Value);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], destination.Value);
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], destinationPort);
        return f;
    }

    private static byte[] Arp(ushort operation)
    {
        byte[] f = new byte[14 + 28];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)EtherType.Arp);
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14 + 6), operation);
        return f;
    }

    [Theory]
    [InlineData(IpProtocol.Tcp)]
    [InlineData(IpProtocol.Udp)]
    public void A_segment_goes_to_the_queue_its_flow_hashes_to(IpProtocol protocol)
    {
        FlowSteering steering = new(4);
        ToeplitzHash toeplitz = new();
        for (ushort port = 1000; port < 1200; port++)
        {
            int queue = steering.QueueOf(Frame(s_remote, s_local, protocol, port, 80), out uint hash);
            Assert.Equal(toeplitz.HashIpv4(s_remote, s_local, port, 80), hash);
            Assert.Equal((int)(hash % FlowSteering.RetaSize % 4), queue);
            Assert.Equal(queue, steering.QueueOfIncoming(s_local, 80, s_remote, port));
        }
    }

    [Fact]
    public void Flows_spread_over_every_queue()
    {
        FlowSteering steering = new(2);
        int[] perQueue = new int[2];
        for (ushort port = 40000; port < 41000; port++)
        {
            perQueue[steering.QueueOfIncoming(s_local, 80, s_remote, port)]++;
        }
        Assert.InRange(perQueue[0], 350, 650);
        Assert.InRange(perQueue[1], 350, 650);
    }

    [Fact]
    public void Fragments_and_other_protocols_hash_on_addresses_only()
    {
        FlowSteering steering = new(8);
        uint twoTuple = new ToeplitzHash().HashIpv4(s_remote, s_local);
        steering.QueueOf(Frame(s_remote, s_local, IpProtocol.Udp, 5, 6, flagsAndOffset: 0x2000), out uint first);  // MF
        steering.QueueOf(Frame(s_remote, s_local, IpProtocol.Udp, 5, 6, flagsAndOffset: 0x00B9), out uint later);  // an offset
        steering.QueueOf(Frame(s_remote, s_local, IpProtocol.Icmp, 5, 6), out uint icmp);
        Assert.Equal(twoTuple, first);
        Assert.Equal(twoTuple, later);
        Assert.Equal(twoTuple, icmp);
    }

    [Fact]
    public void Arp_replies_go_to_every_queue_and_everything_without_a_flow_to_queue_0()
    {
        FlowSteering steering = new(4);
        Assert.Equal(FlowSteering.AllQueues, steering.QueueOf(Arp(2), out _));
        Assert.Equal(0, steering.QueueOf(Arp(1), out _));
        Assert.Equal(0, steering.QueueOf(new byte[10], out _));
        byte[] ipv6 = new byte[60];
        BinaryPrimitives.WriteUInt16BigEndian(ipv6.AsSpan(12), (ushort)EtherType.Ipv6);
        Assert.Equal(0, steering.QueueOf(ipv6, out _));
        byte[] badHeaderLength = Frame(s_remote, s_local, IpProtocol.Tcp, 1, 2);
        badHeaderLength[14] = 0x4F; // 60-byte header in a 40-byte packet
        Assert.Equal(0, steering.QueueOf(badHeaderLength, out _));
        Assert.Equal(0, steering.QueueOf(badHeaderLength.AsSpan(0, 20), out _));
    }

    [Fact]
    public void Queue_counts_outside_1_to_64_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowSteering(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlowSteering(65));
    }
}
