using System.Runtime.CompilerServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// One mmap'ed AF_XDP ring (fill, completion, RX or TX) seen from user space: free-running u32 producer and
/// consumer indices the kernel shares with us, a flags word, and a power-of-two array of entries (u64 addresses
/// for fill/completion, <see cref="Xdp.Desc"/> for RX/TX). User space produces on fill and TX and consumes on
/// RX and completion; each side caches the other side's index and rereads it only when the cache runs dry
/// (libxdp's xsk_ring_prod/xsk_ring_cons).
/// </summary>
/// <remarks>
/// Memory ordering (net/xdp/xsk_queue.h, "The kernel and user-space ring ordering"): a producer writes entries,
/// then publishes the producer index with a release store; a consumer reads the producer index with an acquire
/// load before reading entries, and hands slots back with a release store of the consumer index, which the
/// producer reads with an acquire load before reusing them. .NET's <c>Volatile.Read</c> is an
/// acquire and <c>Volatile.Write</c> a release, the same pairs libxdp uses
/// (__atomic_load_n ACQUIRE / __atomic_store_n RELEASE). Single-threaded on the user side.
/// </remarks>
internal sealed unsafe class XdpRing : IDisposable
{
    private readonly uint* _producer;
    private readonly uint* _consumer;
    private readonly uint* _flags;
    private readonly byte* _entries;
    private readonly uint _mask;
    private readonly int _entryBytes;
    private void* _mapping;
    private readonly nuint _mappingBytes;
    // The producer side's view of the consumer index plus Size (libxdp's cached_cons), or the consumer side's
    // view of the producer index (cached_prod).
    private uint _cachedOther;
    // Our own index as far as we have reserved or peeked; published by Submit/Release.
    private uint _cachedOwn;

    private XdpRing(void* mapping, nuint mappingBytes, in Xdp.RingOffset offsets, uint size, int entryBytes, bool isProducer)
    {
        _mapping = mapping;
        _mappingBytes = mappingBytes;
        byte* b = (byte*)mapping;
        _producer = (uint*)(b + offsets.Producer);
        _consumer = (uint*)(b + offsets.Consumer);
        _flags = (uint*)(b + offsets.Flags);
        _entries = b + offsets.Desc;
        Size = size;
        _mask = size - 1;
        _entryBytes = entryBytes;
        IsProducer = isProducer;
        // The kernel starts both indices at 0; reading them here is ordered by mmap itself.
        _cachedOwn = isProducer ? *_producer : *_consumer;
        _cachedOther = isProducer ? *_consumer + size : *_producer;
    }

    public uint Size { get; }

    public bool IsProducer { get; }

    /// <summary>Maps the ring of socket <paramref name="fd"/> at page offset <paramref name="pageOffset"/>.</summary>
    public static XdpRing Map(int fd, long pageOffset, in Xdp.RingOffset offsets, uint size, int entryBytes, bool isProducer, string name)
    {
        nuint bytes = (nuint)(offsets.Desc + (ulong)size * (ulong)entryBytes);
        void* mapping = Libc.Mmap(null, bytes, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, pageOffset);
        if (mapping == (void*)-1)
        {
            throw DriverException.FromLastError($"Mapping the AF_XDP {name} ring (mmap)", "Check that the ring size was set and memory is available.");
        }
        return new XdpRing(mapping, bytes, offsets, size, entryBytes, isProducer);
    }

    /// <summary>True when the kernel set XDP_RING_NEED_WAKEUP: it sleeps until a syscall (sendto for TX, recvfrom or poll for fill).</summary>
    public bool NeedsWakeup => (Volatile.Read(ref *_flags) & Xdp.XDP_RING_NEED_WAKEUP) != 0;

    /// <summary>Producer: how many entries (up to <paramref name="wanted"/>) can be written now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint FreeEntries(uint wanted)
    {
        uint free = _cachedOther - _cachedOwn;
        if (free >= wanted)
        {
            return wanted;
        }
        // Acquire: pairs with the kernel's release of the consumer index after it has read those entries,
        // so the slots are not overwritten while it still reads them.
        _cachedOther = Volatile.Read(ref *_consumer) + Size;
        free = _cachedOther - _cachedOwn;
        return Math.Min(free, wanted);
    }

    /// <summary>Consumer: how many entries (up to <paramref name="wanted"/>) are ready to read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint AvailableEntries(uint wanted)
    {
        uint ready = _cachedOther - _cachedOwn;
        if (ready == 0)
        {
            // Acquire: pairs with the kernel's release of the producer index after writing the entries
            // (xskq_prod_submit: smp_store_release), so the entries read next are complete.
            _cachedOther = Volatile.Read(ref *_producer);
            ready = _cachedOther - _cachedOwn;
        }
        return Math.Min(ready, wanted);
    }

    /// <summary>The index of the next entry we produce or consume (free-running; the slot is index &amp; mask).</summary>
    public uint Next => _cachedOwn;

    /// <summary>A fill or completion entry (a UMEM address).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref ulong Address(uint index) => ref *(ulong*)(_entries + (index & _mask) * (uint)_entryBytes);

    /// <summary>An RX or TX descriptor.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref Xdp.Desc Descriptor(uint index) => ref *(Xdp.Desc*)(_entries + (index & _mask) * (uint)_entryBytes);

    /// <summary>Producer: publishes <paramref name="count"/> written entries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Submit(uint count)
    {
        _cachedOwn += count;
        // Release: the entries written above become visible before the new producer index; pairs with the
        // kernel's acquire of the producer index (xskq_cons_peek: smp_load_acquire via __xskq_cons_peek).
        Volatile.Write(ref *_producer, _cachedOwn);
    }

    /// <summary>Consumer: hands <paramref name="count"/> read entries back to the kernel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Release(uint count)
    {
        _cachedOwn += count;
        // Release: our reads of the entries complete before the slots are handed back; pairs with the kernel's
        // acquire of the consumer index before it overwrites them (xskq_prod_nb_free: smp_load_acquire).
        Volatile.Write(ref *_consumer, _cachedOwn);
    }

    /// <summary>Producer: entries published but not yet consumed by the kernel.</summary>
    public uint Outstanding => _cachedOwn - Volatile.Read(ref *_consumer); // acquire, as in FreeEntries

    /// <summary>Unmaps the ring. Idempotent.</summary>
    public void Dispose()
    {
        if (_mapping != null)
        {
            Libc.Munmap(_mapping, _mappingBytes);
            _mapping = null;
        }
    }
}
