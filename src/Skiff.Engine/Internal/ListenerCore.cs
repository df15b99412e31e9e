using Skiff.Stack.Tcp;

namespace Skiff.Engine.Internal;

/// <summary>The loop's side of a <see cref="SkiffListener"/>: completes the outstanding accept from the listener's accept queue.</summary>
internal sealed class ListenerCore : EngineParticipant
{
    private readonly SkiffStack _stack;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TcpListener? _listener;
    private int _closeRequested;
    private bool _isClosed;

    public ListenerCore(SkiffStack stack)
    {
        _stack = stack;
        Accept = new LoopOperation<SkiffConnection>(() => stack.Engine.Schedule(this), "AcceptAsync");
    }

    public LoopOperation<SkiffConnection> Accept { get; }

    public Task Closed => _closed.Task;

    public bool IsCloseRequested => Volatile.Read(ref _closeRequested) == 1;

    /// <summary>Loop side: starts listening.</summary>
    public void Open(TcpListener listener)
    {
        _listener = listener;
        _stack.Engine.Register(this);
    }

    public void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        _stack.Engine.Schedule(this);
    }

    internal override void Execute()
    {
        if (_stack.Engine.IsStopped)
        {
            Accept.Fail(_stack.Engine.StoppedException());
            _closed.TrySetResult();
            return;
        }
        Step();
    }

    internal override bool AfterPoll() => Step();

    private bool Step()
    {
        if (_isClosed || _listener is null)
        {
            return false;
        }
        if (IsCloseRequested)
        {
            Close(new ObjectDisposedException(nameof(SkiffListener), "The listener was disposed; create a new one with SkiffStack.Listen."));
            return true;
        }
        if (!Accept.IsActive)
        {
            return false;
        }
        if (Accept.IsCancellationRequested)
        {
            Accept.Cancel();
            return true;
        }
        TcpLayer tcp = _stack.Engine.Interface.Tcp;
        if (!tcp.TryAccept(_listener, out Skiff.Stack.SocketHandle handle))
        {
            return false;
        }
        ConnectionCore connection = new(_stack);
        connection.Adopt(handle, tcp.Get(handle));
        Accept.Complete(connection.Connection);
        return true;
    }

    private void Close(Exception error)
    {
        _isClosed = true;
        _stack.Engine.Interface.Tcp.CloseListener(_listener!);
        _stack.Engine.Unregister(this);
        Accept.Fail(error);
        _closed.TrySetResult();
    }

    internal override void OnEngineStopping()
    {
        if (!_isClosed && _listener is not null)
        {
            Close(_stack.Engine.StoppedException());
        }
        _closed.TrySetResult();
    }
}
