using BenchmarkDotNet.Attributes;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Engine.Capture;
using Skiff.Hooks;
using Skiff.Hooks.Bpf;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Benchmarks.Pipeline;

/// <summary>
/// The engine's receive path in memory, as rxdrop runs it: 256 64-byte UDP frames (8 bursts of 32) are put on an
/// in-memory link and one engine iteration takes them through classification and the RX hook chain to a consumer that
/// frees them, on one thread, with no device cost. Per frame, for: the empty chain (what every loop without hooks
/// runs), one struct hook that passes everything, and one tcpdump filter hook (<see cref="BpfPassHook"/>) that keeps
/// everything (<c>ip or not ip</c>). "bare-loop" is no engine at all: the device's bursts handed straight to the
/// consumer, as the pre-pipeline rxdrop did, so "empty" minus "bare-loop" bounds what the engine's loop, an empty chain
/// included, costs per frame. The injection (a copy into each frame and a burst onto the link) is the same in every
/// case; differences between rows are the chain's cost. "capture-nomatch" and "capture-all-128" are the empty chain with
/// a live capture of the RX point attached (issue 13), as <c>skiff capture</c> attaches one: its filter matching
/// nothing (<c>tcp port 7</c>), or no filter at snap length 128 (every frame copied into the capture's ring, whose
/// thread writes pcapng to <see cref="Stream.Null"/>; what it cannot take in time is counted lost, not waited for).
/// </summary>
[MemoryDiagnoser]
public class RxHookChainBenchmarks
{
    private const int Frames = 256;
    private const int Burst = 32;

    private PacketPool _pool = null!;
    private InMemoryDevice _wire = null!;
    private SkiffEngine _engine = null!;
    private readonly PacketBuffer[] _burst = new PacketBuffer[Burst];
    private readonly PacketBuffer[] _rx = new PacketBuffer[Burst];
    private InMemoryDevice _device = null!;
    private readonly byte[] _template = new byte[64];
    private Consumer _consumer = null!;
    private SkiffCapture? _capture;

    /// <summary>Which chain the RX frames run through.</summary>
    [Params("bare-loop", "empty", "struct-pass", "bpf-keep-all", "capture-nomatch", "capture-all-128")]
    public string Chain { get; set; } = "";

    private readonly struct PassAll : IPacketHook
    {
        public HookVerdict Process(PacketBuffer frame, ref HookContext context) =>
            (frame.Classification & PacketClass.Malformed) == 0 ? HookVerdict.Pass : HookVerdict.Drop;
    }

    private sealed class Consumer : IPacketConsumer
    {
        public long Frames;

        public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
        {
            burst[0].Pool.FreeBurst(burst);
            burst.Clear();
            Frames += burst.Length;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new PacketPool(4096);
        (InMemoryDevice device, InMemoryDevice wire) = InMemoryLink.CreatePair(_pool, 1024);
        _wire = wire;
        _device = device;
        Interface iface = new(new InterfaceOptions { Mac = new MacAddress(0x02_00_00_00_00_01UL), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], RxBurst = Burst, MaxRxBurstsPerPoll = Frames / Burst }, _pool);
        _consumer = new Consumer();
        _engine = new SkiffEngine(iface, [device], new SkiffEngineOptions { Clock = new ManualClock() }, _consumer);
        switch (Chain)
        {
            case "struct-pass":
                _engine.RxHooks.Add("pass", new PassAll());
                break;
            case "bpf-keep-all":
                _engine.RxHooks.Add("keep", new BpfPassHook(BpfFilter.Compile("ip or not ip")));
                break;
            case "capture-nomatch":
                _capture = _engine.StartCapture(Stream.Null, new SkiffCaptureOptions { Points = CapturePoints.Rx, Filter = "tcp port 7" });
                break;
            case "capture-all-128":
                _capture = _engine.StartCapture(Stream.Null, new SkiffCaptureOptions { Points = CapturePoints.Rx, SnapLength = 128 });
                break;
        }
        new EthernetRepr(new MacAddress(0x02_00_00_00_00_01UL), new MacAddress(0x02_00_00_00_00_02UL), EtherType.Ipv4).Emit(new EthernetFrame(_template));
        new Ipv4Repr(new Ipv4Address(10, 0, 0, 2), new Ipv4Address(10, 0, 0, 1), IpProtocol.Udp, 64 - 34, 64).Emit(new Ipv4Packet(_template.AsSpan(14)));
        new UdpRepr { SourcePort = 1024, DestinationPort = 9, PayloadLength = 64 - 42 }.Emit(new UdpPacket(_template.AsSpan(34)), 0, fillChecksum: false);
        _engine.RunOnce(); // the first iteration's one-time work (nothing to announce: the stack is not the consumer)
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public long ReceiveThroughTheChain()
    {
        for (int b = 0; b < Frames / Burst; b++)
        {
            _pool.AllocateBurst(_burst);
            foreach (PacketBuffer frame in _burst)
            {
                frame.TryAppend(_template.Length);
                _template.CopyTo(frame.Data);
            }
            _wire.TransmitBurst(_burst, Instant.Zero);
        }
        if (Chain == "bare-loop")
        {
            for (int n; (n = _device.ReceiveBurst(_rx, Instant.Zero)) > 0;)
            {
                _consumer.Receive(Instant.Zero, _rx.AsSpan(0, n), null!);
            }
            return _consumer.Frames;
        }
        _engine.RunOnce();
        return _consumer.Frames;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_capture is not null)
        {
            _capture.Stop();
            SkiffCaptureCounters c = _capture.Counters;
            Console.WriteLine($"// capture: {c.Received} seen, {c.FilteredOut} filtered out, {c.Lost} lost, {c.Written} written");
        }
        _engine.Stop();
        _pool.Dispose();
    }
}
