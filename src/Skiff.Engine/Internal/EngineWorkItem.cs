namespace Skiff.Engine.Internal;

/// <summary>
/// Something the loop runs on behalf of application threads: a connection, listener or UDP socket with new
/// requests, or a one-off command. Intrusive node of <see cref="MpscWorkQueue"/>: an item is queued at most
/// once at a time (<see cref="TrySchedule"/>), so scheduling never allocates.
/// </summary>
internal abstract class EngineWorkItem
{
    internal EngineWorkItem? Next;
    private int _scheduled;

    /// <summary>Marks the item queued; false when it already is (the pending run will see the new request).</summary>
    internal bool TrySchedule() => Interlocked.Exchange(ref _scheduled, 1) == 0;

    /// <summary>Called by the loop just before <see cref="Execute"/>, so that requests made during it queue the item again.</summary>
    internal void ClearScheduled() => Volatile.Write(ref _scheduled, 0);

    /// <summary>Runs on the loop thread (or, once the engine has stopped, under its drain lock).</summary>
    internal abstract void Execute();
}
