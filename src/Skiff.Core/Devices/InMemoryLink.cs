using Skiff.Rings;

namespace Skiff.Devices;

/// <summary>
/// Creates two <see cref="InMemoryDevice"/> ends joined by a pair of <see cref="SpscRing{T}"/>s:
/// what A transmits, B receives, and the other way round. The test and simulation wire.
/// </summary>
public static class InMemoryLink
{
    /// <summary>Creates a link whose ends share one pool.</summary>
    /// <param name="pool">Both ends' <see cref="IDevice.Pool"/>.</param>
    /// <param name="capacity">Frames each direction holds in flight: a power of two (not rounded up). Default 1024.</param>
    /// <param name="capabilities">Both ends' capabilities; default MTU 1500, bursts of 32, no offloads.</param>
    /// <param name="receiveChecksum">What each end reports in <see cref="PacketBuffer.Checksum"/> on receive. Default <see cref="ChecksumState.None"/> (the stack verifies everything); <c>IpVerified | L4Verified</c> emulates receive offload.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not a power of two from 1 to 2^30.</exception>
    public static (InMemoryDevice A, InMemoryDevice B) CreatePair(
        PacketPool pool,
        int capacity = 1024,
        DeviceCapabilities? capabilities = null,
        ChecksumState receiveChecksum = ChecksumState.None) =>
        CreatePair(pool, pool, capacity, capabilities, receiveChecksum);

    /// <summary>Creates a link whose ends allocate from different pools; each frame is still freed to its own <see cref="PacketBuffer.Pool"/>.</summary>
    /// <param name="poolA">End A's <see cref="IDevice.Pool"/>.</param>
    /// <param name="poolB">End B's <see cref="IDevice.Pool"/>.</param>
    /// <param name="capacity">Frames each direction holds in flight: a power of two (not rounded up). Default 1024.</param>
    /// <param name="capabilities">Both ends' capabilities; default MTU 1500, bursts of 32, no offloads.</param>
    /// <param name="receiveChecksum">What each end reports in <see cref="PacketBuffer.Checksum"/> on receive. Default <see cref="ChecksumState.None"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is not a power of two from 1 to 2^30.</exception>
    public static (InMemoryDevice A, InMemoryDevice B) CreatePair(
        PacketPool poolA,
        PacketPool poolB,
        int capacity = 1024,
        DeviceCapabilities? capabilities = null,
        ChecksumState receiveChecksum = ChecksumState.None)
    {
        ArgumentNullException.ThrowIfNull(poolA);
        ArgumentNullException.ThrowIfNull(poolB);
        // Not new DeviceCapabilities(): for a struct that is all zeros, not the primary constructor's defaults.
        DeviceCapabilities caps = capabilities ?? new DeviceCapabilities(MtuBytes: 1500);
        if (caps.MaxBurst <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(capabilities), "MaxBurst must be positive (note that new DeviceCapabilities() is all zeros).");
        }
        // Frames are rooted by their pools, so the rings need not clear the slots they hand over.
        SpscRing<PacketBuffer> aToB = new(capacity, clearDequeuedSlots: false);
        SpscRing<PacketBuffer> bToA = new(capacity, clearDequeuedSlots: false);
        InMemoryDevice a = new(poolA, rx: bToA, tx: aToB, caps, receiveChecksum);
        InMemoryDevice b = new(poolB, rx: aToB, tx: bToA, caps, receiveChecksum);
        return (a, b);
    }
}
