using System.Threading.Tasks.Sources;

namespace Skiff.Engine.Internal;

/// <summary>
/// One reusable asynchronous operation (an accept, a receive, a send) that an application thread starts
/// and the loop completes: an <see cref="IValueTaskSource{TResult}"/> over
/// <see cref="ManualResetValueTaskSourceCore{TResult}"/>, so a steady stream of operations allocates nothing.
/// </summary>
/// <remarks>
/// Loops complete the operation, cancellation included: the token's callback just flags the request and
/// schedules the owner. When several loops (cores) may complete one operation, completion is claimed
/// atomically: exactly one <see cref="Complete"/>, <see cref="TryComplete"/>, <see cref="Fail"/> or
/// <see cref="TryClaim"/> wins, the others see false. Continuations run asynchronously, never inline on a
/// loop, unless the owner asked for results inline (a listener for Kestrel's accept loop); failures and
/// cancellations are always asynchronous. At most one operation is outstanding; a second <see cref="Start"/> throws.
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
    private readonly bool _inlineResults;
    private int _busy;           // 1 from Start until the awaiter's GetResult
    private int _active;         // 1 from Start until the loop completes it
    private int _cancelRequested;
    private CancellationToken _token;
    private CancellationToken _claimedToken;
    private CancellationTokenRegistration _registration;

    /// <param name="schedule">Schedules the owner on its loop(s).</param>
    /// <param name="what">The operation's name, for messages.</param>
    /// <param name="inlineResults">A result resumes the awaiter on the completing thread (the loop); see <see cref="SkiffStack.Listen"/>.</param>
    public LoopOperation(Action schedule, string what, bool inlineResults = false)
    {
        _schedule = schedule;
        _what = what;
        _inlineResults = inlineResults;
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

    /// <summary>Application side: gives back a reservation that was not started (the result was at hand).</summary>
    public void Release() => Volatile.Write(ref _busy, 0);

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
    public void Complete(T result) => TryComplete(result);

    /// <summary>Completes with a result if the operation is still outstanding; false if another completion won.</summary>
    public bool TryComplete(T result)
    {
        if (!Finish())
        {
            return false;
        }
        SetResult(result);
        return true;
    }

    /// <summary>
    /// Claims the outstanding operation for the caller, who must then call <see cref="CompleteClaimed"/>: for a
    /// result that consumes something (a datagram) only once the operation is certainly the caller's.
    /// </summary>
    public bool TryClaim() => Finish();

    /// <summary>Completes an operation this thread claimed with <see cref="TryClaim"/>.</summary>
    public void CompleteClaimed(T result) => SetResult(result);

    /// <summary>Fails an operation this thread claimed with <see cref="TryClaim"/>.</summary>
    public void FailClaimed(Exception error) => SetException(error);

    /// <summary>Completes an operation this thread claimed with <see cref="TryClaim"/> as cancelled.</summary>
    public void CancelClaimed()
    {
        CancellationToken token = _claimedToken;
        _claimedToken = default;
        SetException(new OperationCanceledException($"The {_what} was cancelled.", token));
    }

    /// <summary>Loop side: completes with an exception.</summary>
    public void Fail(Exception error)
    {
        if (!Finish())
        {
            return;
        }
        SetException(error);
    }

    /// <summary>Loop side: completes as cancelled.</summary>
    public void Cancel() => Fail(new OperationCanceledException($"The {_what} was cancelled.", _token));

    private void SetResult(T result)
    {
        // The flag is read when the result is signalled; the awaiter registered its continuation before.
        _core.RunContinuationsAsynchronously = !_inlineResults;
        _core.SetResult(result);
    }

    private void SetException(Exception error)
    {
        _core.RunContinuationsAsynchronously = true; // an error path may dispose things that wait for this loop
        _core.SetException(error);
    }

    private bool Finish()
    {
        if (Interlocked.Exchange(ref _active, 0) == 0)
        {
            return false;
        }
        // Unregister, not Dispose: Dispose would wait for a callback running on another thread, and the loop never blocks.
        _registration.Unregister();
        _registration = default;
        _claimedToken = _token; // for CancelClaimed
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
