namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// Segments that arrived above RCV.NXT, kept (zero-copy, in their buffers) until the hole below them
/// fills. Sorted by sequence, non-overlapping: new data that overlaps what is held is trimmed to the
/// gaps (the first copy wins). Bounded in segments and bytes; what the bound refuses is dropped and
/// counted by the caller (the peer retransmits it). Produces SACK blocks (RFC 2018 section 4). Not thread-safe.
/// </summary>
internal sealed class OutOfOrderQueue
{
    private struct Entry
    {
        public SeqNumber Start;
        public PacketBuffer? Buffer; // null for a bare FIN
        public bool Fin;
        public readonly SeqNumber End => Start + (Buffer?.Length ?? 0);
    }

    private readonly Entry[] _entries;
    private readonly int _maxBytes;
    private int _count;
    private SeqNumber _latestStart; // start of the most recently received segment (first SACK block, RFC 2018 section 4)

    public OutOfOrderQueue(int maxSegments, int maxBytes)
    {
        _entries = new Entry[Math.Max(1, maxSegments)];
        _maxBytes = maxBytes;
    }

    public int Segments => _count;

    /// <summary>The segment bound this queue was made for.</summary>
    public int MaxSegments => _entries.Length;

    /// <summary>The byte bound this queue was made for.</summary>
    public int MaxBytes => _maxBytes;

    public int Bytes { get; private set; }

    public bool IsEmpty => _count == 0;

    public enum InsertResult : byte
    {
        /// <summary>Queued; the queue owns the buffer.</summary>
        Queued,
        /// <summary>Every byte was already held; the caller frees the buffer.</summary>
        Duplicate,
        /// <summary>A bound refused it; the caller frees the buffer and counts the drop.</summary>
        Full,
    }

    /// <summary>
    /// Inserts the segment starting at <paramref name="start"/> whose payload is <paramref name="buffer"/>'s
    /// data (may be null with <paramref name="fin"/> for a bare FIN).
    /// </summary>
    public InsertResult Insert(SeqNumber start, PacketBuffer? buffer, bool fin)
    {
        int length = buffer?.Length ?? 0;
        SeqNumber end = start + length;
        // Find the first entry that ends after our start.
        int i = 0;
        while (i < _count && _entries[i].End <= start && !(_entries[i].Buffer is null && _entries[i].Start == start))
        {
            i++;
        }
        if (buffer is not null && length > 0)
        {
            // Trim our head where the previous-overlapping entry covers it.
            if (i < _count && _entries[i].Start <= start)
            {
                int covered = _entries[i].End - start;
                if (covered >= length)
                {
                    MarkFin(i, fin, end);
                    return InsertResult.Duplicate;
                }
                buffer.TryAdjust(covered);
                start += covered;
                length -= covered;
                i++;
            }
            // Trim our tail at the next entry's start (what lies beyond it is dropped; the peer resends).
            if (i < _count && _entries[i].Start < end)
            {
                int keep = _entries[i].Start - start;
                if (keep <= 0)
                {
                    return InsertResult.Duplicate;
                }
                buffer.TryTrim(length - keep);
                length = keep;
                fin = false;
            }
        }
        if (_count == _entries.Length || Bytes + length > _maxBytes)
        {
            return InsertResult.Full;
        }
        Array.Copy(_entries, i, _entries, i + 1, _count - i);
        _entries[i] = new Entry { Start = start, Buffer = buffer, Fin = fin };
        _count++;
        Bytes += length;
        _latestStart = start;
        return InsertResult.Queued;
    }

    private void MarkFin(int i, bool fin, SeqNumber end)
    {
        if (fin && _entries[i].End == end)
        {
            _entries[i].Fin = true;
        }
    }

    /// <summary>
    /// Removes the first entry if it starts at or below <paramref name="rcvNxt"/>: trims what lies below
    /// it and returns its buffer (possibly null for a bare FIN, or fully stale and freed: then returns
    /// true with <paramref name="buffer"/> null and <paramref name="fin"/> false).
    /// </summary>
    public bool TryTakeNext(SeqNumber rcvNxt, out PacketBuffer? buffer, out bool fin)
    {
        buffer = null;
        fin = false;
        if (_count == 0 || _entries[0].Start > rcvNxt)
        {
            return false;
        }
        Entry e = _entries[0];
        Array.Copy(_entries, 1, _entries, 0, _count - 1);
        _count--;
        _entries[_count] = default;
        int len = e.Buffer?.Length ?? 0;
        Bytes -= len;
        int stale = rcvNxt - e.Start;
        if (e.Buffer is not null && stale >= len && !(e.Fin && stale == len))
        {
            e.Buffer.Free();
            return true;
        }
        if (e.Buffer is not null && stale > 0)
        {
            e.Buffer.TryAdjust(Math.Min(stale, len));
        }
        buffer = e.Buffer;
        fin = e.Fin;
        return true;
    }

    /// <summary>
    /// Writes up to <c>blocks.Length</c> SACK blocks: contiguous runs of held data, the one holding the
    /// most recently received segment first (RFC 2018 section 4), then the others in ascending order.
    /// </summary>
    public int WriteSackBlocks(Span<SackBlock> blocks)
    {
        if (_count == 0 || blocks.Length == 0)
        {
            return 0;
        }
        int n = 0;
        // First: the run containing _latestStart.
        int runStart = 0;
        int latestRun = -1;
        for (int i = 0; i < _count; i++)
        {
            if (i > 0 && _entries[i].Start != _entries[i - 1].End)
            {
                runStart = i;
            }
            if (_entries[i].Start == _latestStart)
            {
                latestRun = runStart;
            }
        }
        if (latestRun >= 0)
        {
            blocks[n++] = RunAt(latestRun, out _);
        }
        for (int i = 0; i < _count && n < blocks.Length;)
        {
            SackBlock run = RunAt(i, out int next);
            if (i != latestRun && run.Right != run.Left)
            {
                blocks[n++] = run;
            }
            i = next;
        }
        return n;
    }

    private SackBlock RunAt(int i, out int next)
    {
        SeqNumber left = _entries[i].Start;
        SeqNumber right = _entries[i].End;
        int j = i + 1;
        while (j < _count && _entries[j].Start == right)
        {
            right = _entries[j].End;
            j++;
        }
        next = j;
        return new SackBlock(left, right);
    }

    /// <summary>Frees everything held.</summary>
    public void Clear()
    {
        for (int i = 0; i < _count; i++)
        {
            _entries[i].Buffer?.Free();
            _entries[i] = default;
        }
        _count = 0;
        Bytes = 0;
    }
}
