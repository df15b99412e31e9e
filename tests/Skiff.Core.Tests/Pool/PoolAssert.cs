namespace Skiff.Core.Tests.Pool;

/// <summary>The "nothing leaked, nothing doubled" check for a quiet pool whose caches are flushed.</summary>
public static class PoolAssert
{
    /// <summary>
    /// Asserts that no frame is in use and that the free list holds each frame exactly once: taking
    /// every frame yields each index once, and then the pool is empty. Returns the frames afterwards.
    /// </summary>
    public static void EveryFrameFreeExactlyOnce(PacketPool pool)
    {
        Assert.Equal(0, pool.InUse);
        Assert.Equal(pool.FrameCount, pool.Available);
        for (int i = 0; i < pool.FrameCount; i++)
        {
            Assert.False(pool.IsInUse(pool.GetFrame(i)));
        }
        long failures = pool.AllocationFailures;
        PacketBuffer[] all = new PacketBuffer[pool.FrameCount];
        Assert.True(pool.AllocateBulk(all));
        bool[] seen = new bool[pool.FrameCount];
        foreach (PacketBuffer b in all)
        {
            Assert.Same(pool, b.Pool);
            Assert.False(seen[b.Index], $"frame {b.Index} was in the free list twice");
            seen[b.Index] = true;
        }
        Assert.False(pool.TryAllocate(out _));
        pool.FreeBurst(all);
        Assert.Equal(failures + 1, pool.AllocationFailures);
        Assert.Equal(0, pool.InUse);
    }
}
