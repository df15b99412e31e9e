namespace Skiff.Engine.Internal;

/// <summary>
/// One core's part of an object that exists on every core (a listener, a UDP socket): the life cycle they share.
/// The object's shared half asks for a close; each core then closes its stack object, fails the shared operations
/// and reports once that it closed, also when its engine stops or has stopped. Loop thread only, except
/// <see cref="Execute"/> after the engine stopped (then under its drain lock).
/// </summary>
internal abstract class PerCoreParticipant(SkiffEngine engine) : EngineParticipant
{
    private bool _isClosed;
    private bool _reported;

    public SkiffEngine Engine { get; } = engine;

    /// <summary>True once the application disposed the object.</summary>
    protected abstract bool IsCloseRequested { get; }

    /// <summary>What operations fail with after the application disposed the object.</summary>
    protected abstract ObjectDisposedException Disposed();

    /// <summary>Fails the shared operations this core may complete with <paramref name="error"/>.</summary>
    protected abstract void FailOperations(Exception error);

    /// <summary>Closes this core's stack object (and unregisters), if it was opened.</summary>
    protected abstract void CloseOnCore();

    /// <summary>Tells the shared half this core has closed; called once.</summary>
    protected abstract void ReportClosed();

    /// <summary>The object's work on this core while it is open; true if it did any.</summary>
    protected abstract bool StepOpen();

    internal sealed override void Execute()
    {
        if (Engine.IsStopped)
        {
            FailOperations(Engine.StoppedException());
            ReportOnce();
            return;
        }
        Step();
    }

    internal sealed override bool AfterPoll() => Step();

    internal sealed override void OnEngineStopping()
    {
        if (!_isClosed)
        {
            Close(Engine.StoppedException());
        }
    }

    private bool Step()
    {
        if (_isClosed)
        {
            return false;
        }
        if (IsCloseRequested)
        {
            Close(Disposed());
            return true;
        }
        return StepOpen();
    }

    private void Close(Exception error)
    {
        _isClosed = true;
        CloseOnCore();
        FailOperations(error);
        ReportOnce();
    }

    private void ReportOnce()
    {
        if (!_reported)
        {
            _reported = true;
            ReportClosed();
        }
    }
}
