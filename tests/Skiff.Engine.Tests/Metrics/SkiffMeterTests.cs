using System.Diagnostics.Metrics;
using System.IO.Pipelines;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Stack.Udp;

namespace Skiff.Engine.Tests.Metrics;

/// <summary>
/// The "Skiff" meter as a MeterListener (dotnet-counters, OpenTelemetry) sees it, over two running
/// <see cref="SkiffStack"/>s on the in-memory link.
/// </summary>
public sealed class SkiffMeterTests
{
    private sealed record Expected(long RxPackets, long RxBytes, long TxPackets, long TxBytes, long Active, long Passive,
        long Retransmissions, long Connections, long UdpNoSocket, long TotalDrops, long PoolInUse, long PoolFrames);

    /// <summary>Every measurement of one collection, keyed by instrument name, queue, address and the third tag (if any).</summary>
    private sealed class Collector : IDisposable
    {
        private readonly MeterListener _listener = new();

        public Collector()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SkiffMetrics.MeterName)
                {
                    Instruments[instrument.Name] = instrument;
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                Dictionary<string, object?> t = [];
                foreach (KeyValuePair<string, object?> tag in tags)
                {
                    t[tag.Key] = tag.Value;
                }
                Measurements.Add((instrument.Name, t, value));
            });
            _listener.Start();
        }

        public Dictionary<string, Instrument> Instruments { get; } = [];

        public List<(string Name, Dictionary<string, object?> Tags, long Value)> Measurements { get; } = [];

        public void Collect()
        {
            Measurements.Clear();
            _listener.RecordObservableInstruments();
        }

        /// <summary>The one value of <paramref name="name"/> for the loop of <paramref name="address"/> and <paramref name="queue"/> (and the extra tag, if given).</summary>
        public long Value(string name, string address, string? tag = null, string? tagValue = null, int queue = 0)
        {
            var matches = Measurements.Where(m => m.Name == name && (string?)m.Tags[SkiffMetrics.AddressTag] == address && (int?)m.Tags[SkiffMetrics.QueueTag] == queue
                && (tag is null || (m.Tags.TryGetValue(tag, out object? v) && (string?)v == tagValue))).ToList();
            Assert.True(matches.Count == 1, $"{matches.Count} measurements of {name} for {address} queue {queue} {tag}={tagValue}");
            return matches[0].Value;
        }

        /// <summary>The queues reported for <paramref name="address"/> by <paramref name="name"/>.</summary>
        public int[] Queues(string name, string address) =>
            [.. Measurements.Where(m => m.Name == name && (string?)m.Tags[SkiffMetrics.AddressTag] == address).Select(m => (int)m.Tags[SkiffMetrics.QueueTag]!).Order()];

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task The_meter_reports_every_loop_with_the_values_of_its_stack()
    {
        using Collector collector = new();
        await using EnginePair pair = new(o => o with { TcpConfig = o.TcpConfig with { Nagle = false, DelayedAck = false } });
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, 1);
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await client.Transport.Output.WriteAsync(new byte[100]);
        long echoed = 0;
        while (echoed < 100)
        {
            ReadResult r = await client.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
            echoed += r.Buffer.Length;
            client.Transport.Input.AdvanceTo(r.Buffer.End);
        }
        await using SkiffUdpSocket sink = pair.B.BindUdp(9);
        await using SkiffUdpSocket sender = pair.A.BindUdp();
        await sender.SendToAsync(new byte[7], new UdpEndpoint(EnginePair.AddressB, 10)); // closed: a drop on B
        for (int i = 0; i < 3; i++)
        {
            await sender.SendToAsync(new byte[50 + i * 300], new UdpEndpoint(EnginePair.AddressB, 9));
            await sink.ReceiveFromAsync(new byte[2048]).AsTask().WaitAsync(EnginePair.Timeout);
        }
        await Quiescent(pair);
        Assert.True(pair.A.Engine.Metrics.Refresh(EnginePair.Timeout), "A's loop did not publish");
        Assert.True(pair.B.Engine.Metrics.Refresh(EnginePair.Timeout), "B's loop did not publish");
        Expected a = await pair.A.Engine.InvokeAsync(Read);
        Expected b = await pair.B.Engine.InvokeAsync(Read);
        collector.Collect();

        Assert.Equal("{packet}", collector.Instruments[SkiffMetrics.RxPackets].Unit);
        Assert.Equal("By", collector.Instruments[SkiffMetrics.RxBytes].Unit);
        Assert.IsAssignableFrom<ObservableCounter<long>>(collector.Instruments[SkiffMetrics.TxBytes]);
        Assert.IsAssignableFrom<ObservableUpDownCounter<long>>(collector.Instruments[SkiffMetrics.TcpConnections]);
        Assert.IsAssignableFrom<ObservableUpDownCounter<long>>(collector.Instruments[SkiffMetrics.PoolFramesInUse]);
        foreach ((string address, Expected e) in new[] { ("10.0.0.1", a), ("10.0.0.2", b) })
        {
            Assert.Equal(e.RxPackets, collector.Value(SkiffMetrics.RxPackets, address));
            Assert.Equal(e.RxBytes, collector.Value(SkiffMetrics.RxBytes, address));
            Assert.Equal(e.TxPackets, collector.Value(SkiffMetrics.TxPackets, address));
            Assert.Equal(e.TxBytes, collector.Value(SkiffMetrics.TxBytes, address));
            Assert.Equal(e.Active, collector.Value(SkiffMetrics.TcpOpens, address, SkiffMetrics.TcpOpenTag, "active"));
            Assert.Equal(e.Passive, collector.Value(SkiffMetrics.TcpOpens, address, SkiffMetrics.TcpOpenTag, "passive"));
            Assert.Equal(e.Retransmissions, collector.Value(SkiffMetrics.TcpRetransmissions, address));
            Assert.Equal(e.Connections, collector.Value(SkiffMetrics.TcpConnections, address));
            Assert.Equal(e.PoolInUse, collector.Value(SkiffMetrics.PoolFramesInUse, address));
            Assert.Equal(e.PoolFrames, collector.Value(SkiffMetrics.PoolFramesLimit, address));
            long drops = collector.Measurements.Where(m => m.Name == SkiffMetrics.Drops && (string?)m.Tags[SkiffMetrics.AddressTag] == address
                && (string?)m.Tags[SkiffMetrics.DropCauseTag] != nameof(DropReason.FragmentHeld)).Sum(m => m.Value);
            Assert.Equal(e.TotalDrops, drops);
        }
        // What the traffic was: one connection each way, B dropped the datagram to the closed port, and A's
        // frames are B's (the link loses nothing), B received three datagrams it did not answer.
        Assert.Equal(1, a.Active);
        Assert.Equal(1, b.Passive);
        Assert.Equal(1, a.Connections);
        Assert.Equal(1, b.Connections);
        Assert.Equal(1, collector.Value(SkiffMetrics.Drops, "10.0.0.2", SkiffMetrics.DropCauseTag, nameof(DropReason.UdpNoSocket)));
        Assert.Equal(a.TxPackets, b.RxPackets);
        Assert.Equal(a.TxBytes, b.RxBytes);
        Assert.True(b.RxPackets > b.TxPackets, $"B received {b.RxPackets} frames and sent {b.TxPackets}");
        Assert.Equal(16384, a.PoolFrames);

        await client.CompleteAsync();
        await Echo.ReadToEndAsync(client.Transport.Input).WaitAsync(EnginePair.Timeout);
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task With_two_cores_each_loop_is_reported_under_its_own_queue()
    {
        const int connections = 8;
        using Collector collector = new();
        await using EnginePair pair = new(o => o with { Cores = 2, TcpConfig = o.TcpConfig with { Nagle = false, DelayedAck = false } });
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, connections);
        List<SkiffConnection> clients = [];
        for (int i = 0; i < connections; i++)
        {
            SkiffConnection c = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
            clients.Add(c);
            await c.Transport.Output.WriteAsync(new byte[100 + i]);
            long echoed = 0;
            while (echoed < 100 + i)
            {
                ReadResult r = await c.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
                echoed += r.Buffer.Length;
                c.Transport.Input.AdvanceTo(r.Buffer.End);
            }
        }
        await Quiescent(pair);
        foreach (SkiffEngine engine in pair.A.Engines.Concat(pair.B.Engines))
        {
            Assert.True(engine.Metrics.Refresh(EnginePair.Timeout), $"{engine.Metrics} did not publish");
        }
        Expected[] a = await PerEngine(pair.A), b = await PerEngine(pair.B);
        collector.Collect();

        Assert.Equal([0, 1], collector.Queues(SkiffMetrics.RxPackets, "10.0.0.1"));
        Assert.Equal([0, 1], collector.Queues(SkiffMetrics.RxPackets, "10.0.0.2"));
        foreach ((string address, Expected[] e) in new[] { ("10.0.0.1", a), ("10.0.0.2", b) })
        {
            for (int q = 0; q < 2; q++)
            {
                Assert.Equal(e[q].RxPackets, collector.Value(SkiffMetrics.RxPackets, address, queue: q));
                Assert.Equal(e[q].TxBytes, collector.Value(SkiffMetrics.TxBytes, address, queue: q));
                Assert.Equal(e[q].Connections, collector.Value(SkiffMetrics.TcpConnections, address, queue: q));
                Assert.Equal(e[q].Active, collector.Value(SkiffMetrics.TcpOpens, address, SkiffMetrics.TcpOpenTag, "active", queue: q));
                Assert.Equal(e[q].Passive, collector.Value(SkiffMetrics.TcpOpens, address, SkiffMetrics.TcpOpenTag, "passive", queue: q));
            }
        }
        // A opens on its cores in turn; B's connections land where their hash points, all of them somewhere.
        Assert.Equal([connections / 2, connections / 2], a.Select(e => e.Active));
        Assert.Equal(connections, b.Sum(e => e.Passive));
        Assert.Equal(connections, b.Sum(e => e.Connections));

        foreach (SkiffConnection c in clients)
        {
            await c.CompleteAsync();
            await Echo.ReadToEndAsync(c.Transport.Input).WaitAsync(EnginePair.Timeout);
            await c.DisposeAsync();
        }
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task A_stopped_engine_is_no_longer_reported()
    {
        EnginePair pair = new();
        Assert.Contains(pair.A.Engine.Metrics, SkiffMetrics.Publishers);
        Assert.Contains(pair.B.Engine.Metrics, SkiffMetrics.Publishers);
        await pair.DisposeAsync();
        Assert.DoesNotContain(pair.A.Engine.Metrics, SkiffMetrics.Publishers);
        Assert.DoesNotContain(pair.B.Engine.Metrics, SkiffMetrics.Publishers);
    }

    private static Expected Read(Interface i) => new(i.Counters.RxFrames, i.Counters.RxBytes, i.Counters.TxFrames, i.Counters.TxBytes,
        i.Tcp.Counters.ActiveOpens, i.Tcp.Counters.PassiveOpens, i.Tcp.Counters.Retransmissions, i.Tcp.ConnectionCount,
        i.Counters.Drops(DropReason.UdpNoSocket), i.Counters.TotalDrops, i.Pool.InUse, i.Pool.FrameCount);

    private static async Task<Expected[]> PerEngine(SkiffStack stack)
    {
        Expected[] values = new Expected[stack.Engines.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = await stack.Engines[i].InvokeAsync(Read).WaitAsync(EnginePair.Timeout);
        }
        return values;
    }

    /// <summary>Frames sent and received by every core of <paramref name="stack"/>.</summary>
    private static async Task<(long Tx, long Rx)> Frames(SkiffStack stack)
    {
        long tx = 0, rx = 0;
        foreach (SkiffEngine engine in stack.Engines)
        {
            (long t, long r) = await engine.InvokeAsync(i => (i.Counters.TxFrames, i.Counters.RxFrames)).WaitAsync(EnginePair.Timeout);
            tx += t;
            rx += r;
        }
        return (tx, rx);
    }

    /// <summary>
    /// Waits until no frame is on the wire or between cores (no timer is due in these tests): with one core, what each
    /// side sent the other received; with more, where a broadcast reaches every core, the counts stay still for 60 ms.
    /// </summary>
    private static async Task Quiescent(EnginePair pair)
    {
        bool oneCore = pair.A.Engines.Count == 1 && pair.B.Engines.Count == 1;
        long deadline = Environment.TickCount64 + (long)EnginePair.Timeout.TotalMilliseconds;
        (long, long, long, long) last = default;
        int still = 0;
        while (true)
        {
            (long aTx, long aRx) = await Frames(pair.A);
            (long bTx, long bRx) = await Frames(pair.B);
            (long aTx2, long aRx2) = await Frames(pair.A);
            bool settled = aTx == aTx2 && aRx == aRx2 && (oneCore ? aTx == bRx && bTx == aRx : (aTx, aRx, bTx, bRx) == last);
            still = settled ? still + 1 : 0;
            last = (aTx, aRx, bTx, bRx);
            if (oneCore ? settled : still >= 3)
            {
                return;
            }
            Assert.True(Environment.TickCount64 < deadline, "the link did not go quiet");
            await Task.Delay(oneCore ? 5 : 20);
        }
    }
}
