using System.Buffers.Binary;
using Skiff.Devices;
using Skiff.Engine.Metrics;
using Skiff.QDisc;
using Skiff.QDisc.Spec;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>
/// The egress stage on the manual clock: frames go from the port's TxBuffer through the qdisc to the device; a shaper's
/// next departure is the engine's NextPollAt to the microsecond, and nothing leaves before it.
/// </summary>
public sealed class EgressQDiscTests
{
    /// <summary>Frees what it receives: the stack does not send, so only the test's frames leave.</summary>
    private sealed class Sink : IPacketConsumer
    {
        public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
        {
            foreach (PacketBuffer b in burst)
            {
                b.Free();
            }
        }
    }

    /// <summary>Writes the frames it is given into port 0 when asked.</summary>
    private sealed class Sender(SkiffEngine engine) : IEngineStage
    {
        public readonly Queue<PacketBuffer> Pending = new();

        public bool Run(Instant now)
        {
            bool any = false;
            while (Pending.Count > 0 && engine.PortOutput(0).TryAdd(Pending.Peek()))
            {
                Pending.Dequeue();
                any = true;
            }
            return any;
        }

        public Instant PollAt(Instant now) => Pending.Count > 0 ? now : Instant.Never;
    }

    private static PacketBuffer Frame(PacketPool pool, int length, int flow, byte tos = 0)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TrySetLength(length));
        Span<byte> d = b.Data;
        d.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(d[12..], 0x0800);
        d[14] = 0x45;
        d[15] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(d[16..], (ushort)(length - 14));
        d[22] = 64;
        d[23] = 17;
        BinaryPrimitives.WriteUInt32BigEndian(d[26..], 0x0A4D0001);
        BinaryPrimitives.WriteUInt32BigEndian(d[30..], 0x0A4D0002);
        BinaryPrimitives.WriteUInt16BigEndian(d[34..], (ushort)(10000 + flow));
        BinaryPrimitives.WriteUInt16BigEndian(d[36..], 9);
        return b;
    }

    /// <summary>Frames the far end got now, as (flow, length); frees them.</summary>
    private static List<(int Flow, int Length)> Arrived(PipelineRig rig)
    {
        List<(int, int)> got = [];
        PacketBuffer[] burst = new PacketBuffer[64];
        int n;
        while ((n = rig.PeerDevice.ReceiveBurst(burst, rig.Clock.Now)) > 0)
        {
            for (int i = 0; i < n; i++)
            {
                got.Add((BinaryPrimitives.ReadUInt16BigEndian(burst[i].Data[34..]) - 10000, burst[i].Length));
                burst[i].Free();
            }
        }
        return got;
    }

    [Fact]
    public void Frames_go_through_a_prio_qdisc_in_band_order_and_its_counters_reach_the_metrics()
    {
        using PipelineRig rig = new(consumer: new Sink());
        rig.Engine.SetEgressQDisc(0, QDiscSpec.Parse("prio").Build());
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        // Bulk first, then interactive: one iteration queues all of them before the TX burst, so band 0 leaves first.
        sender.Pending.Enqueue(Frame(rig.Pool, 200, 1, tos: 0x08));
        sender.Pending.Enqueue(Frame(rig.Pool, 200, 2, tos: 0x00));
        sender.Pending.Enqueue(Frame(rig.Pool, 200, 3, tos: 0x10));
        rig.Engine.RunOnce();
        Assert.Equal([3, 2, 1], Arrived(rig).Select(a => a.Flow));
        rig.Engine.Metrics.PublishNow(rig.Clock.Now);
        SkiffMetricsSnapshot s = rig.Engine.Metrics.Read();
        QDiscEntry root = s.QDiscs[0];
        Assert.Equal(("prio", "1:", "root", 3L, 600L), (root.Statistics.Kind, root.Handle, root.Parent, root.Statistics.SentPackets, root.Statistics.SentBytes));
        Assert.Equal(4, s.QDiscs.Length); // prio and its three pfifo bands
        Assert.Equal(3, rig.Engine.PortCountersOf(0).TxFrames);
        Assert.Equal(Instant.Never, rig.Engine.NextPollAt(rig.Clock.Now));
    }

    [Fact]
    public void What_the_qdisc_drops_reaches_a_captures_drop_point_with_its_cause()
    {
        using PipelineRig rig = new(consumer: new Sink());
        // A 1 Mbit/s shaper over a pfifo of 2: the loop queues all 8 frames before the shaper lets its burst (two) go, so six are dropped.
        rig.Engine.SetEgressQDisc(0, new TbfQDisc(new Rate(1_000_000), burstBytes: 2 * 1514, limitBytes: 100_000, inner: FifoQDisc.Packets(2)));
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        MemoryStream file = new();
        Skiff.Engine.Capture.SkiffCapture capture = rig.Engine.StartCapture(file,
            new Skiff.Engine.Capture.SkiffCaptureOptions { Points = Skiff.Engine.Capture.CapturePoints.Drop }, leaveOpen: true);
        for (int i = 0; i < 8; i++)
        {
            sender.Pending.Enqueue(Frame(rig.Pool, 1514, i));
        }
        Assert.True(rig.Engine.RunOnce());
        capture.Stop();
        Assert.Equal(6, rig.Engine.EgressQDiscOf(0)!.Statistics.Dropped);
        Assert.Equal(2, Arrived(rig).Count);

        file.Position = 0;
        Assert.Equal(WireError.Ok, Skiff.Wire.Pcap.PcapNgReader.TryOpen(file, out Skiff.Wire.Pcap.PcapNgReader? reader, leaveOpen: true));
        using (reader)
        {
            List<(string? Comment, uint Flags, int Flow)> dropped = [];
            while (reader!.TryReadNext(out Skiff.Wire.Pcap.CaptureRecord record, out _))
            {
                dropped.Add((record.Comment, record.Flags, BinaryPrimitives.ReadUInt16BigEndian(record.Data[34..]) - 10000));
            }
            // The frames the pfifo refused, outbound on port 0, in the order they came.
            Assert.Equal([2, 3, 4, 5, 6, 7], dropped.Select(d => d.Flow));
            Assert.All(dropped, d => Assert.Equal(("drop: QDiscDropped", Skiff.Wire.Pcap.PcapNgWriter.FlagOutbound), (d.Comment, d.Flags)));
        }
        Assert.Equal(6, capture.Counters.Written);
    }

    [Fact]
    public void A_tbf_sends_its_burst_then_wakes_the_engine_exactly_when_each_next_frame_may_leave()
    {
        using PipelineRig rig = new(consumer: new Sink());
        // 1 Mbit/s: a 1514-byte frame takes 12112 us; the bucket holds two frames.
        rig.Engine.SetEgressQDisc(0, new TbfQDisc(new Rate(1_000_000), burstBytes: 2 * 1514, limitBytes: 100_000));
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        for (int i = 0; i < 6; i++)
        {
            sender.Pending.Enqueue(Frame(rig.Pool, 1514, i));
        }
        Instant start = rig.Clock.Now;
        Assert.True(rig.Engine.RunOnce());
        Assert.Equal(2, Arrived(rig).Count); // the burst
        for (int k = 1; k <= 4; k++)
        {
            Instant due = start + Duration.FromMicros(12112 * k);
            Assert.Equal(due, rig.Engine.NextPollAt(rig.Clock.Now)); // the loop would sleep exactly until then
            rig.Clock.Advance(due - rig.Clock.Now - Duration.FromMicros(1));
            Assert.False(rig.Engine.RunOnce()); // a microsecond early: nothing leaves, nothing to do
            Assert.Empty(Arrived(rig));
            Assert.Equal(due, rig.Engine.NextPollAt(rig.Clock.Now));
            rig.Clock.Advance(Duration.FromMicros(1));
            Assert.True(rig.Engine.RunOnce());
            Assert.Equal([k + 1], Arrived(rig).Select(a => a.Flow));
        }
        Assert.Equal(Instant.Never, rig.Engine.NextPollAt(rig.Clock.Now));
        TbfQDisc tbf = Assert.IsType<TbfQDisc>(rig.Engine.EgressQDiscOf(0));
        Assert.Equal(6, tbf.Statistics.SentPackets);
        Assert.True(tbf.Statistics.Overlimits >= 4);
    }

    [Fact]
    public void A_full_device_leaves_frames_requeued_and_the_loop_retries_at_once()
    {
        using PipelineRig rig = new(consumer: new Sink());
        rig.Engine.SetEgressQDisc(0, FifoQDisc.Packets(5000));
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        for (int i = 0; i < 1500; i++) // the in-memory link holds 1024
        {
            sender.Pending.Enqueue(Frame(rig.Pool, 100, i % 1000));
        }
        for (int i = 0; i < 20 && sender.Pending.Count > 0; i++)
        {
            rig.Engine.RunOnce();
        }
        QueueDiscipline q = rig.Engine.EgressQDiscOf(0)!;
        Assert.True(q.Statistics.Requeues > 0);
        Assert.Equal(rig.Clock.Now, rig.Engine.NextPollAt(rig.Clock.Now));
        Assert.Equal(1024, Arrived(rig).Count);
        for (int i = 0; i < 10; i++)
        {
            rig.Engine.RunOnce();
        }
        Assert.Equal(1500 - 1024, Arrived(rig).Count);
        Assert.Equal(0, q.BacklogPackets);
    }

    [Fact]
    public void The_idle_loop_plans_to_sleep_exactly_until_a_shapers_next_departure_even_below_a_millisecond()
    {
        using PipelineRig rig = new(consumer: new Sink());
        // 50 Mbit/s: a 1514-byte frame takes 242.24 us, far below poll(2)'s millisecond; the bucket holds one frame.
        rig.Engine.SetEgressQDisc(0, new TbfQDisc(new Rate(50_000_000), burstBytes: 1514, limitBytes: 100_000));
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        for (int i = 0; i < 4; i++)
        {
            sender.Pending.Enqueue(Frame(rig.Pool, 1514, i));
        }
        Assert.True(rig.Engine.RunOnce());
        Assert.Single(Arrived(rig));
        int idle = rig.Engine.Options.Idle.YieldIterations + 1; // past the yields: the loop would sleep now
        Assert.Equal(SkiffEngine.IdleAction.Yield, rig.Engine.PlanIdle(idle - 1, rig.Clock.Now, 0).Action);
        for (int k = 1; k <= 3; k++)
        {
            Instant due = rig.Engine.NextPollAt(rig.Clock.Now);
            Duration gap = due - rig.Clock.Now;
            Assert.InRange(gap.TotalMicros, 1, 999); // a sub-millisecond gap: the old loop yielded through it
            Assert.Equal(new SkiffEngine.IdleStep(SkiffEngine.IdleAction.Wait, due), rig.Engine.PlanIdle(idle, rig.Clock.Now, 0));
            rig.Clock.Advance(gap - Duration.FromMicros(1));
            Assert.Equal(new SkiffEngine.IdleStep(SkiffEngine.IdleAction.Wait, due), rig.Engine.PlanIdle(idle, rig.Clock.Now, 0));
            Assert.False(rig.Engine.RunOnce());
            rig.Clock.Advance(Duration.FromMicros(1));
            Assert.Equal(SkiffEngine.IdleAction.Yield, rig.Engine.PlanIdle(idle, rig.Clock.Now, 0).Action); // due now: no sleep
            Assert.True(rig.Engine.RunOnce());
            Assert.Equal([k], Arrived(rig).Select(a => a.Flow));
        }
        // Nothing queued: the park is capped by the policy (an in-memory device cannot wake the loop by itself).
        Assert.Equal(new SkiffEngine.IdleStep(SkiffEngine.IdleAction.Wait, rig.Clock.Now + Duration.FromMicros(rig.Engine.Options.Idle.SleepMicros)),
            rig.Engine.PlanIdle(idle, rig.Clock.Now, 0));
    }

    [Fact]
    public void The_idle_loop_waits_no_longer_than_the_policy_allows_when_the_next_departure_is_far()
    {
        using PipelineRig rig = new(consumer: new Sink());
        rig.Engine.SetEgressQDisc(0, new TbfQDisc(new Rate(100_000), burstBytes: 1514, limitBytes: 100_000)); // 121 ms per frame
        Sender sender = new(rig.Engine);
        rig.Engine.AddStage(sender);
        sender.Pending.Enqueue(Frame(rig.Pool, 1514, 0));
        sender.Pending.Enqueue(Frame(rig.Pool, 1514, 1));
        rig.Engine.RunOnce();
        Assert.Single(Arrived(rig));
        SkiffEngine.IdleStep step = rig.Engine.PlanIdle(1000, rig.Clock.Now, 0);
        Assert.Equal(SkiffEngine.IdleAction.Wait, step.Action);
        Assert.Equal(rig.Clock.Now + Duration.FromMicros(rig.Engine.Options.Idle.SleepMicros), step.Until);
        Assert.True(rig.Engine.NextPollAt(rig.Clock.Now) > step.Until);
    }

    [Fact]
    public void On_a_real_clock_the_loop_sleeps_through_a_shapers_sub_millisecond_gaps_instead_of_yielding()
    {
        const int frames = 100;
        using PacketPool pool = new(1024);
        (InMemoryDevice device, InMemoryDevice peer) = InMemoryLink.CreatePair(pool, 1024);
        Interface iface = new(new InterfaceOptions
        {
            Mac = new MacAddress(0x02_00_00_00_00_31UL),
            Addresses = [new Ipv4Cidr(new Ipv4Address(10, 78, 0, 1), 24)],
        }, pool);
        // No spinning or yielding: every idle iteration goes to the wait, so the test sees what the wait does.
        SkiffEngine engine = new(iface, [device], new SkiffEngineOptions { Idle = new SkiffIdlePolicy { YieldIterations = 0 } }, new Sink());
        // 20 Mbit/s, one frame per bucket: 605.6 us between 1514-byte frames.
        engine.SetEgressQDisc(0, new TbfQDisc(new Rate(20_000_000), burstBytes: 1514, limitBytes: 1_000_000));
        Sender sender = new(engine);
        engine.AddStage(sender);
        for (int i = 0; i < frames; i++)
        {
            sender.Pending.Enqueue(Frame(pool, 1514, i));
        }
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(60));
        Assert.True(engine.RunOnCallingThread(() => engine.PortCountersOf(0).TxFrames == frames, timeout.Token));
        long parks = engine.Parks;
        engine.Stop();
        peer.DiscardPending();
        // 99 gaps of 605 us; the old loop yielded through every one of them (its poll and park had millisecond
        // granularity) and parked never. A loaded machine makes the loop late for some gaps, not for most.
        Assert.True(parks >= frames / 4, $"the loop slept {parks} times in {frames - 1} sub-millisecond gaps");
        Assert.Equal(0, pool.InUse);
    }
}
