namespace Skiff.Engine.Internal;

/// <summary>
/// Multi-producer, single-consumer intrusive queue of <see cref="EngineWorkItem"/>s (Vyukov's non-blocking
/// MPSC queue): producers swap themselves into <c>_head</c> with one exchange; only the loop dequeues.
/// Unbounded and allocation-free, since the nodes are the items themselves.
/// </summary>
internal sealed class MpscWorkQueue
{
    private sealed class Stub : EngineWorkItem
    {
        internal override void Execute()
        {
        }
    }

    private readonly Stub _stub = new();
    private EngineWorkItem _head; // producers
    private EngineWorkItem _tail; // consumer only

    public MpscWorkQueue()
    {
        _head = _stub;
        _tail = _stub;
    }

    /// <summary>Any thread.</summary>
    public void Enqueue(EngineWorkItem item)
    {
        item.Next = null;
        // Full fence: publishes item.Next = null before the item becomes reachable; pairs with the
        // Volatile.Read of Next in TryDequeue.
        EngineWorkItem previous = Interlocked.Exchange(ref _head, item);
        Volatile.Write(ref previous.Next, item);
    }

    /// <summary>True when nothing is queued (a producer mid-enqueue counts as queued). Consumer only.</summary>
    public bool IsEmpty => _tail == _stub && Volatile.Read(ref _stub.Next) is null && Volatile.Read(ref _head) == _stub;

    /// <summary>
    /// The oldest item, or null when empty or when a producer is between its exchange and its link (the
    /// item shows up at the next call). Consumer only.
    /// </summary>
    public EngineWorkItem? TryDequeue()
    {
        EngineWorkItem tail = _tail;
        EngineWorkItem? next = Volatile.Read(ref tail.Next);
        if (tail == _stub)
        {
            if (next is null)
            {
                return null;
            }
            _tail = next;
            tail = next;
            next = Volatile.Read(ref next.Next);
        }
        if (next is not null)
        {
            _tail = next;
            return tail;
        }
        if (tail != Volatile.Read(ref _head))
        {
            return null; // a producer has swapped in but not linked yet
        }
        Enqueue(_stub);
        next = Volatile.Read(ref tail.Next);
        if (next is not null)
        {
            _tail = next;
            return tail;
        }
        return null;
    }
}
