namespace Skiff.QDisc;

/// <summary>
/// A FIFO of frames inside a <see cref="FrameSlab"/>: a linked list of slab nodes with its length in frames and bytes.
/// A value type kept in the qdisc's own arrays (one per band, flow or class), so a queue costs no object.
/// </summary>
public struct FrameList
{
    internal int HeadPlusOne; // 0: empty
    internal int TailPlusOne;

    /// <summary>Frames in the list.</summary>
    public int Count;

    /// <summary>Bytes in the list.</summary>
    public long Bytes;

    /// <summary>True when the list holds no frame.</summary>
    public readonly bool IsEmpty => Count == 0;
}

/// <summary>
/// The bounded store all queues of one qdisc share (Linux links sk_buffs; Skiff links preallocated nodes): a node per
/// frame the qdisc may hold at most, each with the frame and its enqueue time. Pushing into a full slab fails, which is
/// the qdisc's packet limit; nothing is allocated after construction.
/// </summary>
public sealed class FrameSlab
{
    private readonly PacketBuffer?[] _frames;
    private readonly long[] _enqueuedAt;
    private readonly int[] _next; // node + 1 of the next in its list or the free list; 0 = none
    private int _freePlusOne;

    /// <summary>A slab of <paramref name="capacity"/> nodes.</summary>
    public FrameSlab(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _frames = new PacketBuffer?[capacity];
        _enqueuedAt = new long[capacity];
        _next = new int[capacity];
        for (int i = 0; i < capacity - 1; i++)
        {
            _next[i] = i + 2;
        }
        _freePlusOne = 1;
    }

    /// <summary>Nodes in the slab: the most frames its queues hold together.</summary>
    public int Capacity => _frames.Length;

    /// <summary>Frames held now.</summary>
    public int Count { get; private set; }

    /// <summary>True when every node holds a frame.</summary>
    public bool IsFull => _freePlusOne == 0;

    /// <summary>Appends <paramref name="frame"/>, queued at <paramref name="now"/>, to <paramref name="list"/>; false (nothing changed) when the slab is full.</summary>
    public bool TryPush(ref FrameList list, PacketBuffer frame, Instant now)
    {
        int node = _freePlusOne - 1;
        if (node < 0)
        {
            return false;
        }
        _freePlusOne = _next[node];
        _frames[node] = frame;
        _enqueuedAt[node] = now.TotalMicros;
        _next[node] = 0;
        if (list.TailPlusOne == 0)
        {
            list.HeadPlusOne = node + 1;
        }
        else
        {
            _next[list.TailPlusOne - 1] = node + 1;
        }
        list.TailPlusOne = node + 1;
        list.Count++;
        list.Bytes += frame.Length;
        Count++;
        return true;
    }

    /// <summary>Removes the first frame of <paramref name="list"/> and when it was queued; null when the list is empty.</summary>
    public PacketBuffer? Pop(ref FrameList list, out Instant enqueuedAt)
    {
        int node = list.HeadPlusOne - 1;
        if (node < 0)
        {
            enqueuedAt = default;
            return null;
        }
        PacketBuffer frame = _frames[node]!;
        enqueuedAt = new Instant(_enqueuedAt[node]);
        list.HeadPlusOne = _next[node];
        if (list.HeadPlusOne == 0)
        {
            list.TailPlusOne = 0;
        }
        list.Count--;
        list.Bytes -= frame.Length;
        _frames[node] = null;
        _next[node] = _freePlusOne;
        _freePlusOne = node + 1;
        Count--;
        return frame;
    }

    /// <summary>Removes the first frame of <paramref name="list"/>; null when empty.</summary>
    public PacketBuffer? Pop(ref FrameList list) => Pop(ref list, out _);

    /// <summary>The first frame of <paramref name="list"/> without removing it, or null.</summary>
    public PacketBuffer? PeekHead(in FrameList list) => list.HeadPlusOne == 0 ? null : _frames[list.HeadPlusOne - 1];

    /// <summary>Frees every frame of <paramref name="list"/>.</summary>
    public void FreeAll(ref FrameList list)
    {
        while (Pop(ref list) is PacketBuffer frame)
        {
            frame.Free();
        }
    }
}
