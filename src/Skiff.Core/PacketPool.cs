using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.InteropServices;
using Skiff.Rings;

namespace Skiff;

/// <summary>
/// A slab of pinned, page-aligned native memory cut into fixed-size frames with headroom (DPDK's
/// mempool of mbufs; AF_XDP registers the same slab as its UMEM). Allocation and free never allocate
/// managed memory.
/// </summary>
/// <remarks>
/// <para>Thread-safety: <see cref="TryAllocate"/>, <see cref="Free"/> and the burst forms may be called from
/// any thread. The free frames sit in a lock-free <see cref="MpmcRing{T}"/> (DPDK's mempool ring); a thread
/// that allocates and frees a lot puts a <see cref="PacketPoolCache"/> in front of it.</para>
/// <para>The pool detects a frame returned twice (it throws <see cref="InvalidOperationException"/>:
/// that is a bug in the caller, not bad input) and counts frames in use, so a leak shows in tests.</para>
/// <para>Frames are handed out in FIFO order from the shared free list; a <see cref="PacketPoolCache"/>
/// reuses its most recently freed (cache-warm) frames first.</para>
/// <para>Disposing the pool while frames are in use is allowed and safe: allocation stops at once, and the slab is
/// freed when the last outstanding frame comes back (an application may still hold received data, e.g. a pipe read
/// result, after its stack stopped). Frames parked in a <see cref="PacketPoolCache"/> count as outstanding until the
/// cache is flushed.</para>
/// </remarks>
public sealed unsafe class PacketPool : IDisposable
{
    private readonly PacketBuffer[] _buffers;
    // The global free list. Frames stay rooted by _buffers, so dequeued slots need not be cleared.
    private readonly MpmcRing<PacketBuffer> _free;
    private byte* _slab;
    private NativeMemoryManager? _slabMemory;
    private NativeMemoryManager?[]? _frameMemory;
    private long _allocationFailures;
    private int _disposeState; // 0 live, 1 disposed with frames still out (slab kept), 2 slab freed

    /// <summary>Allocates and zeroes a page-aligned slab of <paramref name="frameCount"/> × <paramref name="frameBytes"/> bytes.</summary>
    /// <param name="frameCount">Number of frames; at least 1.</param>
    /// <param name="frameBytes">Size of one frame slot: a power of two from 512 to 65536. Default 2048.</param>
    /// <param name="headroomBytes">Space in front of the data for headers to be prepended, leaving at least 64 bytes of the frame. Default 256 (XDP_PACKET_HEADROOM).</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of the ranges above; the message says which and why.</exception>
    public PacketPool(int frameCount, int frameBytes = 2048, int headroomBytes = 256)
        : this(new PacketPoolOptions { FrameCount = frameCount, FrameBytes = frameBytes, HeadroomBytes = headroomBytes })
    {
    }

    /// <summary>Allocates and zeroes a slab cut as <paramref name="options"/> say.</summary>
    /// <param name="options">Frame count, frame size, headroom and alignment; see <see cref="PacketPoolOptions"/> for the ranges.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No frames, a frame size that is not a power of two from 512 to 65536, or headroom that leaves less than 64 bytes of a frame; the message says which.</exception>
    public PacketPool(PacketPoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.FrameCount <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "A packet pool needs at least one frame.");
        }
        if (options.FrameBytes < 512 || options.FrameBytes > 65536 || !int.IsPow2(options.FrameBytes))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Frame size {options.FrameBytes} must be a power of two from 512 to 65536.");
        }
        if (options.HeadroomBytes < 0 || options.HeadroomBytes > options.FrameBytes - 64)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"Headroom {options.HeadroomBytes} must leave at least 64 bytes of a {options.FrameBytes}-byte frame.");
        }

        FrameCount = options.FrameCount;
        FrameBytes = options.FrameBytes;
        HeadroomBytes = options.HeadroomBytes;
        SlabBytes = (long)FrameCount * FrameBytes;
        _slab = (byte*)NativeMemory.AlignedAlloc((nuint)SlabBytes, (nuint)options.AlignmentBytes);
        NativeMemory.Clear(_slab, (nuint)SlabBytes);

        _buffers = new PacketBuffer[FrameCount];
        // Rounded up to a power of two, so every frame always fits and a free never finds it full.
        _free = new MpmcRing<PacketBuffer>((int)BitOperations.RoundUpToPowerOf2((uint)FrameCount), 0, clearSlots: false);
        for (int i = 0; i < FrameCount; i++)
        {
            _buffers[i] = new PacketBuffer(this, i, _slab + (long)i * FrameBytes);
        }
        // Low indices first: they are handed out first.
        _free.EnqueueBulk(_buffers);
    }

    /// <summary>Number of frames in the pool, fixed at construction.</summary>
    public int FrameCount { get; }

    /// <summary>Size of one frame slot in bytes (a power of two, 512 to 65536): headroom plus the largest frame it holds.</summary>
    public int FrameBytes { get; }

    /// <summary>Bytes kept free in front of the data of a freshly allocated or received frame, for headers to be prepended.</summary>
    public int HeadroomBytes { get; }

    /// <summary>Size of the slab in bytes (FrameCount × FrameBytes).</summary>
    public long SlabBytes { get; }

    /// <summary>Start of the slab; for registering it with the kernel (AF_XDP UMEM). Valid until the pool is disposed.</summary>
    public byte* DangerousSlabPointer => _slab;

    /// <summary>
    /// Frames not in the pool's shared free list: those owned by callers plus those parked in a
    /// <see cref="PacketPoolCache"/>. After every cache is flushed, 0 means nothing leaked. Exact when
    /// no thread is allocating or freeing, otherwise a snapshot. Any thread.
    /// </summary>
    public int InUse => FrameCount - _free.Count;

    /// <summary>Frames in the shared free list (not counting those parked in caches). A snapshot under concurrency.</summary>
    public int Available => _free.Count;

    /// <summary>Allocation requests refused because the pool (or a cache and the pool behind it) had too few frames.</summary>
    public long AllocationFailures => Interlocked.Read(ref _allocationFailures);

    /// <summary>The shared free list, for <see cref="PacketPoolCache"/>. Holds only frames whose state is free.</summary>
    internal MpmcRing<PacketBuffer> FreeList => _free;

    /// <summary>The buffer object of frame <paramref name="index"/> (for drivers that learn a frame by its UMEM address). Does not change ownership.</summary>
    public PacketBuffer GetFrame(int index) => _buffers[index];

    /// <summary>Takes one frame, reset to empty with default headroom. False (and a failure counted) when the pool is empty. Any thread.</summary>
    public bool TryAllocate([NotNullWhen(true)] out PacketBuffer? buffer)
    {
        if (IsDisposed || !_free.TryDequeue(out buffer))
        {
            CountAllocationFailure();
            buffer = null;
            return false;
        }
        TakeOwnership(buffer);
        return true;
    }

    /// <summary>
    /// Fills as many leading entries of <paramref name="buffers"/> as there are free frames (Burst);
    /// returns the count. One failure is counted when it fills fewer than asked. Any thread.
    /// </summary>
    public int AllocateBurst(Span<PacketBuffer> buffers)
    {
        int n = IsDisposed ? 0 : _free.DequeueBurst(buffers);
        if (n < buffers.Length)
        {
            CountAllocationFailure();
        }
        for (int i = 0; i < n; i++)
        {
            TakeOwnership(buffers[i]);
        }
        return n;
    }

    /// <summary>Fills all of <paramref name="buffers"/> or none, counting a failure (Bulk: all or nothing). Any thread.</summary>
    public bool AllocateBulk(Span<PacketBuffer> buffers)
    {
        if (IsDisposed || !_free.DequeueBulk(buffers))
        {
            CountAllocationFailure();
            return false;
        }
        foreach (PacketBuffer b in buffers)
        {
            TakeOwnership(b);
        }
        return true;
    }

    /// <summary>Returns a frame. Throws <see cref="InvalidOperationException"/> (and changes nothing) if it is already free or belongs to another pool. Any thread.</summary>
    public void Free(PacketBuffer buffer)
    {
        ReleaseOwnership(buffer);
        if (!_free.TryEnqueue(buffer))
        {
            throw new InvalidOperationException("The pool's free list overflowed: a frame was freed without passing the double-free check.");
        }
        AfterReturn();
    }

    /// <summary>
    /// Returns every frame in <paramref name="buffers"/>. If one is already free or foreign it throws
    /// <see cref="InvalidOperationException"/> after returning the frames before it; the frames after
    /// it stay with the caller. Any thread.
    /// </summary>
    public void FreeBurst(ReadOnlySpan<PacketBuffer> buffers)
    {
        int released = 0;
        Exception? error = null;
        for (; released < buffers.Length; released++)
        {
            error = TryReleaseOwnership(buffers[released]);
            if (error is not null)
            {
                break;
            }
        }
        if (!_free.EnqueueBulk(buffers[..released]))
        {
            throw new InvalidOperationException("The pool's free list overflowed: a frame was freed without passing the double-free check.");
        }
        AfterReturn();
        if (error is not null)
        {
            throw error;
        }
    }

    /// <summary>Marks a frame just taken from the free list as owned and resets it.</summary>
    internal static void TakeOwnership(PacketBuffer buffer)
    {
        // The free list hands each frame to one taker, so a plain write suffices; the ring's
        // release/acquire pair orders it after the previous owner's ReleaseOwnership.
        buffer._state = 1;
        buffer.Reset();
    }

    /// <summary>Marks an owned frame of this pool as free, or throws without changing anything.</summary>
    internal void ReleaseOwnership(PacketBuffer buffer)
    {
        Exception? error = TryReleaseOwnership(buffer);
        if (error is not null)
        {
            throw error;
        }
    }

    /// <summary>Marks an owned frame of this pool as free; returns the exception to throw (changing nothing) if it is not one.</summary>
    private Exception? TryReleaseOwnership(PacketBuffer buffer)
    {
        if (buffer is null)
        {
            return new ArgumentNullException(nameof(buffer));
        }
        if (buffer.Pool != this)
        {
            return new InvalidOperationException($"Frame {buffer.Index} belongs to another pool.");
        }
        // Full fence (Interlocked): of two threads freeing the same frame, exactly one wins; the
        // other sees 0 and reports the double free. Pairs with itself, not with TakeOwnership.
        if (Interlocked.CompareExchange(ref buffer._state, 0, 1) != 1)
        {
            return new InvalidOperationException($"Frame {buffer.Index} was returned to its pool twice.");
        }
        return null;
    }

    /// <summary>Counts one refused allocation request (rare path, so a shared atomic is fine).</summary>
    internal void CountAllocationFailure() => Interlocked.Increment(ref _allocationFailures);

    /// <summary>Memory over part of <paramref name="buffer"/>'s frame: a slice of one manager over the slab when the slab fits in an int, else of the frame's own (made on first use).</summary>
    internal Memory<byte> MemoryOf(PacketBuffer buffer, int offset, int length)
    {
        if (SlabBytes <= int.MaxValue)
        {
            NativeMemoryManager? slab = Volatile.Read(ref _slabMemory);
            if (slab is null)
            {
                // Threads racing here build equivalent managers; one is kept.
                NativeMemoryManager made = new(_slab, (int)SlabBytes);
                slab = Interlocked.CompareExchange(ref _slabMemory, made, null) ?? made;
            }
            return slab.Memory.Slice((int)((long)buffer.Index * FrameBytes) + offset, length);
        }
        NativeMemoryManager?[]? frames = Volatile.Read(ref _frameMemory);
        if (frames is null)
        {
            NativeMemoryManager?[] made = new NativeMemoryManager?[FrameCount];
            frames = Interlocked.CompareExchange(ref _frameMemory, made, null) ?? made;
        }
        NativeMemoryManager? frame = Volatile.Read(ref frames[buffer.Index]);
        if (frame is null)
        {
            NativeMemoryManager made = new(_slab + ((long)buffer.Index * FrameBytes), FrameBytes);
            frame = Interlocked.CompareExchange(ref frames[buffer.Index], made, null) ?? made;
        }
        return frame.Memory.Slice(offset, length);
    }

    /// <summary>True if frame <paramref name="buffer"/> is currently owned outside the pool.</summary>
    public bool IsInUse(PacketBuffer buffer) => Volatile.Read(ref buffer._state) == 1;

    /// <summary>True once <see cref="Dispose"/> was called: allocation fails from then on.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposeState) != 0;

    /// <summary>True once the slab itself was freed: disposed, and every frame came back.</summary>
    public bool IsSlabFreed => Volatile.Read(ref _disposeState) == 2;

    /// <summary>After frames came back to the free list: frees the slab if the pool was disposed and this was the last one.</summary>
    internal void AfterReturn()
    {
        if (Volatile.Read(ref _disposeState) == 1)
        {
            TryFreeSlab();
        }
    }

    private void TryFreeSlab()
    {
        // Both the interlocked state change in Dispose and the free list's enqueue are full fences: of a last free and
        // a dispose racing, at least one sees the other's effect, and the compare-exchange lets exactly one free.
        if (_free.Count != FrameCount || Interlocked.CompareExchange(ref _disposeState, 2, 1) != 1)
        {
            return;
        }
        NativeMemory.AlignedFree(_slab);
        _slab = null;
    }

    /// <summary>
    /// Stops allocation and frees the slab, at once if every frame is in the pool, otherwise when the last outstanding
    /// frame is returned: memory an application still reads through a buffer is never freed under it.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.CompareExchange(ref _disposeState, 1, 0) == 0)
        {
            TryFreeSlab();
        }
    }
}
