using Skiff.Wire;

namespace Skiff.Stack.Tcp.Internal;

/// <summary>
/// What a connection in TIME-WAIT still needs once its socket is gone (Linux's inet_timewait_sock): enough to
/// acknowledge a retransmitted FIN, to apply PAWS, to answer stray segments as RFC 9293 3.10.7.4 says, and to tell
/// a new incarnation's SYN apart (RFC 6191). About a tenth of a cache-cold socket, so the socket goes back to the
/// pool, still warm, the moment its connection enters TIME-WAIT.
/// </summary>
internal struct TimeWaitRecord
{
    public TcpTuple Tuple;
    /// <summary>Our next sequence number (one past our FIN): SND.UNA and SND.MAX alike, everything is acknowledged.</summary>
    public SeqNumber SndNxt;
    /// <summary>One past the peer's FIN.</summary>
    public SeqNumber RcvNxt;
    /// <summary>The receive window last advertised, in bytes (segment acceptability).</summary>
    public int RcvWindow;
    /// <summary>The largest window the peer offered (RFC 5961 5.2 ACK range).</summary>
    public int MaxSndWnd;
    /// <summary>The window field of the ACKs we send: what the socket last advertised.</summary>
    public ushort WindowField;
    public bool TsOk;
    public uint TsRecent;
    public uint TsOffset;
    public Instant Deadline;
    /// <summary>The connection's TIME-WAIT length (a retransmitted FIN restarts it).</summary>
    public Duration Length;
    /// <summary>At most one challenge ACK per this interval (the connection's ChallengeAcksPerSecond).</summary>
    public Duration ChallengeInterval;
    /// <summary>The earliest instant the next challenge ACK may go out.</summary>
    public Instant NextChallengeAck;
    /// <summary>The socket the application still holds for this connection (slot and generation), or -1.</summary>
    public int OwnerSlot;
    public int OwnerGeneration;
    internal int Previous;
    internal int Next;

    /// <summary>Our TSval at <paramref name="now"/>, on the connection's clock (RFC 7323 5.4).</summary>
    public readonly uint TsNow(Instant now) => unchecked((uint)(now.TotalMicros / 1000) + TsOffset);

    /// <summary>The ACK this connection sends from TIME-WAIT: SEQ=SND.NXT, ACK=RCV.NXT, its last window, and timestamps when in use.</summary>
    public readonly TcpRepr Ack(Instant now)
    {
        TcpRepr repr = new()
        {
            SourcePort = Tuple.LocalPort,
            DestinationPort = Tuple.RemotePort,
            SequenceNumber = SndNxt.Value,
            AcknowledgmentNumber = RcvNxt.Value,
            Flags = TcpFlags.Ack,
            WindowLength = WindowField,
        };
        return TsOk ? repr with { Timestamp = new TcpTimestamp(TsNow(now), TsRecent) } : repr;
    }

    /// <summary>True when a SYN may start a new incarnation (RFC 6191): a newer timestamp, or without timestamps a sequence above RCV.NXT.</summary>
    public readonly bool AcceptsNewIncarnation(in TcpRepr syn) =>
        TsOk && syn.Timestamp is TcpTimestamp ts ? (int)(ts.Value - TsRecent) > 0 : new SeqNumber(syn.SequenceNumber) > RcvNxt;
}

/// <summary>
/// A fixed pool of <see cref="TimeWaitRecord"/>s kept in a FIFO, oldest first: expiry and the MaxTimeWait bound
/// both take the head, and a record leaves from anywhere in O(1) (a reused 4-tuple, a restarted timer). Allocated
/// once; not thread-safe.
/// </summary>
internal sealed class TimeWaitRecords
{
    private readonly TimeWaitRecord[] _records;
    private readonly int[] _free;
    private int _freeCount;
    private int _head = -1;
    private int _tail = -1;

    public TimeWaitRecords(int capacity)
    {
        _records = new TimeWaitRecord[capacity];
        _free = new int[capacity];
        for (int i = 0; i < capacity; i++)
        {
            _free[i] = capacity - 1 - i;
        }
        _freeCount = capacity;
    }

    public int Capacity => _records.Length;

    public int Count => _records.Length - _freeCount;

    /// <summary>The oldest record, or -1.</summary>
    public int Oldest => _head;

    public ref TimeWaitRecord this[int index] => ref _records[index];

    /// <summary>Takes a free record and puts it last in the FIFO; false when all are taken.</summary>
    public bool TryTake(out int index)
    {
        if (_freeCount == 0)
        {
            index = -1;
            return false;
        }
        index = _free[--_freeCount];
        Append(index);
        return true;
    }

    /// <summary>Returns a record to the pool.</summary>
    public void Return(int index)
    {
        Unlink(index);
        _records[index] = default;
        _free[_freeCount++] = index;
    }

    /// <summary>Puts a record last (its deadline moved to the latest).</summary>
    public void MoveToBack(int index)
    {
        Unlink(index);
        Append(index);
    }

    private void Append(int index)
    {
        ref TimeWaitRecord r = ref _records[index];
        r.Previous = _tail;
        r.Next = -1;
        if (_tail >= 0)
        {
            _records[_tail].Next = index;
        }
        else
        {
            _head = index;
        }
        _tail = index;
    }

    private void Unlink(int index)
    {
        ref TimeWaitRecord r = ref _records[index];
        if (r.Previous >= 0)
        {
            _records[r.Previous].Next = r.Next;
        }
        else
        {
            _head = r.Next;
        }
        if (r.Next >= 0)
        {
            _records[r.Next].Previous = r.Previous;
        }
        else
        {
            _tail = r.Previous;
        }
    }
}
