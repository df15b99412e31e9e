namespace Skiff.Engine.Internal;

/// <summary>
/// A long-lived object the loop visits after every poll (connection, listener, UDP socket): it moves data
/// between the stack and the application and completes operations. Loop thread only, except
/// <see cref="EngineWorkItem.TrySchedule"/>.
/// </summary>
internal abstract class EngineParticipant : EngineWorkItem
{
    /// <summary>Index in the engine's participant list; -1 when not registered. Loop only.</summary>
    internal int ParticipantIndex = -1;

    /// <summary>
    /// False for participants the loop visits only when there is news for them (connections: their socket is on the
    /// stack's ready list, an application thread scheduled them, or their last visit did work), so that idle
    /// connections cost nothing per poll.
    /// </summary>
    internal virtual bool VisitedEveryPoll => true;

    /// <summary>Runs after each poll (when <see cref="VisitedEveryPoll"/>); true if it did any work (keeps the loop busy-polling).</summary>
    internal abstract bool AfterPoll();

    /// <summary>The engine is stopping: abort stack objects, fail outstanding operations, complete pipes. Loop only; the stack is still usable.</summary>
    internal abstract void OnEngineStopping();
}
