using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Skiff;

/// <summary>
/// A slab of pinned, page-aligned native memory cut into fixed-size frames with headroom (DPDK's
/// mempool of mbufs; AF_XDP registers the same slab as its UMEM). Allocation and free never allocate
/// managed memory.
/// </summary>
/// <remarks>
/// Thread-safety: <see cref="TryAllocate"/>, <see cref="Free"/> and the burst forms may be called from
/// any thread. The pool detects a frame returned twice (it throws <see cref="InvalidOperationException"/>:
/// that is a bug in the caller, not bad input) and counts frames in use, so a leak shows in tests.
/// Disposing the pool while frames are in use is allowed but makes every outstanding buffer invalid.
/// </remarks>
public sealed unsafe class PacketPool : IDisposable
{
    private readonly PacketBuffer[] _buffers;
    private readonly int[] _free; // stack of free frame indices
    private int _freeCount;
    private readonly Lock _lock = new();
    private byte* _slab;
    private long _allocationFailures;

    public PacketPool(int frameCount, int frameBytes = 2048, int headroomBytes = 256)
        : this(new PacketPoolOptions { FrameCount = frameCount, FrameBytes = frameBytes, HeadroomBytes = headroomBytes })
    {
    }

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
        _free = new int[FrameCount];
        for (int i = 0; i < FrameCount; i++)
        {
            _buffers[i] = new PacketBuffer(this, i, _slab + (long)i * FrameBytes);
            // Hand out low indices first: they are the ones most likely still in cache.
            _free[i] = FrameCount - 1 - i;
        }
        _freeCount = FrameCount;
    }

    public int FrameCount { get; }

    public int FrameBytes { get; }

    public int HeadroomBytes { get; }

    /// <summary>Size of the slab in bytes (FrameCount × FrameBytes).</summary>
    public long SlabBytes { get; }

    /// <summary>Start of the slab; for registering it with the kernel (AF_XDP UMEM). Valid until the pool is disposed.</summary>
    public byte* DangerousSlabPointer => _slab;

    /// <summary>Frames currently owned outside the pool.</summary>
    public int InUse => FrameCount - Volatile.Read(ref _freeCount);

    /// <summary>Frames available for allocation.</summary>
    public int Available => Volatile.Read(ref _freeCount);

    /// <summary>Allocation requests refused because the pool was empty.</summary>
    public long AllocationFailures => Volatile.Read(ref _allocationFailures);

    /// <summary>The buffer object of frame <paramref name="index"/> (for drivers that learn a frame by its UMEM address). Does not change ownership.</summary>
    public PacketBuffer GetFrame(int index) => _buffers[index];

    /// <summary>Takes one frame, reset to empty with default headroom. False when the pool is empty.</summary>
    public bool TryAllocate([NotNullWhen(true)] out PacketBuffer? buffer)
    {
        lock (_lock)
        {
            if (_freeCount == 0)
            {
                _allocationFailures++;
                buffer = null;
                return false;
            }
            buffer = _buffers[_free[--_freeCount]];
            buffer._state = 1;
        }
        buffer.Reset();
        return true;
    }

    /// <summary>Fills as many of <paramref name="buffers"/> as there are free frames; returns the count (Burst: as many as possible).</summary>
    public int AllocateBurst(Span<PacketBuffer> buffers)
    {
        int n;
        lock (_lock)
        {
            n = Math.Min(buffers.Length, _freeCount);
            if (n < buffers.Length)
            {
                _allocationFailures++;
            }
            for (int i = 0; i < n; i++)
            {
                PacketBuffer b = _buffers[_free[--_freeCount]];
                b._state = 1;
                buffers[i] = b;
            }
        }
        for (int i = 0; i < n; i++)
        {
            buffers[i].Reset();
        }
        return n;
    }

    /// <summary>Fills all of <paramref name="buffers"/> or none (Bulk: all or nothing).</summary>
    public bool AllocateBulk(Span<PacketBuffer> buffers)
    {
        lock (_lock)
        {
            if (_freeCount < buffers.Length)
            {
                _allocationFailures++;
                return false;
            }
            for (int i = 0; i < buffers.Length; i++)
            {
                PacketBuffer b = _buffers[_free[--_freeCount]];
                b._state = 1;
                buffers[i] = b;
            }
        }
        foreach (PacketBuffer b in buffers)
        {
            b.Reset();
        }
        return true;
    }

    /// <summary>Returns a frame. Throws <see cref="InvalidOperationException"/> if it is already free or belongs to another pool.</summary>
    public void Free(PacketBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        if (buffer.Pool != this)
        {
            throw new InvalidOperationException($"Frame {buffer.Index} belongs to another pool.");
        }
        lock (_lock)
        {
            if (buffer._state != 1)
            {
                throw new InvalidOperationException($"Frame {buffer.Index} was returned to its pool twice.");
            }
            buffer._state = 0;
            _free[_freeCount++] = buffer.Index;
        }
    }

    /// <summary>Returns every frame in <paramref name="buffers"/>.</summary>
    public void FreeBurst(ReadOnlySpan<PacketBuffer> buffers)
    {
        foreach (PacketBuffer b in buffers)
        {
            Free(b);
        }
    }

    /// <summary>True if frame <paramref name="buffer"/> is currently owned outside the pool.</summary>
    public bool IsInUse(PacketBuffer buffer) => Volatile.Read(ref buffer._state) == 1;

    public void Dispose()
    {
        if (_slab != null)
        {
            NativeMemory.AlignedFree(_slab);
            _slab = null;
        }
    }
}
