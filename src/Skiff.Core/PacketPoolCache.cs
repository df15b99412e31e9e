using System.Diagnostics.CodeAnalysis;

namespace Skiff;

/// <summary>
/// A private stack of free frames in front of a <see cref="PacketPool"/> (DPDK's per-lcore mempool
/// cache): allocations and frees hit the stack, and the stack refills from or spills to the pool's
/// shared free list in bulk, one ring operation per many frames.
/// </summary>
/// <remarks>
/// <para>Thread-safety: none. A cache has one owner thread (one per engine loop); frames it hands
/// out may be freed anywhere, to the pool or to another cache of the same pool.</para>
/// <para>Accounting: frames parked in a cache are free (<see cref="PacketPool.IsInUse"/> is false and
/// a second free of one throws) but are not in the pool's shared list, so <see cref="PacketPool.InUse"/>
/// counts them. Call <see cref="Flush"/> (or <see cref="Dispose"/>) when the owner stops; after every
/// cache is flushed, <c>pool.InUse == 0</c> means nothing leaked.</para>
/// <para>Sizing: the cache holds at most <see cref="Capacity"/> frames. When empty it refills to half
/// of that; when a free would overflow it spills down to half. Requests larger than the capacity go
/// straight to the pool.</para>
/// <para>Frames come out reset (empty, default headroom), as from the pool. No method allocates.</para>
/// </remarks>
public sealed class PacketPoolCache : IDisposable
{
    private readonly PacketPool _pool;
    private readonly PacketBuffer[] _stack;
    private readonly int _refillTarget;
    private int _count;

    /// <summary>Creates an empty cache in front of <paramref name="pool"/>.</summary>
    /// <param name="pool">The pool frames come from and go back to.</param>
    /// <param name="capacity">Most frames the cache holds: 2 or more (DPDK commonly uses 256; default 256). Frames parked here are unavailable to other threads.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is below 2.</exception>
    public PacketPoolCache(PacketPool pool, int capacity = 256)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _pool = pool;
        _stack = new PacketBuffer[capacity];
        _refillTarget = capacity / 2;
    }

    /// <summary>The pool behind the cache.</summary>
    public PacketPool Pool => _pool;

    /// <summary>Most frames the cache holds.</summary>
    public int Capacity => _stack.Length;

    /// <summary>Free frames parked in the cache now.</summary>
    public int Count => _count;

    /// <summary>Takes one frame, reset. False (and a failure counted on the pool) when the cache and the pool are both empty.</summary>
    public bool TryAllocate([NotNullWhen(true)] out PacketBuffer? buffer)
    {
        if (_count == 0 && Refill(1) == 0)
        {
            _pool.CountAllocationFailure();
            buffer = null;
            return false;
        }
        buffer = _stack[--_count];
        PacketPool.TakeOwnership(buffer);
        return true;
    }

    /// <summary>Fills as many leading entries of <paramref name="buffers"/> as there are free frames here and in the pool (Burst); returns the count. One failure is counted on the pool when short.</summary>
    public int AllocateBurst(Span<PacketBuffer> buffers)
    {
        if (buffers.Length > _stack.Length)
        {
            return _pool.AllocateBurst(buffers);
        }
        if (_count < buffers.Length)
        {
            Refill(buffers.Length);
        }
        int n = Math.Min(buffers.Length, _count);
        if (n < buffers.Length)
        {
            _pool.CountAllocationFailure();
        }
        Take(buffers[..n]);
        return n;
    }

    /// <summary>Fills all of <paramref name="buffers"/> or none, counting a failure on the pool (Bulk: all or nothing).</summary>
    public bool AllocateBulk(Span<PacketBuffer> buffers)
    {
        if (buffers.Length > _stack.Length)
        {
            return _pool.AllocateBulk(buffers);
        }
        if (_count < buffers.Length && Refill(buffers.Length) < buffers.Length)
        {
            _pool.CountAllocationFailure();
            return false;
        }
        Take(buffers);
        return true;
    }

    /// <summary>Parks a frame in the cache. Throws <see cref="InvalidOperationException"/> (changing nothing) if it is already free or belongs to another pool.</summary>
    public void Free(PacketBuffer buffer)
    {
        _pool.ReleaseOwnership(buffer);
        if (_count == _stack.Length)
        {
            Spill(_count - _refillTarget);
        }
        _stack[_count++] = buffer;
    }

    /// <summary>
    /// Parks every frame in <paramref name="buffers"/>. If one is already free or foreign it throws
    /// <see cref="InvalidOperationException"/> after taking the frames before it; the frames after it
    /// stay with the caller.
    /// </summary>
    public void FreeBurst(ReadOnlySpan<PacketBuffer> buffers)
    {
        if (buffers.Length > _stack.Length)
        {
            _pool.FreeBurst(buffers);
            return;
        }
        if (_count + buffers.Length > _stack.Length)
        {
            // Spill so that the burst fits and the cache is left about half full.
            Spill(Math.Min(_count, _count + buffers.Length - _refillTarget));
        }
        foreach (PacketBuffer b in buffers)
        {
            _pool.ReleaseOwnership(b);
            _stack[_count++] = b;
        }
    }

    /// <summary>Returns every parked frame to the pool's shared free list.</summary>
    public void Flush() => Spill(_count);

    /// <summary>Same as <see cref="Flush"/>; the cache stays usable.</summary>
    public void Dispose() => Flush();

    /// <summary>Pops frames for the caller, marking them owned and reset. Requires <c>_count &gt;= buffers.Length</c>.</summary>
    private void Take(Span<PacketBuffer> buffers)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            PacketBuffer b = _stack[--_count];
            PacketPool.TakeOwnership(b);
            buffers[i] = b;
        }
    }

    /// <summary>Tops the stack up from the pool to hold at least <paramref name="needed"/> (aiming for half full plus the request); returns the new count.</summary>
    private int Refill(int needed)
    {
        int want = Math.Min(_stack.Length, Math.Max(needed, _refillTarget + needed)) - _count;
        if (want > 0 && !_pool.IsDisposed)
        {
            _count += _pool.FreeList.DequeueBurst(_stack.AsSpan(_count, want));
        }
        return _count;
    }

    /// <summary>Moves the top <paramref name="n"/> parked frames to the pool's shared list in one bulk operation.</summary>
    private void Spill(int n)
    {
        if (n <= 0)
        {
            return;
        }
        if (!_pool.FreeList.EnqueueBulk(_stack.AsSpan(_count - n, n)))
        {
            throw new InvalidOperationException("The pool's free list overflowed: a frame was freed without passing the double-free check.");
        }
        _count -= n;
        _pool.AfterReturn();
    }
}
