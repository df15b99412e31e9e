using Skiff.Devices;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.TestSupport;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Metrics;

/// <summary>
/// The publisher on its own: two interfaces over the in-memory link, polled by the test thread (which plays the loop)
/// on a manual clock, so every value and every publish is deterministic.
/// </summary>
public sealed class SkiffMetricsPublisherTests : IDisposable
{
    private static readonly Ipv4Address AddressA = new(10, 0, 0, 1);
    private static readonly Ipv4Address AddressB = new(10, 0, 0, 2);

    private readonly PacketPool _poolA = new(1024);
    private readonly PacketPool _poolB = new(1024);
    private readonly InMemoryDevice _linkA;
    private readonly InMemoryDevice _linkB;
    private readonly Interface _a;
    private readonly Interface _b;
    private Instant _now = Instant.FromMillis(1000);

    public SkiffMetricsPublisherTests()
    {
        (_linkA, _linkB) = InMemoryLink.CreatePair(_poolA, _poolB, 1024);
        _a = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:01"), Addresses = [new Ipv4Cidr(AddressA, 24)], SecretKey = 1 }, _poolA);
        _b = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:02"), Addresses = [new Ipv4Cidr(AddressB, 24)], SecretKey = 2 }, _poolB);
    }

    private void Run(Func<bool> until)
    {
        for (int i = 0; i < 10_000; i++)
        {
            _a.Poll(_now, _linkA);
            _b.Poll(_now, _linkB);
            if (until())
            {
                return;
            }
            _now += Duration.FromMillis(1);
        }
        Assert.Fail("the condition did not hold within 10 s of simulated time");
    }

    /// <summary>UDP to a bound port and to a closed one, and a TCP connection: every kind of counter moves.</summary>
    private (TcpSocket Client, UdpSocket Server) Traffic()
    {
        UdpSocket server = _b.Udp.Bind(9);
        UdpSocket client = _a.Udp.Bind(0);
        Assert.True(client.TrySend(new byte[100], new UdpEndpoint(AddressB, 9)));
        Assert.True(client.TrySend(new byte[3], new UdpEndpoint(AddressB, 10)));
        Run(() => server.CanReceive && _b.Counters.Drops(DropReason.UdpNoSocket) == 1);
        TcpListener listener = _b.Tcp.Listen(80);
        SocketHandle handle = _a.Tcp.Connect(_now, AddressA, AddressB, 80);
        SocketHandle accepted = default;
        Run(() => _b.Tcp.TryAccept(listener, out accepted) && _a.Tcp.Get(handle).IsConnected);
        return (_a.Tcp.Get(handle), server);
    }

    private static void AssertMatches(Interface iface, SkiffMetricsSnapshot s)
    {
        Assert.Equal(iface.Counters.RxFrames, s.RxPackets);
        Assert.Equal(iface.Counters.RxBytes, s.RxBytes);
        Assert.Equal(iface.Counters.TxFrames, s.TxPackets);
        Assert.Equal(iface.Counters.TxBytes, s.TxBytes);
        foreach (DropReason reason in Enum.GetValues<DropReason>())
        {
            Assert.Equal(iface.Counters.Drops(reason), s.Drops(reason));
        }
        Assert.Equal(iface.Counters.TotalDrops, s.TotalDrops);
        Assert.Equal(iface.Tcp.Counters.ActiveOpens, s.TcpActiveOpens);
        Assert.Equal(iface.Tcp.Counters.PassiveOpens, s.TcpPassiveOpens);
        Assert.Equal(iface.Tcp.Counters.Retransmissions, s.TcpRetransmissions);
        Assert.Equal(iface.Tcp.ConnectionCount, s.TcpConnections);
        Assert.Equal(iface.Pool.InUse, s.PoolFramesInUse);
        Assert.Equal(iface.Pool.FrameCount, s.PoolFrames);
    }

    [Fact]
    public void A_publish_copies_every_counter_of_the_interface()
    {
        SkiffMetricsPublisher a = new(_a, queue: 3);
        SkiffMetricsPublisher b = new(_b, queue: 0);
        Assert.Equal(0, a.Read().Sequence);
        Traffic();
        Assert.True(_poolB.TryAllocate(out PacketBuffer? held)); // an application holding a frame
        a.PublishNow(_now);
        b.PublishNow(_now);
        held.Free();
        SkiffMetricsSnapshot sa = a.Read(), sb = b.Read();
        AssertMatches(_a, sa);
        Assert.Equal(_b.Counters.RxFrames, sb.RxPackets);
        Assert.Equal(_b.Tcp.Counters.PassiveOpens, sb.TcpPassiveOpens);
        Assert.Equal(3, sa.Queue);
        Assert.Equal("10.0.0.1", sa.Address);
        Assert.Equal(1, sa.Sequence);
        Assert.Equal(_now.TotalMicros, sa.PublishedAtMicros);
        // What the scenario did, seen from each side.
        Assert.Equal(1, sb.Drops(DropReason.UdpNoSocket));
        Assert.Equal(1, sa.TcpActiveOpens);
        Assert.Equal(0, sa.TcpPassiveOpens);
        Assert.Equal(1, sb.TcpPassiveOpens);
        Assert.Equal(1, sa.TcpConnections);
        Assert.Equal(sa.TxPackets, sb.RxPackets);
        Assert.Equal(_poolB.InUse + 1, sb.PoolFramesInUse); // read before the held frame went back
    }

    [Fact]
    public void Publish_waits_for_the_interval_of_loop_time_and_keeps_the_last_snapshot_meanwhile()
    {
        SkiffMetricsPublisher a = new(_a, 0, Duration.FromMillis(100));
        Instant t = _now;
        Assert.True(a.Publish(t)); // the first call always publishes
        long rx = a.Read().RxPackets;
        Traffic();
        Assert.False(a.Publish(t + Duration.FromMillis(99)));
        Assert.Equal(1, a.Sequence);
        Assert.Equal(rx, a.Read().RxPackets); // readers keep the last snapshot until the next publish
        Assert.True(a.Publish(t + Duration.FromMillis(100)));
        Assert.Equal(2, a.Sequence);
        Assert.NotEqual(rx, a.Read().RxPackets);
        AssertMatches(_a, a.Read());
        Assert.False(a.Publish(t + Duration.FromMillis(199))); // the interval runs from the last publish
    }

    [Fact]
    public async Task Refresh_makes_the_next_publish_happen_before_the_interval_and_waits_for_it()
    {
        SkiffMetricsPublisher a = new(_a, 0, Duration.FromSeconds(3600));
        Assert.True(a.Publish(_now));
        Traffic();
        Assert.False(a.Publish(_now)); // an hour has not passed
        Task<bool> refresh = Task.Run(() => a.Refresh(TimeSpan.FromSeconds(30)));
        // Play the loop until the reader's request arrives and is served.
        while (!refresh.IsCompleted)
        {
            a.Publish(_now);
            Thread.Sleep(1);
        }
        Assert.True(await refresh);
        AssertMatches(_a, a.Read());
        Assert.False(a.Publish(_now)); // the request was served once
        Assert.False(a.Refresh(TimeSpan.FromMilliseconds(20)), "no loop publishes: Refresh must time out");
    }

    [Fact]
    public void Publishing_and_reading_allocate_nothing()
    {
        SkiffMetricsPublisher a = new(_a, 0, Duration.FromMillis(100));
        Traffic();
        SkiffMetricsSnapshot copy = new();
        long publish = Allocations.LeastPerRound(() =>
        {
            _now += Duration.FromMillis(100);
            Assert.True(a.Publish(_now));
        });
        Assert.Equal(0, publish);
        long skip = Allocations.LeastPerRound(() => a.Publish(_now));
        Assert.Equal(0, skip);
        long read = Allocations.LeastPerRound(() => a.CopyTo(copy));
        Assert.Equal(0, read);
        AssertMatches(_a, copy);
    }

    [Fact]
    public void A_snapshot_survives_its_json_form()
    {
        SkiffMetricsPublisher b = new(_b, queue: 2);
        Traffic();
        b.PublishNow(_now);
        SkiffMetricsSnapshot original = b.Read();
        using MemoryStream buffer = new();
        using (System.Text.Json.Utf8JsonWriter writer = new(buffer))
        {
            original.WriteJson(writer);
        }
        using System.Text.Json.JsonDocument document = System.Text.Json.JsonDocument.Parse(buffer.ToArray());
        SkiffMetricsSnapshot? read = SkiffMetricsSnapshot.ReadJson(document.RootElement);
        Assert.NotNull(read);
        AssertMatches(_b, read);
        Assert.Equal(2, read.Queue);
        Assert.Equal("10.0.0.2", read.Address);
        Assert.Equal(original.Sequence, read.Sequence);
        Assert.Equal(original.PublishedAtMicros, read.PublishedAtMicros);
        using System.Text.Json.JsonDocument broken = System.Text.Json.JsonDocument.Parse("""{"queue":1}""");
        Assert.Null(SkiffMetricsSnapshot.ReadJson(broken.RootElement));
    }

    [Fact]
    public void Frames_dropped_between_cores_are_a_drop_cause_of_the_loop_that_dropped_them()
    {
        byte[] key = new byte[Skiff.Wire.ToeplitzHash.KeyLength];
        new Random(42).NextBytes(key);
        Skiff.Engine.Rss.SoftwareRss rss = new(_linkB, new Skiff.Engine.Rss.FlowSteering(2, new Skiff.Wire.ToeplitzHash(key)), ringCapacity: 4);
        // Ten ARP replies: every core must see each, so queue 0 copies them to queue 1, whose ring holds 4 and is not drained here.
        PacketBuffer[] frames = new PacketBuffer[10];
        for (int i = 0; i < frames.Length; i++)
        {
            Assert.True(_poolA.TryAllocate(out PacketBuffer? f));
            Assert.True(f.TrySetData(_poolA.HeadroomBytes, 60));
            ArpReply(f.Data, (byte)i);
            frames[i] = f;
        }
        Assert.Equal(10, _linkA.TransmitBurst(frames, _now));
        IDevice queue0 = rss.Queue(0);
        PacketBuffer[] received = new PacketBuffer[32];
        int n = queue0.ReceiveBurst(received, _now);
        Assert.Equal(10, n);
        foreach (PacketBuffer b in received.AsSpan(0, n))
        {
            b.Free();
        }
        Assert.Equal(6, rss.Drops);

        SkiffMetricsPublisher publisher = new(_b, queue: 0);
        publisher.SetSteeringSource((Internal.IEngineDeviceSignals)queue0);
        publisher.PublishNow(_now);
        SkiffMetricsSnapshot s = publisher.Read();
        Assert.Equal(6, s.SteeringDrops);
        Assert.Equal(_b.Counters.TotalDrops + 6, s.TotalDrops);
        Assert.Equal(0, ((Internal.IEngineDeviceSignals)rss.Queue(1)).SteeringDrops); // queue 0's thread dropped them

        using MemoryStream buffer = new();
        using (System.Text.Json.Utf8JsonWriter writer = new(buffer))
        {
            s.WriteJson(writer);
        }
        Assert.Contains("\"SteeringQueueFull\":6", System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        using System.Text.Json.JsonDocument document = System.Text.Json.JsonDocument.Parse(buffer.ToArray());
        Assert.Equal(6, SkiffMetricsSnapshot.ReadJson(document.RootElement)!.SteeringDrops);
        rss.DrainAll();
    }

    /// <summary>An ARP reply (RFC 826), 60 bytes with padding; <paramref name="n"/> varies the sender.</summary>
    private static void ArpReply(Span<byte> f, byte n)
    {
        f.Clear();
        f[..6].Fill(0xff);
        byte[] sender = [0x02, 0, 0, 0, 0, (byte)(0x10 + n)];
        sender.CopyTo(f[6..]);
        f[12] = 0x08; f[13] = 0x06;            // ARP
        f[14] = 0; f[15] = 1;                 // Ethernet
        f[16] = 0x08; f[17] = 0x00;           // IPv4
        f[18] = 6; f[19] = 4;
        f[20] = 0; f[21] = 2;                 // reply
        sender.CopyTo(f[22..]);
        byte[] senderIp = [10, 0, 0, (byte)(20 + n)];
        senderIp.CopyTo(f[28..]);
        f[32..38].Fill(0xff);
        AddressB.Write(f[38..]);
    }

    public void Dispose()
    {
        _linkA.DiscardPending();
        _linkB.DiscardPending();
        _a.DropAllQueued();
        _b.DropAllQueued();
        _poolA.Dispose();
        _poolB.Dispose();
    }
}
