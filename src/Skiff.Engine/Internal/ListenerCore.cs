using System.Collections.Concurrent;
using Skiff.Stack.Tcp;

namespace Skiff.Engine.Internal;

/// <summary>
/// What the cores of one <see cref="SkiffListener"/> share: the outstanding accept, which any core may
/// complete, and the connections a core took from its stack while another core won the accept.
/// </summary>
internal sealed class ListenerShared
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<SkiffConnection> _ready = new();
    private int _closeRequested;
    private int _openCores;

    public ListenerShared(SkiffStack stack, int cores, bool inlineAccepts)
    {
        Cores = new ListenerCore[cores];
        for (int i = 0; i < cores; i++)
        {
            Cores[i] = new ListenerCore(this, stack, stack.Engines[i]);
        }
        _openCores = cores;
        Accept = new LoopOperation<SkiffConnection>(ScheduleAll, "AcceptAsync", inlineResults: inlineAccepts);
    }

    public ListenerCore[] Cores { get; }

    public LoopOperation<SkiffConnection> Accept { get; }

    public Task Closed => _closed.Task;

    public bool IsCloseRequested => Volatile.Read(ref _closeRequested) == 1;

    /// <summary>Application side: a connection a core accepted while another completed the accept, if any.</summary>
    public bool TryTakeReady(out SkiffConnection connection) => _ready.TryDequeue(out connection!);

    /// <summary>Application side: puts back a connection taken by <see cref="TryTakeReady"/> that found no accept to complete.</summary>
    public void ReturnReady(SkiffConnection connection) => _ready.Enqueue(connection);

    /// <summary>A core's accepted connection: completes the accept, or waits for the next one.</summary>
    public void Deliver(SkiffConnection connection)
    {
        if (!Accept.TryComplete(connection))
        {
            _ready.Enqueue(connection);
        }
    }

    public void RequestClose()
    {
        Volatile.Write(ref _closeRequested, 1);
        ScheduleAll();
    }

    /// <summary>A core closed (disposed or its engine stopped): the last one resets what was never accepted.</summary>
    public void OnCoreClosed()
    {
        if (Interlocked.Decrement(ref _openCores) != 0)
        {
            return;
        }
        while (_ready.TryDequeue(out SkiffConnection? connection))
        {
            connection.Abort();
        }
        _closed.TrySetResult();
    }

    private void ScheduleAll()
    {
        foreach (ListenerCore core in Cores)
        {
            core.Engine.Schedule(core);
        }
    }
}

/// <summary>One core's side of a <see cref="SkiffListener"/>: takes established connections from that core's stack while an accept is outstanding.</summary>
internal sealed class ListenerCore(ListenerShared shared, SkiffStack stack, SkiffEngine engine) : PerCoreParticipant(engine)
{
    private TcpListener? _listener;

    /// <summary>Loop side: starts listening.</summary>
    public void Open(TcpListener listener)
    {
        _listener = listener;
        Engine.Register(this);
    }

    protected override bool IsCloseRequested => shared.IsCloseRequested;

    protected override ObjectDisposedException Disposed() =>
        new(nameof(SkiffListener), "The listener was disposed; create a new one with SkiffStack.Listen.");

    protected override void FailOperations(Exception error) => shared.Accept.Fail(error);

    protected override void ReportClosed() => shared.OnCoreClosed();

    protected override void CloseOnCore()
    {
        if (_listener is not null)
        {
            Engine.Interface.Tcp.CloseListener(_listener);
            Engine.Unregister(this);
        }
    }

    protected override bool StepOpen()
    {
        LoopOperation<SkiffConnection> accept = shared.Accept;
        if (_listener is null || !accept.IsActive)
        {
            return false;
        }
        if (accept.IsCancellationRequested)
        {
            accept.Cancel();
            return true;
        }
        TcpLayer tcp = Engine.Interface.Tcp;
        if (!tcp.TryAccept(_listener, out Skiff.Stack.SocketHandle handle))
        {
            return false;
        }
        ConnectionCore connection = new(stack, Engine);
        connection.Adopt(handle, tcp.Get(handle));
        shared.Deliver(connection.Connection);
        return true;
    }
}
