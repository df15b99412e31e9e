namespace Skiff.Core.Tests.Pool;

public class PacketPoolCacheTests
{
    [Fact]
    public void CachedFramesCountAsInUseUntilFlushed()
    {
        using PacketPool pool = new(frameCount: 64);
        PacketPoolCache cache = new(pool, capacity: 16);
        Assert.True(cache.TryAllocate(out PacketBuffer? b));
        Assert.True(pool.IsInUse(b));
        Assert.Equal(1 + cache.Count, pool.InUse); // the refill parked frames in the cache
        Assert.True(cache.Count > 0);

        cache.Free(b);
        Assert.False(pool.IsInUse(b));
        Assert.Equal(cache.Count, pool.InUse);

        cache.Flush();
        Assert.Equal(0, cache.Count);
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }

    [Fact]
    public void FramesComeOutResetAndCacheWarmLastInFirstOut()
    {
        using PacketPool pool = new(frameCount: 64);
        using PacketPoolCache cache = new(pool, capacity: 16);
        Assert.True(cache.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TryAppend(64));
        b.Port = 7;
        cache.Free(b);
        Assert.True(cache.TryAllocate(out PacketBuffer? again));
        Assert.Same(b, again);
        Assert.Equal(0, again.Length);
        Assert.Equal(pool.HeadroomBytes, again.DataOffset);
        Assert.Equal(0, again.Port);
        cache.Free(again);
    }

    [Fact]
    public void DoubleFreeIsCaughtWhetherTheFrameSitsInACacheOrThePool()
    {
        using PacketPool pool = new(frameCount: 8);
        PacketPoolCache cache = new(pool, capacity: 4);
        Assert.True(cache.TryAllocate(out PacketBuffer? b));
        cache.Free(b);
        int cached = cache.Count;
        Assert.Throws<InvalidOperationException>(() => cache.Free(b));
        Assert.Throws<InvalidOperationException>(() => pool.Free(b));
        Assert.Throws<InvalidOperationException>(() => cache.FreeBurst([b]));
        Assert.Equal(cached, cache.Count);

        using PacketPool other = new(frameCount: 2);
        Assert.True(other.TryAllocate(out PacketBuffer? foreign));
        Assert.Throws<InvalidOperationException>(() => cache.Free(foreign));
        foreign.Free();
        cache.Flush();
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }

    [Fact]
    public void BulkIsAllOrNothingAndBurstPartialWhenThePoolRunsDry()
    {
        using PacketPool pool = new(frameCount: 10);
        PacketPoolCache cache = new(pool, capacity: 8);
        PacketBuffer[] six = new PacketBuffer[6];
        Assert.True(cache.AllocateBulk(six));
        PacketBuffer[] five = new PacketBuffer[5];
        Assert.False(cache.AllocateBulk(five));
        Assert.All(five, b => Assert.Null(b));
        Assert.Equal(1, pool.AllocationFailures);
        Assert.Equal(4, cache.AllocateBurst(five));
        Assert.Equal(2, pool.AllocationFailures);
        Assert.Equal(10, pool.InUse);
        Assert.Equal(0, pool.Available);

        cache.FreeBurst(six);
        cache.FreeBurst(five.AsSpan(0, 4));
        Assert.True(cache.Count <= cache.Capacity);
        cache.Flush();
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }

    [Fact]
    public void RequestsLargerThanTheCacheGoStraightToThePool()
    {
        using PacketPool pool = new(frameCount: 64);
        PacketPoolCache cache = new(pool, capacity: 4);
        PacketBuffer[] forty = new PacketBuffer[40];
        Assert.True(cache.AllocateBulk(forty));
        Assert.Equal(0, cache.Count);
        cache.FreeBurst(forty);
        Assert.Equal(0, cache.Count);
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }

    [Fact]
    public void CacheNeverHoldsMoreThanItsCapacity()
    {
        using PacketPool pool = new(frameCount: 256);
        PacketPoolCache cache = new(pool, capacity: 32);
        PacketBuffer[] frames = new PacketBuffer[200];
        Assert.True(pool.AllocateBulk(frames));
        foreach (PacketBuffer b in frames)
        {
            cache.Free(b);
            Assert.InRange(cache.Count, 1, 32);
        }
        Assert.Equal(200, cache.Count + pool.Available - 56);
        cache.Dispose();
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }
}
