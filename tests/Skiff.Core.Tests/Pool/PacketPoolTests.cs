namespace Skiff.Core.Tests.Pool;

public class PacketPoolTests
{
    [Fact]
    public void AllocatedFrameIsResetEvenAfterAPreviousOwnerChangedIt()
    {
        using PacketPool pool = new(frameCount: 1);
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TryAppend(100));
        Assert.True(b.TryAdjust(10));
        b.Port = 3;
        b.Queue = 1;
        b.RssHash = 99;
        b.Timestamp = Instant.FromMillis(5);
        b.Checksum = ChecksumState.L4Verified;
        b.Free();

        Assert.True(pool.TryAllocate(out PacketBuffer? again));
        Assert.Same(b, again);
        Assert.Equal(pool.HeadroomBytes, again.DataOffset);
        Assert.Equal(0, again.Length);
        Assert.Equal(0, again.Port);
        Assert.Equal(0, again.Queue);
        Assert.Equal(0u, again.RssHash);
        Assert.Equal(default, again.Timestamp);
        Assert.Equal(ChecksumState.None, again.Checksum);
        again.Free();
    }

    [Fact]
    public void DoubleFreeThrowsAndChangesNothing()
    {
        using PacketPool pool = new(frameCount: 4);
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        pool.Free(b);
        Assert.Throws<InvalidOperationException>(() => pool.Free(b));
        Assert.Throws<InvalidOperationException>(() => b.Free());
        Assert.Equal(0, pool.InUse);
        Assert.Equal(4, pool.Available);
    }

    [Fact]
    public void FreeingAFrameToAnotherPoolThrows()
    {
        using PacketPool pool = new(frameCount: 2);
        using PacketPool other = new(frameCount: 2);
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        Assert.Throws<InvalidOperationException>(() => other.Free(b));
        Assert.Equal(0, other.InUse);
        Assert.True(pool.IsInUse(b));
        b.Free();
    }

    [Fact]
    public void CountsTrackAllocationsFreesAndFailures()
    {
        using PacketPool pool = new(frameCount: 8);
        PacketBuffer[] five = new PacketBuffer[5];
        Assert.True(pool.AllocateBulk(five));
        Assert.Equal(5, pool.InUse);
        Assert.Equal(3, pool.Available);
        Assert.All(five, b => Assert.True(pool.IsInUse(b)));
        Assert.Equal(5, five.Select(b => b.Index).Distinct().Count());

        PacketBuffer[] four = new PacketBuffer[4];
        Assert.False(pool.AllocateBulk(four)); // all or nothing
        Assert.All(four, b => Assert.Null(b));
        Assert.Equal(3, pool.Available);
        Assert.Equal(1, pool.AllocationFailures);

        Assert.Equal(3, pool.AllocateBurst(four)); // as many as possible
        Assert.Null(four[3]);
        Assert.Equal(2, pool.AllocationFailures);
        Assert.False(pool.TryAllocate(out PacketBuffer? none));
        Assert.Null(none);
        Assert.Equal(3, pool.AllocationFailures);

        pool.FreeBurst(five);
        pool.FreeBurst(four.AsSpan(0, 3));
        Assert.Equal(0, pool.InUse);
        Assert.Equal(8, pool.Available);
    }

    [Fact]
    public void FreeBurstStopsAtABadFrameHavingReturnedTheOnesBefore()
    {
        using PacketPool pool = new(frameCount: 4);
        PacketBuffer[] three = new PacketBuffer[3];
        Assert.True(pool.AllocateBulk(three));
        PacketBuffer[] burst = [three[0], three[0], three[1]]; // a duplicate in the middle
        Assert.Throws<InvalidOperationException>(() => pool.FreeBurst(burst));
        Assert.False(pool.IsInUse(three[0]));
        Assert.True(pool.IsInUse(three[1])); // after the bad one: still the caller's
        Assert.Equal(2, pool.InUse);
        pool.FreeBurst(three.AsSpan(1));
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void EveryFrameCanBeAllocatedExactlyOnce()
    {
        using PacketPool pool = new(frameCount: 100);
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }
}

public class PacketPoolDisposalTests
{
    [Fact]
    public void DisposingWhileAFrameIsHeldKeepsItsMemoryUntilTheFrameReturns()
    {
        PacketPool pool = new(frameCount: 8);
        Assert.True(pool.TryAllocate(out PacketBuffer? held));
        Assert.True(held.TryAppend(64));
        held.Data.Fill(0xAB);

        pool.Dispose(); // an application still reads this frame (a pipe read result after its stack stopped)
        Assert.True(pool.IsDisposed);
        Assert.False(pool.IsSlabFreed);
        Assert.False(pool.TryAllocate(out _)); // no new frames from a disposed pool
        Span<PacketBuffer> burst = new PacketBuffer[2];
        Assert.Equal(0, pool.AllocateBurst(burst));
        Assert.All(held.Data.ToArray(), b => Assert.Equal(0xAB, b)); // still valid memory
        held.Data.Fill(0xCD);

        held.Free(); // the last frame back: now the slab goes
        Assert.True(pool.IsSlabFreed);
        pool.Dispose(); // idempotent
    }

    [Fact]
    public void DisposingWithEveryFrameHomeFreesAtOnce()
    {
        PacketPool pool = new(frameCount: 4);
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        b.Free();
        pool.Dispose();
        Assert.True(pool.IsSlabFreed);
    }

    [Fact]
    public void FramesParkedInACacheHoldTheSlabUntilTheCacheIsFlushed()
    {
        PacketPool pool = new(frameCount: 64);
        PacketPoolCache cache = new(pool, capacity: 16);
        Assert.True(cache.TryAllocate(out PacketBuffer? b));
        pool.Dispose();
        cache.Free(b);
        Assert.False(pool.IsSlabFreed); // parked frames are still outstanding
        cache.Flush();
        Assert.True(pool.IsSlabFreed);
        Assert.False(cache.TryAllocate(out _));
    }

    [Fact]
    public async Task ALastFreeRacingTheDisposalFreesTheSlabExactlyOnce()
    {
        for (int round = 0; round < 200; round++)
        {
            PacketPool pool = new(frameCount: 4);
            Assert.True(pool.TryAllocate(out PacketBuffer? b));
            using Barrier start = new(2);
            Task freeing = Task.Run(() =>
            {
                start.SignalAndWait();
                b.Free();
            });
            start.SignalAndWait();
            pool.Dispose();
            await freeing;
            Assert.True(pool.IsSlabFreed);
        }
    }
}
