using Skiff.Engine.Pipeline;
using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine;

/// <summary>
/// The packet's way through one loop iteration, in DPDK l2fwd's shape: for each port, RX burst → classification → RX
/// hook chain → consumer (the stack's ingress, or another <see cref="IPacketConsumer"/>); then the stack's egress and
/// the application stages write into the ports' <see cref="TxBuffer"/>s; then each port's egress: TX hook chain →
/// egress stage → TX burst. See docs/architecture.md, "The engine's loop".
/// </summary>
public sealed partial class SkiffEngine
{
    private readonly EnginePort[] _ports;
    private readonly IPacketConsumer _consumer;
    private readonly bool _stackConsumes;
    private readonly PacketBuffer[] _rxBurst;
    private readonly HookResult[] _rxResults;
    private readonly int _rxBurstsPerPoll;
    private IEngineStage[] _stages = [];
    private readonly Capture.EngineCaptures _captures;

    /// <summary>The RX hook chain of this loop: runs on every received frame before the consumer. Change it from any thread; a change takes effect at the next burst.</summary>
    public HookTable RxHooks { get; } = new();

    /// <summary>The TX hook chain of this loop: runs on every frame before the egress stage and the TX burst, for every port. Any thread, as <see cref="RxHooks"/>.</summary>
    public HookTable TxHooks { get; } = new();

    /// <summary>How many ports the loop serves (port 0 is the stack's).</summary>
    public int PortCount => _ports.Length;

    /// <summary>The device of port <paramref name="port"/>.</summary>
    public IDevice PortDevice(int port) => _ports[port].Device;

    /// <summary>The live captures attached to this loop (<see cref="Capture.SkiffCapture"/>).</summary>
    internal Capture.EngineCaptures Captures => _captures;

    /// <summary>
    /// Starts a live capture of this loop into <paramref name="output"/> as pcapng (see <see cref="Capture.SkiffCapture.Start"/>).
    /// Any thread; stop it with <see cref="Capture.SkiffCapture.Stop"/>.
    /// </summary>
    public Capture.SkiffCapture StartCapture(Stream output, Capture.SkiffCaptureOptions? options = null, bool leaveOpen = false) =>
        Capture.SkiffCapture.Start([this], output, options, leaveOpen);

    /// <summary>What port <paramref name="port"/> received and transmitted. Any thread.</summary>
    public PortCounters PortCountersOf(int port) => _ports[port].Counters;

    /// <summary>
    /// The buffer stages write frames for port <paramref name="port"/> into (ownership passes when
    /// <see cref="TxBuffer.TryAdd"/> succeeds); the loop flushes it every iteration. Loop thread only.
    /// </summary>
    public TxBuffer PortOutput(int port) => _ports[port].Output;

    /// <summary>
    /// Puts <paramref name="qdisc"/> in port <paramref name="port"/>'s egress stage, between the TX hooks and the TX burst
    /// (null: none). The loop owns it from now on: read its statistics through the metrics. Before <see cref="Start"/>
    /// from any thread, afterwards only on the loop thread (through <see cref="InvokeAsync{T}"/>).
    /// </summary>
    public void SetEgressQDisc(int port, Skiff.QDisc.QueueDiscipline? qdisc)
    {
        if (_thread is not null && !IsLoopThread)
        {
            throw new InvalidOperationException("Set the qdisc before Start, or on the loop thread through InvokeAsync.");
        }
        _ports[port].SetQDisc(qdisc);
    }

    /// <summary>The root qdisc of port <paramref name="port"/>'s egress stage, or null. Loop thread (or before Start).</summary>
    public Skiff.QDisc.QueueDiscipline? EgressQDiscOf(int port) => _ports[port].QueueDiscipline;

    /// <summary>
    /// Adds <paramref name="stage"/>, run once per iteration on the loop thread after the receive path and the stack's
    /// egress. Before <see cref="Start"/> from any thread, afterwards only on the loop thread (through <see cref="InvokeAsync{T}"/>).
    /// </summary>
    public void AddStage(IEngineStage stage)
    {
        ArgumentNullException.ThrowIfNull(stage);
        if (_thread is not null && !IsLoopThread)
        {
            throw new InvalidOperationException("Add stages before Start, or on the loop thread through InvokeAsync.");
        }
        _stages = [.. _stages, stage];
    }

    /// <summary>
    /// Runs one iteration of the loop on the calling thread, at the engine's clock: for an engine that was not started,
    /// driven by a test on a <see cref="ManualClock"/> or by a caller that owns the thread. Returns true if anything moved.
    /// </summary>
    public bool RunOnce()
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("The engine runs its own loop thread; RunOnce is for an engine that was not started.");
        }
        if (_stopRequested)
        {
            throw StoppedException();
        }
        return Iterate();
    }

    /// <summary>
    /// Runs the loop on the calling thread, with the idle policy of <see cref="SkiffEngineOptions.Idle"/> (spin, yield,
    /// then block on the device or park), until <paramref name="stop"/> is cancelled or <paramref name="until"/> (asked
    /// after every iteration) says to end; DPDK runs an lcore function on the main lcore the same way. For an engine
    /// that was not started; between calls the caller may use the stack on this thread. Returns true if
    /// <paramref name="until"/> ended the run, false if <paramref name="stop"/> did.
    /// </summary>
    public bool RunOnCallingThread(Func<bool>? until, CancellationToken stop)
    {
        if (_thread is not null)
        {
            throw new InvalidOperationException("The engine runs its own loop thread; RunOnCallingThread is for an engine that was not started.");
        }
        long slack = -1;
        if (OperatingSystem.IsLinux())
        {
            if (Volatile.Read(ref _eventFd) < 0)
            {
                Volatile.Write(ref _eventFd, Interop.PollWait.CreateEventFd(out _));
            }
            slack = Interop.Sched.SetTimerSlack(Interop.Sched.LoopTimerSlackNanos);
        }
        try
        {
            using CancellationTokenRegistration wake = stop.Register(WakeParked);
            int idle = 0;
            while (!stop.IsCancellationRequested && !_stopRequested)
            {
                bool work = Iterate();
                if (until is not null && until())
                {
                    return true;
                }
                if (work)
                {
                    idle = 0;
                    continue;
                }
                idle++;
                Backoff(idle, Now);
            }
            return false;
        }
        finally
        {
            if (slack >= 0)
            {
                Interop.Sched.SetTimerSlack(slack); // the caller's thread gets its own slack back
            }
        }
    }

    /// <summary>
    /// When the loop must run next without news from a device: the earliest of the stack's <see cref="Interface.PollAt"/>,
    /// every stage's <see cref="IEngineStage.PollAt"/>, now when a port holds frames to send, and when each port's qdisc
    /// lets its next frame leave (a shaper's exact departure time). Loop thread (or the
    /// thread that calls <see cref="RunOnce"/>).
    /// </summary>
    public Instant NextPollAt(Instant now)
    {
        foreach (EnginePort port in _ports)
        {
            if (port.Output.Count > 0)
            {
                return now;
            }
        }
        Instant at = _stackConsumes ? Interface.PollAt(now) : Instant.Never;
        foreach (EnginePort port in _ports)
        {
            if (port.Device is Skiff.Devices.DelegatingDevice middleware)
            {
                at = Instant.Min(at, middleware.PollAt(now)); // frames an impairment delays fall due without news
            }
        }
        foreach (IEngineStage stage in _stages)
        {
            at = Instant.Min(at, stage.PollAt(now));
        }
        foreach (EnginePort port in _ports)
        {
            at = Instant.Min(at, port.NextEgressAt(now));
        }
        return at < now ? now : at;
    }

    /// <summary>Receive, the stack's egress, the stages and every port's egress, once. True if a frame moved or a stage worked.</summary>
    private bool RunPipeline(Instant now)
    {
        bool work = false;
        foreach (EnginePort port in _ports)
        {
            port.SetNow(now);
            work |= Receive(port, now);
        }
        long txBefore = Interface.Counters.TxFrames;
        if (_stackConsumes)
        {
            Interface.Transmit(now, _ports[0].Output);
        }
        foreach (IEngineStage stage in _stages)
        {
            work |= stage.Run(now);
        }
        foreach (EnginePort port in _ports)
        {
            work |= port.Flush(now);
        }
        return work || Interface.Counters.TxFrames != txBefore;
    }

    /// <summary>Up to the interface's bursts-per-poll RX bursts of <paramref name="port"/> through the RX hooks into the consumer.</summary>
    private bool Receive(EnginePort port, Instant now)
    {
        bool any = false;
        PacketBuffer[] rx = _rxBurst;
        for (int b = 0; b < _rxBurstsPerPoll; b++)
        {
            int n = port.Device.ReceiveBurst(rx, now);
            if (n == 0)
            {
                break;
            }
            any = true;
            PortCounters counters = port.Counters;
            counters.RxFramesField += n;
            for (int i = 0; i < n; i++)
            {
                counters.RxBytesField += rx[i].Length;
            }
            Span<PacketBuffer> burst = rx.AsSpan(0, n);
            if (_captures.InUse is Capture.CaptureTap[] taps)
            {
                _captures.Rx(taps, port.Index, burst); // the rx point: as the device gave them, before the hooks
            }
            HookChain chain = RxHooks.Current; // once per burst: a new chain takes effect at a burst boundary
            if (!chain.IsEmpty)
            {
                burst = RunRxHooks(chain, port, burst, now);
            }
            if (burst.Length > 0)
            {
                _consumer.Receive(now, burst, port.Output);
            }
            if (n < rx.Length)
            {
                break;
            }
        }
        return any;
    }

    /// <summary>Classifies the burst, runs the chain, acts on every verdict but Pass, and returns the frames that passed (compacted to the front).</summary>
    private Span<PacketBuffer> RunRxHooks(HookChain chain, EnginePort port, Span<PacketBuffer> burst, Instant now)
    {
        foreach (PacketBuffer frame in burst)
        {
            PacketClassifier.Classify(frame);
        }
        HookContext context = new() { Now = now, Port = (ushort)port.Index, Queue = (ushort)Options.Queue, RedirectQueue = -1 };
        chain.Run(burst, _rxResults, ref context);
        int passed = 0;
        for (int i = 0; i < burst.Length; i++)
        {
            PacketBuffer frame = burst[i];
            burst[i] = null!;
            ref HookResult result = ref _rxResults[i];
            switch (result.Verdict)
            {
                case HookVerdict.Pass:
                    burst[passed++] = frame;
                    break;
                case HookVerdict.Tx:
                    SendOut(port, frame);
                    break;
                case HookVerdict.Redirect when result.RedirectQueue >= 0:
                    if (result.RedirectQueue == Options.Queue)
                    {
                        burst[passed++] = frame; // to this very loop: on to its consumer
                    }
                    else if (port.Device is not Rss.IQueueRedirect redirect || !redirect.TryRedirect(frame, result.RedirectQueue))
                    {
                        DropFrame(frame, DropReason.RedirectInvalid);
                    }
                    break;
                case HookVerdict.Redirect:
                    if (result.RedirectPort < _ports.Length)
                    {
                        SendOut(_ports[result.RedirectPort], frame);
                    }
                    else
                    {
                        DropFrame(frame, DropReason.RedirectInvalid);
                    }
                    break;
                case HookVerdict.Drop:
                    DropFrame(frame, DropReason.Filter);
                    break;
                default:
                    DropFrame(frame, DropReason.HookAborted);
                    break;
            }
        }
        return burst[..passed];
    }

    private void SendOut(EnginePort port, PacketBuffer frame)
    {
        if (!port.Output.TryAdd(frame))
        {
            DropFrame(frame, DropReason.TxQueueFull);
        }
    }

    private void DropFrame(PacketBuffer frame, DropReason reason)
    {
        Interface.Counters.Drop(reason);
        if (_captures.InUse is Capture.CaptureTap[] taps)
        {
            _captures.Dropped(taps, frame, reason, _captures.RxPort, inbound: reason != DropReason.TxQueueFull);
        }
        frame.Free();
    }
}
