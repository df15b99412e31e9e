using System.Buffers.Binary;
using System.Net;
using Skiff.Devices;
using Skiff.Engine.Rss;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Rss;

public sealed class FragmentSteeringTests
{
    private static byte[] Fragment(ushort id, ushort flagsAndOffset, ushort sourcePort = 5000, ushort destinationPort = 80, IpProtocol protocol = IpProtocol.Tcp)
    {
        byte[] f = new byte[14 + 20 + 20];
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)EtherType.Ipv4);
        Span<byte> ip = f.AsSpan(14);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], flagsAndOffset);
        ip[9] = (byte)protocol;
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], 0x0A000001);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], 0x0A000002);
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], destinationPort);
        return f;
    }

    [Fact]
    public void Frames_are_classified_by_their_fragment_fields()
    {
        Assert.Equal(FragmentSteering.Kind.First, FragmentSteering.Classify(Fragment(7, 0x2000), out FragmentSteering.Key key, out ushort sp, out ushort dp));
        Assert.Equal((5000, 80, (ushort)7), (sp, dp, key.Identification));
        Assert.Equal(FragmentSteering.Kind.Later, FragmentSteering.Classify(Fragment(7, 0x00B9), out FragmentSteering.Key later, out _, out _));
        Assert.Equal(key, later);
        Assert.Equal(FragmentSteering.Kind.None, FragmentSteering.Classify(Fragment(7, 0x4000), out _, out _, out _)); // DF, whole
        Assert.Equal(FragmentSteering.Kind.None, FragmentSteering.Classify(Fragment(7, 0x2000, protocol: IpProtocol.Icmp), out _, out _, out _));
    }

    [Fact]
    public void Later_fragments_follow_their_first_and_wait_for_it_when_it_comes_last()
    {
        using PacketPool pool = new(256);
        FragmentSteering steering = new();
        FragmentSteering.Classify(Fragment(1, 0x2000), out FragmentSteering.Key first, out _, out _);
        steering.Remember(first, 3);
        Assert.True(steering.TryRecall(first, out int queue));
        Assert.Equal(3, queue);

        FragmentSteering.Classify(Fragment(2, 0x0010), out FragmentSteering.Key other, out _, out _);
        Assert.False(steering.TryRecall(other, out _));
        Assert.True(pool.TryAllocate(out PacketBuffer? held));
        Instant t0 = Instant.FromMillis(1000);
        Assert.True(steering.TryHold(held, other, fallbackQueue: 1, t0));
        PacketBuffer[] released = new PacketBuffer[FragmentSteering.MaxHeld];
        Assert.Equal(0, steering.TakeHeld(first, released));
        Assert.Equal(1, steering.TakeHeld(other, released));
        Assert.Same(held, released[0]);
        held.Free();

        // Bounded: a full hold list refuses, and what waits too long goes where the address hash put it.
        for (int i = 0; i < FragmentSteering.MaxHeld; i++)
        {
            Assert.True(pool.TryAllocate(out PacketBuffer? b));
            Assert.True(steering.TryHold(b, new FragmentSteering.Key(1, 2, 6, (ushort)(100 + i)), fallbackQueue: 2, t0));
        }
        Assert.True(pool.TryAllocate(out PacketBuffer? extra));
        Assert.False(steering.TryHold(extra, other, 2, t0));
        extra.Free();
        (PacketBuffer Frame, int Queue)[] expired = new (PacketBuffer, int)[FragmentSteering.MaxHeld];
        Assert.Equal(0, steering.TakeExpired(t0 + FragmentSteering.HoldTime - Duration.FromMillis(1), expired));
        Assert.Equal(FragmentSteering.MaxHeld, steering.TakeExpired(t0 + FragmentSteering.HoldTime, expired));
        Assert.All(expired, e => Assert.Equal(2, e.Queue));
        foreach ((PacketBuffer frame, _) in expired)
        {
            frame.Free();
        }
        Assert.Equal(0, steering.Holding);
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public async Task Fragmented_tcp_reaches_the_core_of_its_connection_over_software_rss()
    {
        const int connections = 24;
        FragmentingDevice? fragmenter = null;
        await using EnginePair pair = new(
            o => o with { Cores = 2, Tcp = new TcpLayerOptions { MaxConnections = 256 } },
            wrapA: d => fragmenter = new FragmentingDevice(d, 600));
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, connections);
        for (int i = 0; i < connections; i++)
        {
            await using SkiffConnection c = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
            byte[] payload = new byte[4000];
            payload.AsSpan().Fill((byte)(i + 1));
            Task<byte[]> echoed = Echo.ReadToEndAsync(c.Transport.Input);
            await c.Transport.Output.WriteAsync(payload);
            await c.CompleteAsync();
            Assert.Equal(payload, await echoed.WaitAsync(EnginePair.Timeout));
        }
        await server.WaitAsync(EnginePair.Timeout);

        Assert.True(fragmenter!.DatagramsFragmented >= connections * 3);
        for (int core = 0; core < 2; core++)
        {
            Assert.Equal(0, await pair.B.Engines[core].InvokeAsync(i => i.Tcp.Counters.ResetsForNoConnection).WaitAsync(EnginePair.Timeout));
        }
        long reassembled = 0;
        for (int core = 0; core < 2; core++)
        {
            reassembled += await pair.B.Engines[core].InvokeAsync(i => i.Counters.DatagramsReassembled).WaitAsync(EnginePair.Timeout);
        }
        Assert.True(reassembled >= connections * 3, $"{reassembled} datagrams reassembled");
        Assert.True(pair.B.Rss!.FragmentsFollowed > 0);
        Assert.True(pair.B.Rss.FragmentsHeld > 0); // every second datagram came last fragment first
    }
}

public sealed class QueueMeshFragmentTests
{
    [Fact]
    public async Task Fragmented_tcp_to_a_connection_skiff_opened_reaches_the_core_owning_its_port()
    {
        const int connections = 24;
        FragmentingDevice? fragmenter = null;
        // The NIC hashes fragments on addresses alone, as the kernel's fanout does.
        await using MeshPair mesh = new(seed: 7, wrapA: d => fragmenter = new FragmentingDevice(d, 600), nicFollowsFragments: false);
        await using SkiffListener listener = mesh.A.Listen(7);
        Task server = Echo.ServeAsync(listener, connections);
        int[] cores = new int[2];
        for (int i = 0; i < connections; i++)
        {
            await using SkiffConnection c = await mesh.B.ConnectAsync(MeshPair.EndPointA(7)).AsTask().WaitAsync(EnginePair.Timeout);
            cores[c.Core]++;
            byte[] payload = new byte[4000];
            payload.AsSpan().Fill((byte)(i + 1));
            Task<byte[]> echoed = Echo.ReadToEndAsync(c.Transport.Input);
            await c.Transport.Output.WriteAsync(payload);
            await c.CompleteAsync();
            Assert.Equal(payload, await echoed.WaitAsync(EnginePair.Timeout)); // A's echo came back in fragments
        }
        await server.WaitAsync(EnginePair.Timeout);
        Assert.Equal([connections / 2, connections / 2], cores);
        Assert.True(fragmenter!.DatagramsFragmented >= connections * 3);
        Assert.True(mesh.B.Mesh!.FragmentsFollowed > 0);
        for (int core = 0; core < 2; core++)
        {
            Assert.Equal(0, await mesh.B.Engines[core].InvokeAsync(i => i.Tcp.Counters.ResetsForNoConnection).WaitAsync(EnginePair.Timeout));
        }
    }
}
