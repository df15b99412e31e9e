using System.Threading.Tasks.Sources;

namespace Skiff.Engine.Internal;

/// <summary>
/// One reusable asynchronous operation (an accept, a receive, a send) that an application thread starts
/// and the loop completes: an <see cref="IValueTaskSource{TResult}"/> over
/// <see cref="ManualResetValueTaskSourceCore{TResult}"/>, so a steady stream of operations allocates nothing.
/// </summary>
/// <remarks>
/// Only the loop completes the operation, cancellation included: the token's callback just flags the
/// request and schedules the owner, so completion never races. Continuations run asynchronously, never
/// inline on the loop. At most one operation is outstanding; a second <see cref="Start"/> throws.
/// </remarks>
internal sealed class LoopOperation<T> : IValueTaskSource<T>
{
    private static readonly Action<object?> s_onCancel = static state =>
    {
        LoopOperation<T> op = (LoopOperation<T>)state!;
        Volatile.Write(ref op._cancelRequested, 1);
        op._schedule();
    };

    private ManualResetValueTaskSourceCore<T> _core = new() { RunContinuationsAsynchronously = true };
    private readonly Action _schedule;
    private readonly string _what;
    private int _busy;           // 1 from Start until the awaiter's GetResult
    private int _active;         // 1 from Start until the loop completes it
    private int _cancelRequested;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public LoopOperation(Action schedule, string what)
    {
        _schedule = schedule;
        _what = what;
    }

    /// <summary>True between <see cref="Start"/> and completion. Loop side.</summary>
    public bool IsActive => Volatile.Read(ref _active) == 1;

    /// <summary>True when the operation's token asked for cancellation. Loop side.</summary>
    public bool IsCancellationRequested => Volatile.Read(ref _cancelRequested) == 1 && _token.IsCancellationRequested;

    /// <summary>Application side: reserves and starts the operation (see <see cref="Reserve"/> and <see cref="StartReserved"/>).</summary>
    public ValueTask<T> Start(CancellationToken cancellationToken)
    {
        Reserve();
        return StartReserved(cancellationToken);
    }

    /// <summary>Application side: claims the operation, so the caller may set its arguments. Throws when one is already outstanding.</summary>
    public void Reserve()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException($"Another {_what} is already outstanding; await it before starting the next one.");
        }
    }

    /// <summary>Application side: arms a reserved operation and schedules the owner.</summary>
    public ValueTask<T> StartReserved(CancellationToken cancellationToken)
    {
        _core.Reset();
        _cancelRequested = 0;
        _token = cancellationToken;
        short version = _core.Version;
        // Publishes the fields above before the loop can see the operation as active.
        Volatile.Write(ref _active, 1);
        if (cancellationToken.CanBeCanceled)
        {
            _registration = cancellationToken.UnsafeRegister(s_onCancel, this);
        }
        _schedule();
        return new ValueTask<T>(this, version);
    }

    /// <summary>Loop side: completes with a result.</summary>
    public void Complete(T result)
    {
        if (!Finish())
        {
            return;
        }
        _core.SetResult(result);
    }

    /// <summary>Loop side: completes with an exception.</summary>
    public void Fail(Exception error)
    {
        if (!Finish())
        {
            return;
        }
        _core.SetException(error);
    }

    /// <summary>Loop side: completes as cancelled.</summary>
    public void Cancel() => Fail(new OperationCanceledException($"The {_what} was cancelled.", _token));

    private bool Finish()
    {
        if (Interlocked.Exchange(ref _active, 0) == 0)
        {
            return false;
        }
        // Unregister, not Dispose: Dispose would wait for a callback running on another thread, and the loop never blocks.
        _registration.Unregister();
        _registration = default;
        _token = default;
        return true;
    }

    public T GetResult(short token)
    {
        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
