namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// The TCP layer's timers: a binary min-heap of (deadline, socket slot, generation). A socket's live entry is the one
/// at its <see cref="TcpSocket.ArmedAt"/>; re-arming earlier pushes a new entry and leaves the old one stale, re-arming
/// later pushes nothing (the earlier entry fires and the socket settles again), and a freed socket's entries are
/// stale by generation. Stale entries are skipped when they reach the top, and the heap is rebuilt from the live
/// sockets when it fills, so it is bounded (twice the connection count) and never allocates after construction.
/// </summary>
internal sealed class TimerHeap
{
    private readonly (long At, int Slot, int Generation)[] _entries;
    private int _count;

    public TimerHeap(int maxConnections)
    {
        _entries = new (long, int, int)[(2 * maxConnections) + 16];
    }

    public int Count => _count;

    public void Push(Instant at, int slot, int generation, TcpSocket[] sockets)
    {
        if (_count == _entries.Length)
        {
            Rebuild(sockets);
        }
        int i = _count++;
        (long At, int Slot, int Generation) entry = (at.TotalMicros, slot, generation);
        while (i > 0)
        {
            int parent = (i - 1) >> 1;
            if (_entries[parent].At <= entry.At)
            {
                break;
            }
            _entries[i] = _entries[parent];
            i = parent;
        }
        _entries[i] = entry;
    }

    /// <summary>Takes the earliest entry if it is due at <paramref name="now"/> (stale or not: the caller checks).</summary>
    public bool TryPopDue(Instant now, out int slot, out int generation, out Instant at)
    {
        if (_count == 0 || _entries[0].At > now.TotalMicros)
        {
            slot = generation = 0;
            at = Instant.Never;
            return false;
        }
        (long a, slot, generation) = _entries[0];
        at = new Instant(a);
        RemoveTop();
        return true;
    }

    /// <summary>The earliest live deadline, dropping stale entries on top; <see cref="Instant.Never"/> when none.</summary>
    public Instant PeekEarliest(TcpSocket[] sockets)
    {
        while (_count > 0)
        {
            (long at, int slot, int generation) = _entries[0];
            if (IsLive(sockets[slot], at, generation))
            {
                return new Instant(at);
            }
            RemoveTop();
        }
        return Instant.Never;
    }

    private static bool IsLive(TcpSocket s, long at, int generation) =>
        s.InUse && s.Generation == generation && s.ArmedAt.TotalMicros == at;

    private void RemoveTop()
    {
        _entries[0] = _entries[--_count];
        if (_count > 0)
        {
            SiftDown(0);
        }
    }

    /// <summary>Keeps one entry per armed socket (at most the connection count, half the capacity) and restores the heap order.</summary>
    private void Rebuild(TcpSocket[] sockets)
    {
        int kept = 0;
        for (int i = 0; i < _count; i++)
        {
            (long at, int slot, int generation) = _entries[i];
            if (IsLive(sockets[slot], at, generation))
            {
                _entries[kept++] = _entries[i];
            }
        }
        _count = kept;
        for (int i = (_count / 2) - 1; i >= 0; i--)
        {
            SiftDown(i);
        }
    }

    private void SiftDown(int i)
    {
        (long At, int Slot, int Generation) entry = _entries[i];
        while (true)
        {
            int child = (2 * i) + 1;
            if (child >= _count)
            {
                break;
            }
            if (child + 1 < _count && _entries[child + 1].At < _entries[child].At)
            {
                child++;
            }
            if (entry.At <= _entries[child].At)
            {
                break;
            }
            _entries[i] = _entries[child];
            i = child;
        }
        _entries[i] = entry;
    }
}
