using Skiff.Stack.Udp;

namespace Skiff.Engine.Internal;

/// <summary>The loop's side of a <see cref="SkiffUdpSocket"/>: completes the outstanding receive and send.</summary>
internal sealed class UdpCore : EngineParticipant
{
    private readonly SkiffEngine _engine;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private UdpSocket? _socket;
    private int _closeRequested;
    private bool _isClosed;

    public UdpCore(SkiffEngine engine)
    {
        _engine = engine;
        Receive = new LoopOperation<SkiffUdpReceiveResult>(() => engine.Schedule(this), "ReceiveFromAsync");
        Send = new LoopOperation<int>(() => engine.Schedule(this), "SendToAsync");
    }

    public LoopOperation<SkiffUdpReceiveResult> Receive { get; }

    public LoopOperation<int> Send { get; }

    /// <summary>Where the outstanding receive copies to; set before <see cref="Receive"/> starts.</summary>
    public Memory<byte> ReceiveBuffer;

    /// <summary>What the outstanding send sends; set before <see cref="Send"/> starts.</summary>
    public ReadOnlyMemory<byte> SendData;

    public UdpEndpoint SendDestination;

    public Task Closed => _closed.Task;

    public bool IsCloseRequested => Volatile.Read(ref _closeRequested) == 1;

    public void Open(UdpSocket socket)
    {
        _socket = socket;
        _engine.Register(this);
    }

    public void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        _engine.Schedule(this);
    }

    internal override void Execute()
    {
        if (_engine.IsStopped)
        {
            FailAll(_engine.StoppedException());
            _closed.TrySetResult();
            return;
        }
        Step();
    }

    internal override bool AfterPoll() => Step();

    private bool Step()
    {
        if (_isClosed || _socket is null)
        {
            return false;
        }
        if (IsCloseRequested)
        {
            Close(new ObjectDisposedException(nameof(SkiffUdpSocket), "The UDP socket was disposed; bind a new one with SkiffStack.BindUdp."));
            return true;
        }
        bool work = false;
        if (Receive.IsActive)
        {
            if (Receive.IsCancellationRequested)
            {
                ReceiveBuffer = default;
                Receive.Cancel();
                work = true;
            }
            else if (_socket.TryReceive(out PacketBuffer? datagram, out UdpEndpoint source))
            {
                int length = datagram.Length;
                int copied = Math.Min(length, ReceiveBuffer.Length);
                datagram.Data[..copied].CopyTo(ReceiveBuffer.Span);
                datagram.Free();
                ReceiveBuffer = default;
                Receive.Complete(new SkiffUdpReceiveResult(copied, length, source));
                work = true;
            }
        }
        if (Send.IsActive)
        {
            if (Send.IsCancellationRequested)
            {
                SendData = default;
                Send.Cancel();
                work = true;
            }
            else if (_socket.TrySend(SendData.Span, SendDestination))
            {
                _engine.NotePeer(SendDestination.Address);
                int length = SendData.Length;
                SendData = default;
                Send.Complete(length);
                work = true;
            }
        }
        return work;
    }

    private void Close(Exception error)
    {
        _isClosed = true;
        _socket!.Close();
        _engine.Unregister(this);
        FailAll(error);
        _closed.TrySetResult();
    }

    private void FailAll(Exception error)
    {
        ReceiveBuffer = default;
        SendData = default;
        Receive.Fail(error);
        Send.Fail(error);
    }

    internal override void OnEngineStopping()
    {
        if (!_isClosed && _socket is not null)
        {
            Close(_engine.StoppedException());
        }
        _closed.TrySetResult();
    }
}
