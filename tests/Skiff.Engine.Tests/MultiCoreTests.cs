using System.Net;
using Skiff.Devices;
using Skiff.Engine.Rss;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

/// <summary>Two cores per stack over one in-memory link: flows spread by hash, and each stays on its core.</summary>
public sealed class MultiCoreTests
{
    private static Ipv4Address V4(IPAddress a) => Ipv4Address.Parse(a.ToString());

    private static int ExpectedCore(SkiffStack stack, SkiffConnection c) =>
        stack.Steering.QueueOfIncoming(V4(c.LocalEndPoint.Address), (ushort)c.LocalEndPoint.Port, V4(c.RemoteEndPoint.Address), (ushort)c.RemoteEndPoint.Port);

    private static async Task<long[]> PerCore(SkiffStack stack, Func<Interface, long> read)
    {
        long[] values = new long[stack.Engines.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = await stack.Engines[i].InvokeAsync(read).WaitAsync(EnginePair.Timeout);
        }
        return values;
    }

    [Fact]
    public async Task Connections_stay_on_the_core_their_hash_picks_on_both_ends()
    {
        const int connections = 200;
        await using EnginePair pair = new(o => o with { Cores = 2, Tcp = new TcpLayerOptions { MaxConnections = 1024, DefaultBacklog = 256 } });
        await using SkiffListener listener = pair.B.Listen(7);
        List<SkiffConnection> accepted = [];
        Task server = Task.Run(async () =>
        {
            List<Task> echoes = [];
            for (int i = 0; i < connections; i++)
            {
                SkiffConnection c = await listener.AcceptAsync();
                accepted.Add(c);
                echoes.Add(Task.Run(() => Echo.EchoPipeAsync(c)));
            }
            await Task.WhenAll(echoes);
        });

        int[] clientCores = new int[2];
        List<Task> clients = [];
        for (int i = 0; i < connections; i++)
        {
            SkiffConnection c = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
            Assert.Equal(ExpectedCore(pair.A, c), c.Core); // the source port hashes back to the opening core
            clientCores[c.Core]++;
            clients.Add(Task.Run(async () =>
            {
                byte[] payload = new byte[1000 + c.LocalEndPoint.Port % 1000];
                payload.AsSpan().Fill((byte)c.LocalEndPoint.Port);
                Task<byte[]> echoed = Echo.ReadToEndAsync(c.Transport.Input);
                await c.Transport.Output.WriteAsync(payload);
                await c.CompleteAsync();
                Assert.Equal(payload, await echoed);
                await c.DisposeAsync();
            }));
        }
        await Task.WhenAll(clients).WaitAsync(EnginePair.Timeout);
        await server.WaitAsync(EnginePair.Timeout);

        Assert.Equal([connections / 2, connections / 2], clientCores); // opened on the cores in turn
        int[] serverCores = new int[2];
        foreach (SkiffConnection c in accepted)
        {
            Assert.Equal(ExpectedCore(pair.B, c), c.Core);
            serverCores[c.Core]++;
        }
        Assert.All(serverCores, n => Assert.InRange(n, connections / 5, connections * 4 / 5)); // spread over both cores
        // No segment reached a core without its connection: nobody answered one with a RST.
        long[] resetsA = await PerCore(pair.A, i => i.Tcp.Counters.ResetsForNoConnection);
        long[] resetsB = await PerCore(pair.B, i => i.Tcp.Counters.ResetsForNoConnection);
        Assert.Equal(new long[] { 0, 0 }, resetsA);
        Assert.Equal(new long[] { 0, 0 }, resetsB);
        Assert.Equal(0, pair.A.Rss!.Drops);
        Assert.Equal(0, pair.B.Rss!.Drops);
        Assert.True(pair.B.Rss.SteeredFrames > 0 && pair.B.Rss.ForwardedFrames > 0);
    }

    [Fact]
    public async Task A_udp_socket_receives_from_every_core_and_replies_from_the_flows_core()
    {
        await using EnginePair pair = new(o => o with { Cores = 2 });
        await using SkiffUdpSocket server = pair.B.BindUdp(7);
        using CancellationTokenSource stop = new();
        Task echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (true)
            {
                SkiffUdpReceiveResult r = await server.ReceiveFromAsync(buffer, stop.Token);
                await server.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint);
            }
        });
        UdpEndpoint destination = new(EnginePair.AddressB, 7);
        byte[] reply = new byte[2048];
        for (int s = 0; s < 16; s++)
        {
            await using SkiffUdpSocket client = pair.A.BindUdp();
            for (int i = 0; i < 10; i++)
            {
                byte[] payload = new byte[32 + i];
                payload[0] = (byte)s;
                payload[1] = (byte)i;
                await client.SendToAsync(payload, destination).AsTask().WaitAsync(EnginePair.Timeout);
                SkiffUdpReceiveResult r = await client.ReceiveFromAsync(reply).AsTask().WaitAsync(EnginePair.Timeout);
                Assert.Equal(payload, reply.AsSpan(0, r.ReceivedBytes).ToArray());
            }
        }
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => echo.WaitAsync(EnginePair.Timeout));
        long[] received = await PerCore(pair.B, i => i.Counters.RxFrames);
        Assert.All(received, n => Assert.True(n > 0, $"a core received nothing: {string.Join(", ", received)}"));
    }

    [Fact]
    public async Task An_accept_cancelled_on_one_core_loses_no_connection_and_dispose_resets_the_unaccepted()
    {
        await using EnginePair pair = new(o => o with { Cores = 2 });
        SkiffListener listener = pair.B.Listen(9);
        using (CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(30)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.AcceptAsync(cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        List<SkiffConnection> clients = [];
        for (int i = 0; i < 8; i++)
        {
            clients.Add(await pair.A.ConnectAsync(EnginePair.EndPointB(9)).AsTask().WaitAsync(EnginePair.Timeout));
        }
        for (int i = 0; i < 4; i++)
        {
            await using SkiffConnection c = await listener.AcceptAsync().AsTask().WaitAsync(EnginePair.Timeout);
            Assert.Equal(ExpectedCore(pair.B, c), c.Core);
        }
        await listener.DisposeAsync().AsTask().WaitAsync(EnginePair.Timeout);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await listener.AcceptAsync());
        foreach (SkiffConnection c in clients)
        {
            await c.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_core_loop_is_pinned_to_its_own_cpu()
    {
        int second = Math.Min(1, Environment.ProcessorCount - 1);
        await using EnginePair pair = new(o => o with { Cores = 2, PinToCpus = [0, second] });
        await using SkiffListener listener = pair.B.Listen(7); // the loops have run by now
        Assert.Equal(0, pair.B.Engines[0].PinnedCpu);
        Assert.Equal(second, pair.B.Engines[1].PinnedCpu);
        Assert.Equal([0, 1], pair.B.Engines.Select(e => e.Options.Queue));
    }

    [Fact]
    public void Options_that_cannot_be_met_are_refused_with_a_sentence()
    {
        SkiffStackOptions o = new() { Mac = new MacAddress(0x02_00_00_00_00_01UL), Addresses = [new Ipv4Cidr(EnginePair.AddressA, 24)] };
        Assert.Contains("1 to 64", Assert.Throws<ArgumentException>(() => (o with { Cores = 0 }).Validate()).Message);
        Assert.Contains("one CPU per core", Assert.Throws<ArgumentException>(() => (o with { Cores = 2, PinToCpus = [0] }).Validate()).Message);
        Assert.Contains("PinToCpus", Assert.Throws<ArgumentException>(() => (o with { Cores = 2, Engine = new SkiffEngineOptions { PinToCpu = 0 } }).Validate()).Message);
    }
}

/// <summary>
/// Cores over a device with hardware queues whose hash Skiff cannot compute: a software RSS with a secret key stands
/// in for the NIC. Connections the stack opens use ports partitioned by core, and the mesh passes each segment to the
/// port's core.
/// </summary>
public sealed class QueueMeshTests
{
    [Fact]
    public async Task Connections_opened_over_unpredictable_queues_reach_their_core_through_the_mesh()
    {
        const int connections = 100;
        await using MeshPair mesh = new(seed: 42);
        SkiffStack a = mesh.A, b = mesh.B;
        await using SkiffListener listener = a.Listen(7);
        Task server = Echo.ServeAsync(listener, connections);
        int[] cores = new int[2];
        for (int i = 0; i < connections; i++)
        {
            await using SkiffConnection c = await b.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(EnginePair.AddressA.ToString()), 7))
                .AsTask().WaitAsync(EnginePair.Timeout);
            Assert.Equal(c.LocalEndPoint.Port % 2, c.Core); // the port names the core
            cores[c.Core]++;
            byte[] payload = new byte[3000];
            payload.AsSpan().Fill((byte)i);
            Task<byte[]> echoed = Echo.ReadToEndAsync(c.Transport.Input);
            await c.Transport.Output.WriteAsync(payload);
            await c.CompleteAsync();
            Assert.Equal(payload, await echoed.WaitAsync(EnginePair.Timeout));
        }
        await server.WaitAsync(EnginePair.Timeout);
        Assert.Equal([connections / 2, connections / 2], cores);

        // And the other way: flows the "NIC" spreads reach B's listener on both cores, each handled once.
        await using SkiffListener bListener = b.Listen(8);
        List<int> acceptedOn = [];
        Task bServer = Task.Run(async () =>
        {
            List<Task> echoes = [];
            for (int i = 0; i < 40; i++)
            {
                SkiffConnection c = await bListener.AcceptAsync();
                acceptedOn.Add(c.Core);
                echoes.Add(Echo.EchoPipeAsync(c));
            }
            await Task.WhenAll(echoes);
        });
        for (int i = 0; i < 40; i++)
        {
            await using SkiffConnection c = await a.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(EnginePair.AddressB.ToString()), 8))
                .AsTask().WaitAsync(EnginePair.Timeout);
            Task<byte[]> echoed = Echo.ReadToEndAsync(c.Transport.Input);
            await c.Transport.Output.WriteAsync(new byte[100]);
            await c.CompleteAsync();
            Assert.Equal(100, (await echoed.WaitAsync(EnginePair.Timeout)).Length);
        }
        await bServer.WaitAsync(EnginePair.Timeout);
        Assert.Contains(0, acceptedOn);
        Assert.Contains(1, acceptedOn);
        long passive = 0;
        for (int i = 0; i < 2; i++)
        {
            passive += await b.Engines[i].InvokeAsync(iface => iface.Tcp.Counters.PassiveOpens).WaitAsync(EnginePair.Timeout);
        }
        Assert.Equal(40, passive); // no SYN reached two cores
        Assert.True(b.Mesh!.RedirectedFrames > 0, "no segment needed passing on: the test's NIC hash matched the port partition");
        Assert.Equal(0, b.Mesh.Drops);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(0, await b.Engines[i].InvokeAsync(iface => iface.Tcp.Counters.ResetsForNoConnection).WaitAsync(EnginePair.Timeout));
        }
    }
}
