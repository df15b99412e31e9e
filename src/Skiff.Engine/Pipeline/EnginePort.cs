using Skiff.Hooks;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Pipeline;

/// <summary>
/// One port of an engine loop (an l2fwd lcore's port): one queue of a device, the <see cref="TxBuffer"/> every stage
/// of the loop writes frames for this port into, and the egress that moves them out: TX hooks, then the egress stage
/// (where a QueueDiscipline plugs in), then the device's TX burst. Loop thread only.
/// </summary>
/// <remarks>
/// Ownership: a frame in <see cref="Output"/> belongs to the port; the egress frees what the TX hooks drop, hands on what
/// they redirect, and what the device refuses stays at the front of <see cref="Output"/>, already through the hooks,
/// for the next flush (back-pressure reaches the stack through <see cref="TxBuffer.HasRoom"/>).
/// </remarks>
internal sealed class EnginePort : ITxBufferFlusher
{
    private readonly HookTable _txHooks;
    private readonly Interface _counters;
    private readonly HookResult[] _results;
    private EnginePort[] _ports = [];
    private int _hooked; // frames at the front of Output that already went through the TX hooks (the device refused them)
    private Instant _now;
    private EgressQueue? _egress; // the QueueDiscipline layer (issue 14); null: straight to the TX burst

    private readonly Capture.EngineCaptures _captures;

    public EnginePort(int index, IDevice device, int txCapacity, HookTable txHooks, Interface counters, Capture.EngineCaptures captures)
    {
        _captures = captures;
        Index = index;
        Device = device;
        _txHooks = txHooks;
        _counters = counters;
        _results = new HookResult[txCapacity];
        Waitable = device as IWaitableDevice;
        Output = new TxBuffer(txCapacity, device.Capabilities, this);
    }

    public int Index { get; }

    public IDevice Device { get; }

    public IWaitableDevice? Waitable { get; }

    /// <summary>Where the loop's stages put frames for this port.</summary>
    public TxBuffer Output { get; }

    public PortCounters Counters { get; } = new();

    /// <summary>The root qdisc of this port's egress stage, or null when frames go straight from the TX hooks to the device.</summary>
    public Skiff.QDisc.QueueDiscipline? QueueDiscipline => _egress?.Root;

    /// <summary>Puts <paramref name="qdisc"/> between the TX hooks and the TX burst (null: none); the previous one's frames are freed.</summary>
    public void SetQDisc(Skiff.QDisc.QueueDiscipline? qdisc)
    {
        _egress?.FreeAll();
        _egress = qdisc is null ? null : new EgressQueue(qdisc, Output.Capacity, _captures, Index);
        Output.Backlog = _egress; // TCP small queues ask it before building data segments
    }

    /// <summary>When the egress stage must run again without news: never without a qdisc (Output's frames are counted by the loop).</summary>
    public Instant NextEgressAt(Instant now) => _egress?.NextDequeueAt(now) ?? Instant.Never;

    /// <summary>The loop's ports, for TX-hook redirects; set once the loop has built them all.</summary>
    public void SetPorts(EnginePort[] ports) => _ports = ports;

    /// <summary>The loop's time for flushes that happen while stages write (a full buffer).</summary>
    public void SetNow(Instant now) => _now = now;

    /// <summary>Flushes <see cref="Output"/> at <paramref name="now"/>; true if the device took any frame.</summary>
    public bool Flush(Instant now)
    {
        _now = now;
        long before = Counters.TxFramesField;
        if (Output.Count == 0 && _egress is not null)
        {
            _egress.Transmit(Device, Counters, now); // a shaper's frames fall due without new ones
        }
        Flush(Output);
        return Counters.TxFramesField != before;
    }

    /// <summary>TX hooks over the frames not yet hooked, then the TX burst; what the device refuses stays, in order.</summary>
    public void Flush(TxBuffer buffer)
    {
        Span<PacketBuffer> frames = buffer.Frames;
        if (_hooked < frames.Length)
        {
            HookChain chain = _txHooks.Current;
            if (!chain.IsEmpty)
            {
                int kept = RunHooks(chain, frames);
                buffer.RemoveLast(frames.Length - kept);
                frames = buffer.Frames;
            }
            if (_captures.InUse is Capture.CaptureTap[] taps && _hooked < frames.Length)
            {
                _captures.Tx(taps, Index, frames[_hooked..], _now); // the tx point: past the TX hooks, once per frame
            }
            _hooked = frames.Length;
        }
        if (_egress is not null)
        {
            // The egress stage: everything hooked goes into the qdisc, and the TX burst comes out of it.
            _egress.Enqueue(frames, _now);
            buffer.RemoveFirst(frames.Length);
            _hooked = 0;
            _egress.Transmit(Device, Counters, _now);
            return;
        }
        int sent = Device.TransmitBurst(frames, _now);
        for (int i = 0; i < sent; i++)
        {
            Counters.TxBytesField += frames[i].Length;
        }
        Counters.TxFramesField += sent;
        buffer.RemoveFirst(sent);
        _hooked -= sent;
    }

    /// <summary>Runs <paramref name="chain"/> over the frames after <see cref="_hooked"/>, acts on the verdicts and compacts the survivors; returns how many frames Output keeps.</summary>
    private int RunHooks(HookChain chain, Span<PacketBuffer> frames)
    {
        Span<PacketBuffer> fresh = frames[_hooked..];
        foreach (PacketBuffer frame in fresh)
        {
            PacketClassifier.Classify(frame); // senders build frames without classifying them; hooks read the offsets
        }
        HookContext context = new() { Now = _now, Port = (ushort)Index, RedirectQueue = -1 };
        chain.Run(fresh, _results, ref context);
        int kept = _hooked;
        for (int i = 0; i < fresh.Length; i++)
        {
            PacketBuffer frame = fresh[i];
            fresh[i] = null!;
            ref HookResult result = ref _results[i];
            switch (result.Verdict)
            {
                case HookVerdict.Pass:
                case HookVerdict.Tx: // on the way out already: Tx is a pass
                case HookVerdict.Redirect when result.RedirectQueue < 0 && result.RedirectPort == Index: // so is a redirect to this port
                    frames[kept++] = frame;
                    break;
                case HookVerdict.Redirect when result.RedirectQueue >= 0:
                    Drop(frame, DropReason.RedirectInvalid); // a frame on its way out has no queue to go to
                    break;
                case HookVerdict.Redirect:
                    if (result.RedirectPort >= _ports.Length)
                    {
                        Drop(frame, DropReason.RedirectInvalid);
                    }
                    else if (!_ports[result.RedirectPort].Output.TryAdd(frame))
                    {
                        Drop(frame, DropReason.TxQueueFull);
                    }
                    break;
                case HookVerdict.Drop:
                    Drop(frame, DropReason.Filter);
                    break;
                default:
                    Drop(frame, DropReason.HookAborted);
                    break;
            }
        }
        return kept;
    }

    private void Drop(PacketBuffer frame, DropReason reason)
    {
        _counters.Counters.Drop(reason);
        if (_captures.InUse is Capture.CaptureTap[] taps)
        {
            _captures.Dropped(taps, frame, reason, Index, inbound: false);
        }
        frame.Free();
    }

    /// <summary>Shutdown: frees what Output holds.</summary>
    public void FreeAll()
    {
        Output.FreeAll();
        _egress?.FreeAll();
        _hooked = 0;
    }
}
