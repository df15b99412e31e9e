namespace Skiff.Devices.Internal;

/// <summary>
/// A bounded min-heap of frames ordered by due time, then by arrival (netem's tfifo). The array is
/// allocated once; enqueue and dequeue are O(log n) and never allocate. Not thread-safe.
/// </summary>
internal sealed class TimedFrameQueue
{
    private readonly TimedFrame[] _heap;
    private long _nextSequence;

    public TimedFrameQueue(int capacity)
    {
        _heap = new TimedFrame[capacity];
    }

    public int Count { get; private set; }

    public int Capacity => _heap.Length;

    public bool IsFull => Count == _heap.Length;

    /// <summary>Adds a frame due at <paramref name="dueMicros"/>, after every frame already queued with the same due time.
    /// False (and the caller keeps the frame) when full.</summary>
    public bool TryEnqueue(PacketBuffer frame, long dueMicros)
    {
        if (Count == _heap.Length)
        {
            return false;
        }
        Insert(new TimedFrame(frame, dueMicros, _nextSequence++));
        return true;
    }

    /// <summary>Puts back an entry taken by <see cref="Dequeue"/>, keeping its place in the order. Throws if full (a caller bug).</summary>
    public void Requeue(in TimedFrame entry)
    {
        if (Count == _heap.Length)
        {
            throw new InvalidOperationException("Requeue into a full queue: only entries just dequeued may be put back.");
        }
        Insert(entry);
    }

    /// <summary>The first entry to leave. Precondition: <see cref="Count"/> &gt; 0.</summary>
    public ref readonly TimedFrame Peek()
    {
        if (Count == 0)
        {
            throw new InvalidOperationException("The queue is empty.");
        }
        return ref _heap[0];
    }

    /// <summary>Removes and returns the first entry to leave. Precondition: <see cref="Count"/> &gt; 0.</summary>
    public TimedFrame Dequeue()
    {
        TimedFrame top = Peek();
        int last = --Count;
        TimedFrame moved = _heap[last];
        _heap[last] = default;
        if (last > 0)
        {
            SiftDown(moved, last);
        }
        return top;
    }

    /// <summary>Frees every queued frame to its pool and empties the queue.</summary>
    public void FreeAll()
    {
        for (int i = 0; i < Count; i++)
        {
            _heap[i].Frame.Free();
            _heap[i] = default;
        }
        Count = 0;
    }

    private void Insert(in TimedFrame entry)
    {
        int i = Count++;
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (!entry.IsBefore(_heap[parent]))
            {
                break;
            }
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = entry;
    }

    private void SiftDown(in TimedFrame entry, int count)
    {
        int i = 0;
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= count)
            {
                break;
            }
            if (child + 1 < count && _heap[child + 1].IsBefore(_heap[child]))
            {
                child++;
            }
            if (!_heap[child].IsBefore(entry))
            {
                break;
            }
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = entry;
    }
}
