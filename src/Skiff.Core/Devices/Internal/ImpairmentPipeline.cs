namespace Skiff.Devices.Internal;

/// <summary>
/// The impairment state of one direction of an <see cref="ImpairedDevice"/>: random streams, reorder hold,
/// delay queue and token bucket. Frames enter with <see cref="Admit"/> (which takes ownership) and leave with
/// <see cref="TryTakeReady"/>. Everything is allocated in the constructor; the per-frame path never allocates.
/// Not thread-safe.
/// </summary>
internal sealed class ImpairmentPipeline
{
    private readonly ImpairmentOptions _options;
    private readonly TimedFrameQueue _queue;
    private readonly ReorderHold _hold;
    private readonly long _delayMicros;
    private readonly long _jitterMicros;
    private readonly long _reorderMaxHoldMicros; // long.MaxValue: no limit
    private Xoshiro256StarStar _lossRandom;
    private Xoshiro256StarStar _duplicateRandom;
    private Xoshiro256StarStar _corruptRandom;
    private Xoshiro256StarStar _reorderRandom;
    private Xoshiro256StarStar _jitterRandom;
    private TokenBucket _bucket;
    private long _passedReorderStage; // frames that went through the reorder stage without being held
    private long _lastDueMicros = long.MinValue;

    /// <param name="options">Validated settings.</param>
    /// <param name="streamTag">Distinguishes the directions' random streams (0 transmit, 1 receive).</param>
    /// <param name="defaultBurstBytes">Bucket depth used when the options leave it at 0.</param>
    public ImpairmentPipeline(ImpairmentOptions options, ulong streamTag, int defaultBurstBytes)
    {
        _options = options;
        _queue = new TimedFrameQueue(options.QueueLimitFrames);
        _hold = new ReorderHold(options.QueueLimitFrames);
        _delayMicros = options.Delay.TotalMicros;
        _jitterMicros = options.Jitter.TotalMicros;
        _reorderMaxHoldMicros = options.ReorderMaxHold.TotalMicros;
        _lossRandom = NewStream(options.Seed, streamTag, 0);
        _duplicateRandom = NewStream(options.Seed, streamTag, 1);
        _corruptRandom = NewStream(options.Seed, streamTag, 2);
        _reorderRandom = NewStream(options.Seed, streamTag, 3);
        _jitterRandom = NewStream(options.Seed, streamTag, 4);
        _bucket = new TokenBucket(options.RateBytesPerSecond, options.RateBurstBytes > 0 ? options.RateBurstBytes : defaultBurstBytes);
    }

    public ImpairmentCounters Counters { get; } = new();

    /// <summary>Frames held now (delay queue plus reorder hold).</summary>
    public int HeldFrames => _queue.Count + _hold.Count;

    /// <summary>True when the delay queue and reorder hold together hold <see cref="ImpairmentOptions.QueueLimitFrames"/> frames.</summary>
    public bool IsFull => HeldFrames >= _options.QueueLimitFrames;

    /// <summary>Takes ownership of <paramref name="frame"/> and runs it through loss, duplication, corruption,
    /// reordering and the delay queue.</summary>
    public void Admit(PacketBuffer frame, Instant now)
    {
        if (_lossRandom.NextChance(_options.LossProbability))
        {
            Counters.Lost++;
            frame.Free();
            return;
        }

        PacketBuffer? copy = null;
        if (_duplicateRandom.NextChance(_options.DuplicateProbability))
        {
            if (frame.Pool.TryAllocate(out PacketBuffer? fresh))
            {
                if (frame.TryCopyTo(fresh))
                {
                    copy = fresh;
                    Counters.Duplicated++;
                }
                else
                {
                    // Same pool, so the data always fits; kept for safety rather than throwing on the data path.
                    fresh.Free();
                    Counters.DuplicateSkippedNoBuffer++;
                }
            }
            else
            {
                Counters.DuplicateSkippedNoBuffer++;
            }
        }

        AdmitAfterDuplication(frame, now.TotalMicros);
        if (copy is not null)
        {
            AdmitAfterDuplication(copy, now.TotalMicros);
        }
    }

    /// <summary>Moves frames held for reordering longer than <see cref="ImpairmentOptions.ReorderMaxHold"/> into the delay queue.</summary>
    public void ReleaseExpiredHolds(Instant now)
    {
        long nowMicros = now.TotalMicros;
        while (_hold.Count > 0 && _reorderMaxHoldMicros != long.MaxValue
            && nowMicros - _hold.Peek().HeldAtMicros >= _reorderMaxHoldMicros)
        {
            ReleaseHeld(nowMicros);
        }
    }

    /// <summary>Takes the next frame if it is due at <paramref name="now"/> and the rate allows it; ownership
    /// passes to the caller, who must hand the frame on or <see cref="PutBack"/> the entry.</summary>
    public bool TryTakeReady(Instant now, out TimedFrame entry)
    {
        if (_queue.Count > 0)
        {
            ref readonly TimedFrame head = ref _queue.Peek();
            if (head.DueMicros <= now.TotalMicros && _bucket.TryConsume(head.Frame.Length, now.TotalMicros))
            {
                entry = _queue.Dequeue();
                return true;
            }
        }
        entry = default;
        return false;
    }

    /// <summary>Returns an entry from <see cref="TryTakeReady"/> that could not be handed on (its place and tokens are restored).</summary>
    public void PutBack(in TimedFrame entry)
    {
        _bucket.Refund(entry.Frame.Length);
        _queue.Requeue(entry);
    }

    /// <summary>Counts <paramref name="count"/> frames handed on.</summary>
    public void CountPassed(int count) => Counters.Passed += count;

    /// <summary>When this direction next has something to do: the head frame's due time (later if the rate
    /// holds it back) or a reorder hold's expiry; <see cref="Instant.Never"/> when nothing is held.</summary>
    public Instant PollAt()
    {
        long at = long.MaxValue;
        if (_queue.Count > 0)
        {
            ref readonly TimedFrame head = ref _queue.Peek();
            at = Math.Max(head.DueMicros, _bucket.ReadyAtMicros(head.Frame.Length));
        }
        if (_hold.Count > 0 && _reorderMaxHoldMicros != long.MaxValue)
        {
            long heldAt = _hold.Peek().HeldAtMicros;
            long expiry = heldAt > long.MaxValue - _reorderMaxHoldMicros ? long.MaxValue : heldAt + _reorderMaxHoldMicros;
            at = Math.Min(at, expiry);
        }
        return new Instant(at);
    }

    /// <summary>Frees every held frame.</summary>
    public void FreeAll()
    {
        _hold.FreeAll();
        _queue.FreeAll();
    }

    private static Xoshiro256StarStar NewStream(ulong seed, ulong direction, ulong stage)
    {
        // Mix seed and stream tag through SplitMix64 so neighbouring seeds and tags give unrelated streams.
        ulong mix = seed ^ ((direction * 8) + stage + 1) * 0xD1B54A32D192ED03UL;
        return new Xoshiro256StarStar(Xoshiro256StarStar.SplitMix64(ref mix));
    }

    private bool IsCorruptible(PacketBuffer frame)
    {
        ushort only = _options.CorruptOnlyEtherType;
        if (only == 0)
        {
            return true;
        }
        ReadOnlySpan<byte> data = frame.Data;
        return data.Length >= 14 && ((data[12] << 8) | data[13]) == only;
    }

    private void AdmitAfterDuplication(PacketBuffer frame, long nowMicros)
    {
        int skip = _options.CorruptSkipBytes;
        if (_corruptRandom.NextChance(_options.CorruptProbability) && frame.Length > skip && IsCorruptible(frame))
        {
            ulong bit = _corruptRandom.NextBelow((ulong)(frame.Length - skip) * 8);
            frame.Data[skip + (int)(bit >> 3)] ^= (byte)(1 << (int)(bit & 7));
            // Whatever a device verified no longer holds: make the stack check.
            frame.Checksum = ChecksumState.None;
            Counters.Corrupted++;
        }

        if (_reorderRandom.NextChance(_options.ReorderProbability) && !IsFull)
        {
            _hold.Push(frame, _passedReorderStage, nowMicros);
            return;
        }

        Enqueue(frame, nowMicros);
        _passedReorderStage++;
        while (_hold.Count > 0 && _passedReorderStage - _hold.Peek().PassedAtHold >= _options.ReorderGapFrames)
        {
            ReleaseHeld(nowMicros);
        }
    }

    private void ReleaseHeld(long nowMicros)
    {
        ReorderHold.Entry held = _hold.Pop();
        if (_passedReorderStage > held.PassedAtHold)
        {
            Counters.Reordered++;
        }
        // The held frame's delay starts now, so it queues behind the frames that overtook it.
        Enqueue(held.Frame, nowMicros);
    }

    private void Enqueue(PacketBuffer frame, long nowMicros)
    {
        long due = nowMicros + _delayMicros;
        if (_jitterMicros > 0)
        {
            due += (long)_jitterRandom.NextBelow(((ulong)_jitterMicros * 2) + 1) - _jitterMicros;
            due = Math.Max(due, nowMicros);
        }
        if (_options.JitterKeepsOrder)
        {
            due = Math.Max(due, _lastDueMicros);
        }

        // Held frames (reorder) and queued frames share the limit; a frame just popped from the hold always fits.
        if (_queue.Count + _hold.Count >= _options.QueueLimitFrames || !_queue.TryEnqueue(frame, due))
        {
            Counters.DroppedQueueFull++;
            frame.Free();
            return;
        }
        _lastDueMicros = due;
        if (due > nowMicros)
        {
            Counters.Delayed++;
        }
    }
}
