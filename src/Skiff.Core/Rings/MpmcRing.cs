using System.Runtime.CompilerServices;

namespace Skiff.Rings;

/// <summary>
/// A bounded, lock-free, multi-producer multi-consumer FIFO ring in the style of DPDK's
/// <c>rte_ring</c> (MP/MC mode): a thread reserves a run of slots by CAS on the head, copies, waits
/// until every earlier reservation on its side is published, then moves the tail past its run. A
/// whole burst costs one CAS, which is what makes the Bulk and Burst forms cheap.
/// </summary>
/// <typeparam name="T">Element type: references (<see cref="PacketBuffer"/>) or unmanaged values.</typeparam>
/// <remarks>
/// <para>Capacity is exactly the power of two given (all slots usable, nothing rounded up); indices
/// are free-running 32-bit counters masked into the slot array.</para>
/// <para>Thread-safety: every method may be called from any number of threads at once. Per producer,
/// order is kept: a consumer that takes two of one producer's elements takes them in the order they
/// were enqueued.</para>
/// <para>Progress: not lock-free in the strict sense, exactly like <c>rte_ring</c>: a thread preempted
/// between reserving and publishing holds back later threads on its side, which spin (and after a
/// while yield) until it continues. Keep at most one ring user per core for predictable latency.</para>
/// <para>By default, dequeued slots are cleared when <typeparamref name="T"/> is or contains
/// references, so the ring never keeps an object alive after its consumer let go of it; rings of
/// pool frames (rooted by their pool for life, like the pool's own free list) turn it off with
/// <c>clearDequeuedSlots: false</c>. Slots of unmanaged types are never cleared.</para>
/// <para>No method allocates.</para>
/// </remarks>
public sealed class MpmcRing<T>
{
    private readonly T[] _slots;
    private readonly uint _mask;
    private readonly bool _clearSlots;
    private MpmcIndices _indices;

    /// <summary>Creates an empty ring.</summary>
    /// <param name="capacity">Number of slots: a power of two from 1 to 2^30.</param>
    /// <param name="clearDequeuedSlots">
    /// True (default): a dequeued slot holding references is cleared so the ring does not keep the
    /// object alive. False: leave it (cheaper) when every element is rooted elsewhere anyway (pool
    /// frames). Ignored for unmanaged types.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">The capacity is not such a power of two (it is not rounded up).</exception>
    public MpmcRing(int capacity, bool clearDequeuedSlots = true)
        : this(capacity, 0, clearDequeuedSlots)
    {
    }

    /// <summary>Creates an empty ring whose counters start at <paramref name="initialIndex"/> (tests use it to cross 2^32).</summary>
    internal MpmcRing(int capacity, uint initialIndex, bool clearSlots)
    {
        RingLayout.ValidateCapacity(capacity, nameof(capacity));
        _slots = new T[capacity];
        _mask = (uint)capacity - 1;
        _clearSlots = clearSlots;
        _indices.ProducerHead = initialIndex;
        _indices.ProducerTail = initialIndex;
        _indices.ConsumerHead = initialIndex;
        _indices.ConsumerTail = initialIndex;
    }

    /// <summary>Number of slots.</summary>
    public int Capacity => _slots.Length;

    /// <summary>
    /// Published elements not yet released by a consumer: exact when the ring is quiet, otherwise a
    /// snapshot (always within 0..<see cref="Capacity"/>). Any thread.
    /// </summary>
    public int Count
    {
        get
        {
            // Acquire reads, consumer tail first: the producer tail read second is at least the
            // consumer tail read first (pairs with the release writes of both tails), so the
            // difference is never negative; clamp for consumers that moved in between.
            uint consumer = Volatile.Read(ref _indices.ConsumerTail);
            uint producer = Volatile.Read(ref _indices.ProducerTail);
            uint count = producer - consumer;
            return count > (uint)_slots.Length ? _slots.Length : (int)count;
        }
    }

    /// <summary>Adds one element. False (nothing changes) when the ring is full. Any thread.</summary>
    public bool TryEnqueue(T item) => Enqueue(new ReadOnlySpan<T>(in item), exact: false) != 0;

    /// <summary>Removes the oldest element. False (and <paramref name="item"/> is default) when the ring is empty. Any thread.</summary>
    public bool TryDequeue(out T item)
    {
        item = default!;
        return Dequeue(new Span<T>(ref item), exact: false) != 0;
    }

    /// <summary>Adds every element of <paramref name="items"/> as one contiguous run, or none if they do not all fit (Bulk: all or nothing). True for an empty span. Any thread.</summary>
    public bool EnqueueBulk(ReadOnlySpan<T> items) => items.IsEmpty || Enqueue(items, exact: true) != 0;

    /// <summary>Adds as many leading elements of <paramref name="items"/> as fit, as one contiguous run (Burst); returns how many. The caller keeps the rest. Any thread.</summary>
    public int EnqueueBurst(ReadOnlySpan<T> items) => Enqueue(items, exact: false);

    /// <summary>Fills all of <paramref name="destination"/> with a contiguous run of the oldest elements, or takes none if there are fewer (Bulk: all or nothing). True for an empty span. Any thread.</summary>
    public bool DequeueBulk(Span<T> destination) => destination.IsEmpty || Dequeue(destination, exact: true) != 0;

    /// <summary>Moves up to <paramref name="destination"/>.Length oldest elements into it (Burst); returns how many (0 when empty). Any thread.</summary>
    public int DequeueBurst(Span<T> destination) => Dequeue(destination, exact: false);

    private int Enqueue(ReadOnlySpan<T> items, bool exact)
    {
        uint capacity = (uint)_slots.Length;
        uint head;
        int n;
        while (true)
        {
            // Acquire: orders the consumer-tail read below after this one, as DPDK's
            // __rte_ring_move_prod_head does with its acquire fence. The CAS validates the value.
            head = Volatile.Read(ref _indices.ProducerHead);
            // Acquire: pairs with the consumers' release write of ConsumerTail (Dequeue): slots below
            // it have been read and cleared and may be overwritten.
            uint consumerTail = Volatile.Read(ref _indices.ConsumerTail);
            // If head is stale, this may exceed the capacity; the CAS below then fails and we retry.
            uint free = capacity + consumerTail - head;
            n = free < (uint)items.Length ? (int)free : items.Length;
            if (n == 0 || (exact && n != items.Length))
            {
                return 0;
            }
            // Full fence (Interlocked): pairs with the other producers' CAS on ProducerHead; winning
            // it makes slots [head, head + n) ours alone.
            if (Interlocked.CompareExchange(ref _indices.ProducerHead, head + (uint)n, head) == head)
            {
                break;
            }
        }

        RingCopy.In(_slots, head & _mask, items[..n]);

        // Producers publish in reservation order. Acquire: pairs with the earlier producer's release
        // write of ProducerTail below, so its slot writes are ordered before ours are published.
        if (Volatile.Read(ref _indices.ProducerTail) != head)
        {
            WaitForTail(ref _indices.ProducerTail, head);
        }
        // Release: pairs with the consumers' acquire read of ProducerTail (Dequeue, Count): the slot
        // writes above are visible before the tail covers them.
        Volatile.Write(ref _indices.ProducerTail, head + (uint)n);
        return n;
    }

    private int Dequeue(Span<T> destination, bool exact)
    {
        uint head;
        int n;
        while (true)
        {
            // Acquire: orders the producer-tail read below after this one; the CAS validates the value.
            head = Volatile.Read(ref _indices.ConsumerHead);
            // Acquire: pairs with the producers' release write of ProducerTail (Enqueue): the slots
            // below it are written and visible.
            uint producerTail = Volatile.Read(ref _indices.ProducerTail);
            // If head is stale, this wraps to a huge number; the CAS below then fails and we retry.
            uint available = producerTail - head;
            n = available < (uint)destination.Length ? (int)available : destination.Length;
            if (n == 0 || (exact && n != destination.Length))
            {
                return 0;
            }
            // Full fence (Interlocked): pairs with the other consumers' CAS on ConsumerHead; winning
            // it makes slots [head, head + n) ours alone.
            if (Interlocked.CompareExchange(ref _indices.ConsumerHead, head + (uint)n, head) == head)
            {
                break;
            }
        }

        RingCopy.Out(_slots, head & _mask, destination[..n], _clearSlots);

        // Consumers release in reservation order. Acquire: pairs with the earlier consumer's release
        // write of ConsumerTail below.
        if (Volatile.Read(ref _indices.ConsumerTail) != head)
        {
            WaitForTail(ref _indices.ConsumerTail, head);
        }
        // Release: pairs with the producers' acquire read of ConsumerTail (Enqueue, Count): our slot
        // reads and clears happen before the slots can be reserved again.
        Volatile.Write(ref _indices.ConsumerTail, head + (uint)n);
        return n;
    }

    /// <summary>Spins until an earlier reservation on the same side has published up to <paramref name="expected"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WaitForTail(ref uint tail, uint expected)
    {
        // SpinWait pauses, then yields the core: on an oversubscribed machine the thread we wait
        // for may be preempted, and pure spinning would burn its time slice. -1: never Sleep(1).
        SpinWait spinner = default;
        // Acquire: pairs with the earlier thread's release write of this tail.
        while (Volatile.Read(ref tail) != expected)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
