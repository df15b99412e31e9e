namespace Skiff.Devices.Internal;

/// <summary>
/// Frames held back for reordering, oldest first, in a preallocated ring. Every held frame waits for the
/// same number of followers, so they come due in the order they were held. Not thread-safe.
/// </summary>
internal sealed class ReorderHold
{
    private readonly Entry[] _ring;
    private int _head;

    public ReorderHold(int capacity)
    {
        _ring = new Entry[capacity];
    }

    public int Count { get; private set; }

    /// <summary>Holds a frame that arrived when <paramref name="passedAtHold"/> frames had passed, at <paramref name="heldAtMicros"/>.
    /// Precondition: not full (the caller bounds held frames by the ring's capacity).</summary>
    public void Push(PacketBuffer frame, long passedAtHold, long heldAtMicros)
    {
        if (Count == _ring.Length)
        {
            throw new InvalidOperationException("The reorder hold is full.");
        }
        int tail = _head + Count;
        if (tail >= _ring.Length)
        {
            tail -= _ring.Length;
        }
        _ring[tail] = new Entry(frame, passedAtHold, heldAtMicros);
        Count++;
    }

    /// <summary>The oldest held entry. Precondition: <see cref="Count"/> &gt; 0.</summary>
    public ref readonly Entry Peek()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("The reorder hold is empty.");
        }
        return ref _ring[_head];
    }

    /// <summary>Removes and returns the oldest held entry. Precondition: <see cref="Count"/> &gt; 0.</summary>
    public Entry Pop()
    {
        Entry e = Peek();
        _ring[_head] = default;
        _head = _head + 1 == _ring.Length ? 0 : _head + 1;
        Count--;
        return e;
    }

    /// <summary>Frees every held frame and empties the ring.</summary>
    public void FreeAll()
    {
        while (Count > 0)
        {
            Pop().Frame.Free();
        }
    }

    internal readonly record struct Entry(PacketBuffer Frame, long PassedAtHold, long HeldAtMicros);
}
