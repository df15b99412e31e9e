using Skiff.Stack.Udp;

namespace Skiff.Engine.Internal;

/// <summary>
/// What the cores of one <see cref="SkiffUdpSocket"/> share: the outstanding receive, which the first core
/// holding a datagram claims, and the outstanding send, which the core the destination's flow hashes to sends.
/// </summary>
internal sealed class UdpShared
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SkiffStack _stack;
    private int _closeRequested;
    private int _openCores;

    public UdpShared(SkiffStack stack, int cores)
    {
        _stack = stack;
        Cores = new UdpCore[cores];
        for (int i = 0; i < cores; i++)
        {
            Cores[i] = new UdpCore(this, stack.Engines[i]);
        }
        _openCores = cores;
        Receive = new LoopOperation<SkiffUdpReceiveResult>(ScheduleAll, "ReceiveFromAsync");
        Send = new LoopOperation<int>(() => Cores[SendCore].Engine.Schedule(Cores[SendCore]), "SendToAsync");
    }

    public UdpCore[] Cores { get; }

    public LoopOperation<SkiffUdpReceiveResult> Receive { get; }

    public LoopOperation<int> Send { get; }

    /// <summary>Where the outstanding receive copies to; set before <see cref="Receive"/> starts.</summary>
    public Memory<byte> ReceiveBuffer;

    /// <summary>What the outstanding send sends; set before <see cref="Send"/> starts.</summary>
    public ReadOnlyMemory<byte> SendData;

    public UdpEndpoint SendDestination;

    /// <summary>The core that sends the outstanding send: the one the destination's replies hash to.</summary>
    public int SendCore;

    public Task Closed => _closed.Task;

    public bool IsCloseRequested => Volatile.Read(ref _closeRequested) == 1;

    /// <summary>Application side: arguments of a send, and the core that will send it.</summary>
    public void SetSend(ReadOnlyMemory<byte> data, UdpEndpoint destination, ushort localPort)
    {
        SendData = data;
        SendDestination = destination;
        SendCore = _stack.SendCoreFor(localPort, destination);
    }

    public void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        ScheduleAll();
    }

    /// <summary>A core closed; the last one completes <see cref="Closed"/>.</summary>
    public void OnCoreClosed()
    {
        if (Interlocked.Decrement(ref _openCores) == 0)
        {
            _closed.TrySetResult();
        }
    }

    /// <summary>Fails the outstanding receive, and the send if <paramref name="core"/> is the one sending it (only that core reads its arguments).</summary>
    public void FailAll(Exception error, int core)
    {
        if (Receive.TryClaim())
        {
            ReceiveBuffer = default;
            Receive.FailClaimed(error);
        }
        if (core == SendCore && Send.TryClaim())
        {
            SendData = default;
            Send.FailClaimed(error);
        }
    }

    private void ScheduleAll()
    {
        foreach (UdpCore core in Cores)
        {
            core.Engine.Schedule(core);
        }
    }
}

/// <summary>One core's side of a <see cref="SkiffUdpSocket"/>: its bound socket in that core's stack.</summary>
internal sealed class UdpCore(UdpShared shared, SkiffEngine engine) : PerCoreParticipant(engine)
{
    private readonly UdpShared _shared = shared;
    private UdpSocket? _socket;

    public void Open(UdpSocket socket)
    {
        _socket = socket;
        Engine.Register(this);
    }

    protected override bool IsCloseRequested => _shared.IsCloseRequested;

    protected override ObjectDisposedException Disposed() =>
        new(nameof(SkiffUdpSocket), "The UDP socket was disposed; bind a new one with SkiffStack.BindUdp.");

    protected override void FailOperations(Exception error) => _shared.FailAll(error, Engine.Options.Queue);

    protected override void ReportClosed() => _shared.OnCoreClosed();

    protected override void CloseOnCore()
    {
        if (_socket is not null)
        {
            _socket.Close();
            Engine.Unregister(this);
        }
    }

    protected override bool StepOpen()
    {
        if (_socket is null)
        {
            return false;
        }
        bool work = false;
        LoopOperation<SkiffUdpReceiveResult> receive = _shared.Receive;
        if (receive.IsActive)
        {
            if (receive.IsCancellationRequested)
            {
                if (receive.TryClaim())
                {
                    _shared.ReceiveBuffer = default;
                    receive.CancelClaimed();
                }
                work = true;
            }
            else if (_socket.CanReceive && receive.TryClaim())
            {
                // Claimed: this core alone writes the caller's buffer. The datagram is certainly there (this thread owns the socket).
                _socket.TryReceive(out PacketBuffer? datagram, out UdpEndpoint source);
                Memory<byte> buffer = _shared.ReceiveBuffer;
                _shared.ReceiveBuffer = default;
                int length = datagram!.Length;
                int copied = Math.Min(length, buffer.Length);
                datagram.Data[..copied].CopyTo(buffer.Span);
                datagram.Free();
                receive.CompleteClaimed(new SkiffUdpReceiveResult(copied, length, source));
                work = true;
            }
        }
        LoopOperation<int> send = _shared.Send;
        if (send.IsActive && _shared.SendCore == Engine.Options.Queue)
        {
            if (send.IsCancellationRequested)
            {
                _shared.SendData = default;
                send.Cancel();
                work = true;
            }
            else if (_socket.TrySend(_shared.SendData.Span, _shared.SendDestination))
            {
                Engine.NotePeer(_shared.SendDestination.Address);
                int length = _shared.SendData.Length;
                _shared.SendData = default;
                send.Complete(length);
                work = true;
            }
        }
        return work;
    }
}
