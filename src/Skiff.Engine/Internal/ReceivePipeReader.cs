using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Tasks.Sources;

namespace Skiff.Engine.Internal;

/// <summary>
/// A connection's input as a <see cref="PipeReader"/> whose <see cref="ReadResult.Buffer"/> is a
/// <see cref="ReadOnlySequence{T}"/> over the packet buffers the payload arrived in: zero-copy receive. The loop
/// pushes whole buffers taken from the TCP receive queue; the application reads them in place, and
/// <see cref="AdvanceTo(SequencePosition, SequencePosition)"/> frees every buffer it has fully consumed back to
/// its pool, from the application's thread (the pool's free list is multi-producer).
/// </summary>
/// <remarks>
/// <para>Threading: one loop thread (the writer side: <see cref="TryPush"/>, <see cref="Publish"/>,
/// <see cref="CompleteWriter"/>, <see cref="Reclaim"/>) and one application reader at a time, meeting under a
/// lock held only for list updates, as System.IO.Pipelines' own Pipe does. A pending read is a reusable
/// <see cref="IValueTaskSource{TResult}"/>; its continuation runs on the thread pool, never on the loop.</para>
/// <para>Back-pressure: the loop stops pushing once the unconsumed bytes reach the pause threshold, and resumes
/// when the reader brings them under half, as Pipe's pause and resume thresholds do.</para>
/// <para>Pool pressure: frames are what the device receives into, and a peer sending tiny segments to an
/// application that does not read could pin many of them under a byte threshold. So when the pool runs low the
/// loop copies payloads into rented arrays and frees the frames at once (as the kernel collapses sk_buffs under
/// memory pressure): readers that do not read cannot starve the device of frames.</para>
/// <para>Completion follows Pipe: after the writer completes cleanly the remaining data is read, then
/// <see cref="ReadResult.IsCompleted"/>; after it completes with an error, the next read throws it and the
/// buffered data is dropped.</para>
/// </remarks>
internal sealed class ReceivePipeReader : PipeReader, IValueTaskSource<ReadResult>
{
    private static readonly Action<object?> s_onTokenCancelled = static state => ((ReceivePipeReader)state!).OnTokenCancelled();

    private readonly Lock _lock = new();
    private readonly Action _resumeWriter;
    private readonly long _pauseBytes;
    private ManualResetValueTaskSourceCore<ReadResult> _read = new() { RunContinuationsAsynchronously = true };
    private ReceiveSegment? _head;
    private ReceiveSegment? _tail;
    private ReceiveSegment? _spare;   // recycled segments (a short free list)
    private int _headOffset;          // bytes of _head already consumed
    private long _end;                // running index just past the last byte pushed
    private long _examined;           // running index up to which the reader has looked
    private long _held;               // unconsumed bytes
    private bool _writerPaused;
    private bool _writerCompleted;
    private Exception? _writerError;
    private bool _readerCompleted;
    private bool _resultOutstanding;  // between a read's result and AdvanceTo
    private bool _readWaiting;        // a ReadAsync is parked in _read
    private bool _cancelNextRead;
    private bool _reclaimed;
    private CancellationToken _readToken;
    private CancellationTokenRegistration _readRegistration;

    /// <param name="pauseBytes">Unconsumed bytes at which the loop stops pushing.</param>
    /// <param name="resumeWriter">Reschedules the loop's side: the reader made room, or completed.</param>
    public ReceivePipeReader(long pauseBytes, Action resumeWriter)
    {
        _pauseBytes = pauseBytes;
        _resumeWriter = resumeWriter;
    }

    // The two flags the loop looks at on every visit are read without the lock: they are written under it, and a
    // stale value only costs a wasted visit (a refused push, or a paused loop the resume callback reschedules).

    /// <summary>Loop side: true once the reader completed; pushed data is then unwanted.</summary>
    public bool IsReaderCompleted => Volatile.Read(ref _readerCompleted);

    /// <summary>Loop side: true from a publish that asked to pause until the reader has freed half the threshold.</summary>
    public bool IsWriterPaused => Volatile.Read(ref _writerPaused);

    /// <summary>Loop side: unconsumed bytes.</summary>
    public long HeldBytes
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>
    /// Loop side: appends <paramref name="buffer"/>'s data (ownership moves here), or, when <paramref name="copy"/>,
    /// a copy of it in a rented array (the caller then still frees the buffer). False when the reader has completed:
    /// the caller keeps (frees) the buffer. <paramref name="full"/> says the pause threshold is reached.
    /// </summary>
    public bool TryPush(PacketBuffer buffer, bool copy, out bool full)
    {
        lock (_lock)
        {
            if (_readerCompleted || _writerCompleted)
            {
                full = false;
                return false;
            }
            AppendLocked(buffer, copy);
            full = _held >= _pauseBytes;
            return true;
        }
    }

    /// <summary>
    /// Loop side: <see cref="TryPush"/> for a burst and <see cref="Publish"/> after it, under one lock. Returns how
    /// many of the first buffers it took (all, or 0 when the reader has completed: the caller frees them), and in
    /// <paramref name="pause"/> whether the loop should pause.
    /// </summary>
    public int PushBurst(ReadOnlySpan<PacketBuffer> buffers, bool copy, out bool pause)
    {
        ReadResult result = default;
        bool complete = false;
        lock (_lock)
        {
            if (_readerCompleted || _writerCompleted)
            {
                pause = false;
                return 0;
            }
            foreach (PacketBuffer buffer in buffers)
            {
                AppendLocked(buffer, copy);
            }
            pause = PublishLocked(ref result, ref complete);
        }
        if (complete)
        {
            _read.SetResult(result);
        }
        return buffers.Length;
    }

    private void AppendLocked(PacketBuffer buffer, bool copy)
    {
        ReceiveSegment segment = _spare ?? new ReceiveSegment();
        _spare = segment.NextSpare;
        segment.NextSpare = null;
        if (copy)
        {
            segment.SetCopy(buffer.Data, _end);
        }
        else
        {
            segment.SetBuffer(buffer, _end);
        }
        if (_tail is null)
        {
            _head = segment;
            _headOffset = 0;
        }
        else
        {
            _tail.SetNext(segment);
        }
        _tail = segment;
        _end += segment.Memory.Length;
        _held += segment.Memory.Length;
    }

    /// <summary>
    /// Loop side, after pushing: wakes a waiting read. Returns true when the reader holds enough that the loop
    /// should pause; the reader's progress then reschedules it (once, through the resume callback).
    /// </summary>
    public bool Publish()
    {
        bool pause;
        ReadResult result = default;
        bool complete = false;
        lock (_lock)
        {
            pause = PublishLocked(ref result, ref complete);
        }
        if (complete)
        {
            _read.SetResult(result);
        }
        return pause;
    }

    /// <summary>Takes the result for a waiting read (completed by the caller, outside the lock) and decides the pause.</summary>
    private bool PublishLocked(ref ReadResult result, ref bool complete)
    {
        if (_readWaiting && _writerError is null && (_end > _examined || _writerCompleted))
        {
            result = TakeResultLocked();
            complete = true;
        }
        bool pause = _held >= _pauseBytes && !_readerCompleted;
        Volatile.Write(ref _writerPaused, pause);
        return pause;
    }

    /// <summary>Loop side: no more data (end of stream, or <paramref name="error"/>). Wakes a waiting read.</summary>
    public void CompleteWriter(Exception? error)
    {
        ReadResult result = default;
        bool complete = false;
        Exception? fail = null;
        lock (_lock)
        {
            if (_writerCompleted)
            {
                return;
            }
            _writerCompleted = true;
            _writerError = error;
            if (_readWaiting)
            {
                if (error is null)
                {
                    result = TakeResultLocked();
                    complete = true;
                }
                else
                {
                    EndWaitLocked();
                    ReleaseAllLocked();
                    fail = error;
                }
            }
        }
        if (complete)
        {
            _read.SetResult(result);
        }
        else if (fail is not null)
        {
            _read.SetException(fail);
        }
    }

    /// <summary>
    /// Loop side, when the connection dies with <paramref name="error"/> (aborted, reset, the engine stopping): the
    /// data can no longer be read (the next read throws <paramref name="error"/>, even after a clean end of stream),
    /// and every buffer returns to its pool: now if the application holds no read result, else at its
    /// <see cref="AdvanceTo(SequencePosition, SequencePosition)"/>.
    /// </summary>
    public void Reclaim(Exception error)
    {
        bool fail = false;
        lock (_lock)
        {
            _writerCompleted = true;
            _writerError = error;
            _reclaimed = true;
            if (_readWaiting)
            {
                EndWaitLocked();
                fail = true;
            }
            if (!_resultOutstanding)
            {
                ReleaseAllLocked();
            }
        }
        if (fail)
        {
            _read.SetException(error);
        }
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (_lock)
        {
            ThrowIfCannotReadLocked();
            if (HasResultLocked())
            {
                result = TakeResultLocked();
                return true;
            }
        }
        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            ThrowIfCannotReadLocked();
            if (HasResultLocked())
            {
                return new ValueTask<ReadResult>(TakeResultLocked());
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<ReadResult>(cancellationToken);
            }
            _read.Reset();
            _readWaiting = true;
            _readToken = cancellationToken;
            if (cancellationToken.CanBeCanceled)
            {
                _readRegistration = cancellationToken.UnsafeRegister(s_onTokenCancelled, this);
            }
            return new ValueTask<ReadResult>(this, _read.Version);
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        bool resume = false;
        lock (_lock)
        {
            if (!_resultOutstanding)
            {
                throw new InvalidOperationException("AdvanceTo was called with no read result outstanding; call ReadAsync first.");
            }
            long start = _head is null ? _end : _head.RunningIndex + _headOffset;
            long consumedAt = Absolute(consumed, start);
            long examinedAt = Absolute(examined, start);
            if (consumedAt < start || consumedAt > _end || examinedAt < consumedAt || examinedAt > _end)
            {
                throw new ArgumentOutOfRangeException(nameof(consumed), "The positions passed to AdvanceTo are not within the last read's buffer, or consumed lies past examined.");
            }
            _resultOutstanding = false;
            _held = _end - consumedAt;
            while (_head is not null && _head.RunningIndex + _head.Memory.Length <= consumedAt)
            {
                ReceiveSegment done = _head;
                _head = done.NextSegment;
                Recycle(done);
            }
            if (_head is null)
            {
                _tail = null;
                _headOffset = 0;
            }
            else
            {
                _headOffset = (int)(consumedAt - _head.RunningIndex);
            }
            _examined = Math.Max(_examined, examinedAt);
            if (_reclaimed)
            {
                ReleaseAllLocked();
            }
            if (_writerPaused && _held < _pauseBytes / 2)
            {
                Volatile.Write(ref _writerPaused, false);
                resume = true;
            }
        }
        if (resume)
        {
            _resumeWriter();
        }
    }

    public override void CancelPendingRead()
    {
        ReadResult result = default;
        bool complete = false;
        lock (_lock)
        {
            if (_readWaiting)
            {
                EndWaitLocked();
                _resultOutstanding = true;
                result = new ReadResult(BufferLocked(), isCanceled: true, isCompleted: false);
                complete = true;
            }
            else
            {
                _cancelNextRead = true;
            }
        }
        if (complete)
        {
            _read.SetResult(result);
        }
    }

    public override void Complete(Exception? exception = null)
    {
        lock (_lock)
        {
            if (_readerCompleted)
            {
                return;
            }
            Volatile.Write(ref _readerCompleted, true);
            _resultOutstanding = false;
            ReleaseAllLocked();
        }
        _resumeWriter(); // the loop stops moving data here and discards what arrives
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    private void OnTokenCancelled()
    {
        CancellationToken token;
        lock (_lock)
        {
            if (!_readWaiting)
            {
                return;
            }
            token = _readToken;
            EndWaitLocked();
        }
        _read.SetException(new OperationCanceledException("The read was cancelled.", token));
    }

    private void ThrowIfCannotReadLocked()
    {
        if (_readerCompleted)
        {
            throw new InvalidOperationException("Reading is not allowed after the reader was completed.");
        }
        if (_resultOutstanding || _readWaiting)
        {
            throw new InvalidOperationException("A read is already in progress; call AdvanceTo on its result before reading again.");
        }
    }

    private bool HasResultLocked() => _cancelNextRead || _writerCompleted || _end > _examined;

    /// <summary>The result of a read that can complete now; throws the writer's error (dropping the data) like Pipe. The loop calls it only when there is no error.</summary>
    private ReadResult TakeResultLocked()
    {
        if (_readWaiting)
        {
            EndWaitLocked();
        }
        if (_writerError is not null)
        {
            ReleaseAllLocked();
            throw _writerError;
        }
        bool cancelled = _cancelNextRead;
        _cancelNextRead = false;
        _resultOutstanding = true;
        return new ReadResult(BufferLocked(), cancelled, _writerCompleted && !cancelled);
    }

    private void EndWaitLocked()
    {
        _readWaiting = false;
        _readRegistration.Unregister(); // not Dispose: that would wait for a callback running on another thread
        _readRegistration = default;
        _readToken = default;
    }

    private ReadOnlySequence<byte> BufferLocked() =>
        _head is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head, _headOffset, _tail!, _tail!.Memory.Length);

    /// <summary>The running index of <paramref name="position"/>; positions of an empty result mean <paramref name="start"/>.</summary>
    private static long Absolute(SequencePosition position, long start) =>
        position.GetObject() is ReceiveSegment segment ? segment.RunningIndex + position.GetInteger() : start;

    private void ReleaseAllLocked()
    {
        while (_head is not null)
        {
            ReceiveSegment done = _head;
            _head = done.NextSegment;
            Recycle(done);
        }
        _tail = null;
        _headOffset = 0;
        _held = 0;
        _examined = _end;
    }

    private void Recycle(ReceiveSegment segment)
    {
        segment.Release();
        segment.NextSpare = _spare;
        _spare = segment;
    }
}

/// <summary>One buffer of a <see cref="ReceivePipeReader"/>: a packet buffer's payload, or a copy of it in a rented array.</summary>
internal sealed class ReceiveSegment : ReadOnlySequenceSegment<byte>
{
    private PacketBuffer? _buffer;
    private byte[]? _array;

    /// <summary>Link in the reader's free list of segments.</summary>
    public ReceiveSegment? NextSpare;

    public ReceiveSegment? NextSegment => (ReceiveSegment?)Next;

    public void SetBuffer(PacketBuffer buffer, long runningIndex)
    {
        _buffer = buffer;
        Memory = buffer.DataMemory;
        RunningIndex = runningIndex;
        Next = null;
    }

    public void SetCopy(ReadOnlySpan<byte> data, long runningIndex)
    {
        _array = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(_array);
        Memory = _array.AsMemory(0, data.Length);
        RunningIndex = runningIndex;
        Next = null;
    }

    public void SetNext(ReceiveSegment next) => Next = next;

    /// <summary>Returns the frame to its pool or the array to the shared pool.</summary>
    public void Release()
    {
        _buffer?.Free();
        _buffer = null;
        if (_array is not null)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = null;
        }
        Memory = default;
        Next = null;
    }
}
