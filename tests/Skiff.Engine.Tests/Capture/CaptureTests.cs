using System.Diagnostics;
using Skiff.Engine.Capture;
using Skiff.Engine.Tests.Pipeline;
using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Stack.Udp;
using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Engine.Tests.Capture;

/// <summary>Live capture on the manual clock: the rx, tx and drop points, filters, pcapng's blocks and options, overflow, attach and detach.</summary>
public sealed class CaptureTests
{
    private readonly struct DropIcmp : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
            (frame.Classification & PacketClass.Icmp) != 0 ? HookVerdict.Drop : HookVerdict.Pass;
    }

    [Fact]
    public void Ping_is_captured_at_rx_and_tx_with_direction_point_and_statistics()
    {
        using PipelineRig rig = new();
        MemoryStream file = new();
        SkiffCapture capture = rig.Engine.StartCapture(file, new SkiffCaptureOptions { Filter = "icmp" }, leaveOpen: true);
        Assert.Equal(1, rig.Ping(1));
        Assert.Equal(1, rig.Ping(2));
        capture.Stop();
        Assert.True(capture.Completion.IsCompleted);
        Assert.Null(capture.Failure);

        List<Frame> frames = Read(file, out IReadOnlyList<CaptureInterface> interfaces);
        CaptureInterface port0 = Assert.Single(interfaces);
        Assert.Equal("skiff-q0-p0", port0.Name);
        Assert.Equal(4, frames.Count); // two requests in, two replies out; ARP filtered out
        Assert.All(frames.Where(f => f.Comment == "rx"), f => Assert.Equal(PcapNgWriter.FlagInbound, f.Flags));
        Assert.All(frames.Where(f => f.Comment == "tx"), f => Assert.Equal(PcapNgWriter.FlagOutbound, f.Flags));
        Assert.Equal(2, frames.Count(f => f.Comment == "rx" && f.Icmp.Type == Icmpv4Type.EchoRequest));
        Assert.Equal(2, frames.Count(f => f.Comment == "tx" && f.Icmp.Type == Icmpv4Type.EchoReply));

        SkiffCaptureCounters c = capture.Counters;
        Assert.Equal(4, c.Written);
        Assert.Equal(0, c.Lost);
        Assert.True(c.FilteredOut > 0); // ARP, gratuitous ARP
        Assert.Equal(c.Received, c.FilteredOut + c.Lost + c.Written);
        Assert.Equal((ulong)c.Received, port0.ReceivedPackets);
        Assert.Equal((ulong)(c.Received - c.FilteredOut), port0.FilterAcceptedPackets);
        Assert.Equal(0UL, port0.DroppedPackets);
        Assert.Equal(4UL, port0.DeliveredPackets);
    }

    [Fact]
    public void The_drop_point_shows_hook_drops_and_stack_drops_with_their_cause()
    {
        using PipelineRig rig = new();
        Assert.Equal(1, rig.Ping(1)); // neighbours resolved
        rig.Engine.RxHooks.Add("drop-icmp", new DropIcmp());
        MemoryStream file = new();
        SkiffCapture capture = rig.Engine.StartCapture(file, new SkiffCaptureOptions { Points = CapturePoints.Drop }, leaveOpen: true);
        Assert.Equal(0, rig.Ping(2));
        UdpSocket socket = rig.Peer.Udp.Bind(40000);
        Assert.True(socket.TrySend("to nobody"u8, new UdpEndpoint(PipelineRig.EngineAddress, 9))); // no socket on 9
        for (int i = 0; i < 5; i++)
        {
            rig.Round();
        }
        capture.Stop();

        List<Frame> frames = Read(file, out _);
        Frame icmp = Assert.Single(frames, f => f.Comment == "drop: Filter");
        Assert.Equal(Icmpv4Type.EchoRequest, icmp.Icmp.Type);
        Assert.Equal(PcapNgWriter.FlagInbound, icmp.Flags);
        Frame udp = Assert.Single(frames, f => f.Comment == "drop: UdpNoSocket");
        // The stack had stripped the frame to its UDP message; the capture shows it whole, as received.
        Assert.Equal(EtherType.Ipv4, udp.Ethernet.EtherType);
        Assert.Equal(IpProtocol.Udp, udp.Ip.Protocol);
        Assert.Equal(frames.Count, capture.Counters.Written);
        Assert.Equal(capture.Counters.Received, capture.Counters.Written); // every drop seen was written (no filter)
    }

    [Fact]
    public void A_full_ring_counts_its_losses_and_never_stalls_the_loop()
    {
        using PipelineRig rig = new();
        using BlockingStream stalled = new();
        SkiffCapture capture = rig.Engine.StartCapture(stalled, new SkiffCaptureOptions { RingBytes = 64 << 10 }, leaveOpen: true);
        stalled.Block(); // the reader stops reading: the capture's thread blocks in its next write
        int replies = 0;
        for (ushort i = 1; i <= 300; i++)
        {
            rig.Peer.SendEchoRequest(rig.Clock.Now, PipelineRig.EngineAddress, 0x5347, i, 1000);
            rig.Round();
            while (rig.Peer.TryReceiveEchoReply(out _))
            {
                replies++;
            }
        }
        for (int i = 0; i < 5; i++)
        {
            rig.Round();
        }
        while (rig.Peer.TryReceiveEchoReply(out _))
        {
            replies++;
        }
        Assert.Equal(300, replies); // the loop went on at full speed while the writer was stuck
        Assert.True(capture.Counters.Lost > 0, $"lost {capture.Counters.Lost}");
        stalled.Release();
        capture.Stop();
        SkiffCaptureCounters c = capture.Counters;
        Assert.Equal(c.Received, c.FilteredOut + c.Lost + c.Written);
        Assert.True(c.Written > 0);
        List<Frame> frames = Read(new MemoryStream(stalled.Written.ToArray()), out IReadOnlyList<CaptureInterface> interfaces);
        Assert.Equal(c.Written, frames.Count);
        Assert.Equal((ulong)c.Lost, interfaces[0].DroppedPackets);
    }

    [Fact]
    public void Several_captures_each_get_their_own_points_filter_and_snap_length()
    {
        using PipelineRig rig = new();
        MemoryStream a = new(), b = new();
        SkiffCapture arp = rig.Engine.StartCapture(a, new SkiffCaptureOptions { Filter = "arp", Points = CapturePoints.Rx }, leaveOpen: true);
        SkiffCapture all = rig.Engine.StartCapture(b, new SkiffCaptureOptions { SnapLength = 40 }, leaveOpen: true);
        Assert.Equal(1, rig.Ping(1));
        arp.Stop();
        all.Stop();
        List<Frame> arpFrames = Read(a, out _);
        Assert.NotEmpty(arpFrames);
        Assert.All(arpFrames, f => Assert.Equal(EtherType.Arp, f.Ethernet.EtherType));
        Assert.All(arpFrames, f => Assert.Equal("rx", f.Comment));
        List<Frame> allFrames = Read(b, out _);
        Assert.Contains(allFrames, f => f.Comment == "tx");
        Assert.All(allFrames, f => Assert.True(f.Captured <= 40));
        Assert.Contains(allFrames, f => f.WireLength > 40);
    }

    [Fact]
    public void Attaching_and_detaching_100_times_while_traffic_flows_leaks_no_frame_or_thread()
    {
        using PipelineRig rig = new();
        int threadsBefore = Process.GetCurrentProcess().Threads.Count;
        using CancellationTokenSource stop = new();
        Lock rigLock = new();
        int rounds = 0;
        Thread traffic = new(() =>
        {
            ushort seq = 0;
            while (!stop.IsCancellationRequested)
            {
                rig.Peer.SendEchoRequest(rig.Clock.Now, PipelineRig.EngineAddress, 1, ++seq, 64);
                rig.Round();
                while (rig.Peer.TryReceiveEchoReply(out _))
                {
                }
                Interlocked.Increment(ref rounds);
            }
        });
        traffic.Start();
        long written = 0;
        for (int i = 0; i < 100; i++)
        {
            MemoryStream file = new();
            SkiffCapture capture = rig.Engine.StartCapture(file, new SkiffCaptureOptions { Points = i % 2 == 0 ? CapturePoints.All : CapturePoints.Rx, Filter = i % 3 == 0 ? "icmp" : null }, leaveOpen: true);
            int at = Volatile.Read(ref rounds);
            SpinWait.SpinUntil(() => Volatile.Read(ref rounds) > at + 1, TimeSpan.FromSeconds(10));
            capture.Stop();
            SkiffCaptureCounters c = capture.Counters;
            Assert.Equal(c.Received, c.FilteredOut + c.Lost + c.Written);
            Assert.Equal(c.Written, Read(file, out _).Count);
            written += c.Written;
        }
        stop.Cancel();
        traffic.Join();
        Assert.True(written > 0);
        Assert.Null(rig.Interface.DropTap);
        // Capture threads are joined on Stop; allow for the runtime's own threads coming and going.
        Assert.InRange(Process.GetCurrentProcess().Threads.Count, 0, threadsBefore + 8);
    }

    [Fact]
    public async Task A_capture_ends_by_itself_after_its_count()
    {
        using PipelineRig rig = new();
        MemoryStream file = new();
        SkiffCapture capture = rig.Engine.StartCapture(file, new SkiffCaptureOptions { Count = 3 }, leaveOpen: true);
        for (ushort i = 1; i <= 5; i++)
        {
            rig.Ping(i);
        }
        await capture.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(3, Read(file, out _).Count);
        capture.Stop();
    }

    [Fact]
    public void Bad_options_and_filters_are_refused_with_a_sentence()
    {
        using PipelineRig rig = new();
        Assert.Contains("snap length", Assert.Throws<ArgumentException>(() => rig.Engine.StartCapture(Stream.Null, new SkiffCaptureOptions { SnapLength = 0 })).Message);
        Assert.Contains("queue 3", Assert.Throws<ArgumentException>(() => rig.Engine.StartCapture(Stream.Null, new SkiffCaptureOptions { Queue = 3 })).Message);
        Assert.Throws<Skiff.Hooks.Bpf.BpfCompileException>(() => rig.Engine.StartCapture(Stream.Null, new SkiffCaptureOptions { Filter = "tcp port banana" }));
    }

    private sealed record Frame(string? Comment, uint Flags, int Captured, int WireLength, byte[] Bytes)
    {
        public EthernetRepr Ethernet
        {
            get
            {
                Assert.Equal(WireError.Ok, EthernetFrame.TryCreate(Bytes, out EthernetFrame eth));
                Assert.Equal(WireError.Ok, EthernetRepr.TryParse(eth, out EthernetRepr repr));
                return repr;
            }
        }

        public Ipv4Repr Ip
        {
            get
            {
                Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(Bytes.AsSpan(14), out Ipv4Packet ip));
                Assert.Equal(WireError.Ok, Ipv4Repr.TryParse(ip, verifyChecksum: true, out Ipv4Repr repr));
                return repr;
            }
        }

        public Icmpv4Repr Icmp
        {
            get
            {
                Assert.Equal(WireError.Ok, Ipv4Packet.TryCreate(Bytes.AsSpan(14), out Ipv4Packet ip));
                Assert.Equal(WireError.Ok, Icmpv4Packet.TryCreate(ip.Payload, out Icmpv4Packet icmp));
                Assert.Equal(WireError.Ok, Icmpv4Repr.TryParse(icmp, verifyChecksum: true, out Icmpv4Repr repr));
                return repr;
            }
        }
    }

    private static List<Frame> Read(MemoryStream file, out IReadOnlyList<CaptureInterface> interfaces)
    {
        file.Position = 0;
        Assert.Equal(WireError.Ok, PcapNgReader.TryOpen(file, out PcapNgReader? opened, leaveOpen: true));
        using PcapNgReader reader = opened!;
        List<Frame> frames = [];
        WireError error;
        while (reader.TryReadNext(out CaptureRecord record, out error))
        {
            frames.Add(new Frame(record.Comment, record.Flags, record.CapturedLength, record.OriginalLength, record.Data.ToArray()));
        }
        Assert.Equal(WireError.Ok, error);
        interfaces = [.. reader.Interfaces];
        return frames;
    }

    /// <summary>A stream whose writes block until <see cref="Release"/>: a reader that stopped reading.</summary>
    private sealed class BlockingStream : Stream
    {
        private readonly ManualResetEventSlim _open = new(true);

        public MemoryStream Written { get; } = new();

        public void Block() => _open.Reset();

        public void Release() => _open.Set();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _open.Wait();
            Written.Write(buffer);
        }

        public override void Flush() => _open.Wait();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            _open.Set();
            _open.Dispose();
            base.Dispose(disposing);
        }
    }
}
