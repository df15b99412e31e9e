using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Skiff.Rings;

/// <summary>
/// A bounded, lock-free, single-producer single-consumer FIFO ring (DPDK's <c>RING_F_SP_ENQ |
/// RING_F_SC_DEQ</c>, folly's <c>ProducerConsumerQueue</c>). Moves elements by value: for
/// <see cref="PacketBuffer"/> the reference crosses, so handing frames over never copies bytes.
/// </summary>
/// <typeparam name="T">Element type: references (<see cref="PacketBuffer"/>) or unmanaged values.</typeparam>
/// <remarks>
/// <para>Capacity is exactly the power of two given (all slots usable, nothing rounded up). Indices
/// are free-running 32-bit counters masked into the slot array, so they wrap harmlessly.</para>
/// <para>Thread-safety: at most one thread enqueues and at most one thread dequeues at any time
/// (they may be different threads). Two concurrent producers or two concurrent consumers corrupt
/// the ring; use <see cref="MpmcRing{T}"/> for that. <see cref="Count"/> may be read from any thread.</para>
/// <para>Each side keeps a private copy of the other side's index and re-reads the shared one only
/// when the copy says the ring looks full (producer) or empty (consumer), so in steady state the two
/// cores do not pull each other's index line back and forth on every element.</para>
/// <para>By default, dequeued slots are cleared when <typeparamref name="T"/> is or contains
/// references, so the ring never keeps an object alive after its consumer let go of it. That costs
/// a store per element and turns the consumer's read of each slot line into a write the producer
/// must fetch back; rings of pool frames (rooted by their pool for life) turn it off with
/// <c>clearDequeuedSlots: false</c>. Slots of unmanaged types are never cleared.</para>
/// <para>No method allocates.</para>
/// </remarks>
public sealed class SpscRing<T>
{
    private readonly T[] _slots;
    private readonly uint _mask;
    private readonly bool _clearSlots;
    private SpscIndices _indices;

    /// <summary>Creates an empty ring.</summary>
    /// <param name="capacity">Number of slots: a power of two from 1 to 2^30.</param>
    /// <param name="clearDequeuedSlots">
    /// True (default): a dequeued slot holding references is cleared so the ring does not keep the
    /// object alive. False: leave it, saving the consumer a store and the producer a cache-line
    /// transfer, when every element is rooted elsewhere anyway (pool frames). Ignored for unmanaged types.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not such a power of two (it is not rounded up).</exception>
    public SpscRing(int capacity, bool clearDequeuedSlots = true)
        : this(capacity, 0, clearDequeuedSlots)
    {
    }

    /// <summary>Creates an empty ring whose free-running counters start at <paramref name="initialIndex"/> (tests use it to cross 2^32).</summary>
    internal SpscRing(int capacity, uint initialIndex, bool clearDequeuedSlots = true)
    {
        RingLayout.ValidateCapacity(capacity, nameof(capacity));
        _slots = new T[capacity];
        _mask = (uint)capacity - 1;
        _clearSlots = clearDequeuedSlots;
        _indices.ProducerIndex = initialIndex;
        _indices.ProducerCachedConsumerIndex = initialIndex;
        _indices.ConsumerIndex = initialIndex;
        _indices.ConsumerCachedProducerIndex = initialIndex;
    }

    /// <summary>Number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>
    /// Elements in the ring: exact when neither side is active, otherwise a snapshot that may be
    /// stale by the time it is used (always within 0..<see cref="Capacity"/>). Any thread.
    /// </summary>
    public int Count
    {
        get
        {
            // Acquire reads, consumer first: the producer index read second is at least the consumer
            // index read first (pairs with the release writes in Enqueue*/Dequeue*), so the
            // difference is never negative; it can exceed the capacity only if the consumer moved
            // in between, hence the clamp.
            uint consumer = Volatile.Read(ref _indices.ConsumerIndex);
            uint producer = Volatile.Read(ref _indices.ProducerIndex);
            uint count = producer - consumer;
            return count > (uint)_slots.Length ? _slots.Length : (int)count;
        }
    }

    /// <summary>Adds one element. False (nothing changes) when the ring is full. Producer thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(T item)
    {
        // Own index: only this thread writes it, so a plain read is current.
        uint producer = _indices.ProducerIndex;
        if (producer - _indices.ProducerCachedConsumerIndex == (uint)_slots.Length && RefreshFreeSlots(producer) == 0)
        {
            return false;
        }
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nint)(producer & _mask)) = item;
        // Release: pairs with the consumer's acquire read of ProducerIndex (RefreshAvailable/Count);
        // the slot write above becomes visible no later than the index that covers it.
        Volatile.Write(ref _indices.ProducerIndex, producer + 1);
        return true;
    }

    /// <summary>Removes the oldest element. False (and <paramref name="item"/> is default) when the ring is empty. Consumer thread only.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeue(out T item)
    {
        // Own index: only this thread writes it.
        uint consumer = _indices.ConsumerIndex;
        if (_indices.ConsumerCachedProducerIndex == consumer && RefreshAvailable(consumer) == 0)
        {
            item = default!;
            return false;
        }
        ref T slot = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), (nint)(consumer & _mask));
        item = slot;
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() && _clearSlots)
        {
            slot = default!;
        }
        // Release: pairs with the producer's acquire read of ConsumerIndex (RefreshFreeSlots); the
        // read and clear of the slot happen before the producer may overwrite it.
        Volatile.Write(ref _indices.ConsumerIndex, consumer + 1);
        return true;
    }

    /// <summary>Adds every element of <paramref name="items"/>, or none if they do not all fit (Bulk: all or nothing). True for an empty span. Producer thread only.</summary>
    public bool EnqueueBulk(ReadOnlySpan<T> items) => items.IsEmpty || Enqueue(items, exact: true) != 0;

    /// <summary>Adds as many leading elements of <paramref name="items"/> as fit (Burst); returns how many. The caller keeps the rest. Producer thread only.</summary>
    public int EnqueueBurst(ReadOnlySpan<T> items) => Enqueue(items, exact: false);

    /// <summary>Fills all of <paramref name="destination"/> with the oldest elements, or takes none if there are fewer (Bulk: all or nothing). True for an empty span. Consumer thread only.</summary>
    public bool DequeueBulk(Span<T> destination) => destination.IsEmpty || Dequeue(destination, exact: true) != 0;

    /// <summary>Moves up to <paramref name="destination"/>.Length oldest elements into it (Burst); returns how many (0 when empty). Consumer thread only.</summary>
    public int DequeueBurst(Span<T> destination) => Dequeue(destination, exact: false);

    private int Enqueue(ReadOnlySpan<T> items, bool exact)
    {
        uint producer = _indices.ProducerIndex; // own index
        uint free = (uint)_slots.Length - (producer - _indices.ProducerCachedConsumerIndex);
        if (free < (uint)items.Length)
        {
            free = RefreshFreeSlots(producer);
        }
        int n = free < (uint)items.Length ? (int)free : items.Length;
        if (n == 0 || (exact && n != items.Length))
        {
            return 0;
        }
        RingCopy.In(_slots, producer & _mask, items[..n]);
        // Release: pairs with the consumer's acquire read of ProducerIndex (RefreshAvailable/Count);
        // all n slot writes are visible before the index that publishes them.
        Volatile.Write(ref _indices.ProducerIndex, producer + (uint)n);
        return n;
    }

    private int Dequeue(Span<T> destination, bool exact)
    {
        uint consumer = _indices.ConsumerIndex; // own index
        uint available = _indices.ConsumerCachedProducerIndex - consumer;
        if (available < (uint)destination.Length)
        {
            available = RefreshAvailable(consumer);
        }
        int n = available < (uint)destination.Length ? (int)available : destination.Length;
        if (n == 0 || (exact && n != destination.Length))
        {
            return 0;
        }
        RingCopy.Out(_slots, consumer & _mask, destination[..n], _clearSlots);
        // Release: pairs with the producer's acquire read of ConsumerIndex (RefreshFreeSlots); the
        // slots were read (and cleared) before the producer can see them as free.
        Volatile.Write(ref _indices.ConsumerIndex, consumer + (uint)n);
        return n;
    }

    /// <summary>Producer side: re-reads the consumer index into the private copy; returns the free slots.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint RefreshFreeSlots(uint producer)
    {
        // Acquire: pairs with the consumer's release write of ConsumerIndex (TryDequeue/Dequeue):
        // every slot below it has been read and cleared, so it may be overwritten.
        uint consumer = Volatile.Read(ref _indices.ConsumerIndex);
        _indices.ProducerCachedConsumerIndex = consumer;
        return (uint)_slots.Length - (producer - consumer);
    }

    /// <summary>Consumer side: re-reads the producer index into the private copy; returns the elements available.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private uint RefreshAvailable(uint consumer)
    {
        // Acquire: pairs with the producer's release write of ProducerIndex (TryEnqueue/Enqueue):
        // the slot writes below it are visible.
        uint producer = Volatile.Read(ref _indices.ProducerIndex);
        _indices.ConsumerCachedProducerIndex = producer;
        return producer - consumer;
    }
}
