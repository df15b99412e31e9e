using System.Runtime.InteropServices;

namespace Skiff.Rings;

/// <summary>Shared constants and checks for the rings.</summary>
internal static class RingLayout
{
    /// <summary>
    /// Distance kept between indices written by different threads. 128 bytes, not 64: Intel's
    /// adjacent-line prefetcher pulls cache lines in pairs, so two indices 64 bytes apart still
    /// ping-pong (the same reason .NET's ConcurrentQueue and DPDK's RTE_CACHE_GUARD use 128).
    /// </summary>
    public const int PadBytes = 128;

    /// <summary>Largest capacity: keeps the unsigned distance between free-running counters unambiguous and arrays reasonable.</summary>
    public const int MaxCapacity = 1 << 30;

    /// <summary>Throws unless <paramref name="capacity"/> is a power of two from 1 to <see cref="MaxCapacity"/>. Never rounds up.</summary>
    public static void ValidateCapacity(int capacity, string paramName)
    {
        if (capacity <= 0 || capacity > MaxCapacity || !int.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(paramName, capacity, $"Ring capacity must be a power of two from 1 to {MaxCapacity}.");
        }
    }
}

/// <summary>
/// The indices of a <see cref="SpscRing{T}"/>: the producer's line and the consumer's line, each
/// with padding on both sides so neither shares a 128-byte pair of lines with the other or with the
/// ring object's header and read-only fields.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * RingLayout.PadBytes)]
internal struct SpscIndices
{
    /// <summary>Next slot the producer writes. Written only by the producer (release), read by the consumer (acquire).</summary>
    [FieldOffset(RingLayout.PadBytes)]
    public uint ProducerIndex;

    /// <summary>The producer's private, possibly stale copy of <see cref="ConsumerIndex"/>.</summary>
    [FieldOffset(RingLayout.PadBytes + 4)]
    public uint ProducerCachedConsumerIndex;

    /// <summary>Next slot the consumer reads. Written only by the consumer (release), read by the producer (acquire).</summary>
    [FieldOffset(2 * RingLayout.PadBytes)]
    public uint ConsumerIndex;

    /// <summary>The consumer's private, possibly stale copy of <see cref="ProducerIndex"/>.</summary>
    [FieldOffset(2 * RingLayout.PadBytes + 4)]
    public uint ConsumerCachedProducerIndex;
}

/// <summary>
/// The head/tail pairs of an <see cref="MpmcRing{T}"/> (DPDK's <c>rte_ring_headtail</c>): producers
/// share one line, consumers the other, padded apart.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 3 * RingLayout.PadBytes)]
internal struct MpmcIndices
{
    /// <summary>End of the last producer reservation (CAS by producers).</summary>
    [FieldOffset(RingLayout.PadBytes)]
    public uint ProducerHead;

    /// <summary>End of the published (readable) entries.</summary>
    [FieldOffset(RingLayout.PadBytes + 4)]
    public uint ProducerTail;

    /// <summary>End of the last consumer reservation (CAS by consumers).</summary>
    [FieldOffset(2 * RingLayout.PadBytes)]
    public uint ConsumerHead;

    /// <summary>End of the released (writable again) entries.</summary>
    [FieldOffset(2 * RingLayout.PadBytes + 4)]
    public uint ConsumerTail;
}
