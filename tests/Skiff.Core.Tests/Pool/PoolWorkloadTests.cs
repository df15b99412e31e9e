using System.Diagnostics;
using FsCheck;
using FsCheck.Fluent;
using Skiff.Rings;

namespace Skiff.Core.Tests.Pool;

/// <summary>Random allocate/free workloads through the pool and through caches; afterwards nothing leaked or doubled.</summary>
public class PoolWorkloadTests
{
    [Fact]
    public void RandomWorkloadThroughPoolAndCachesMatchesAnOwnershipModel()
    {
        Gen<(int Via, int Op, int Size)> step =
            from via in Gen.Choose(0, 2)
            from op in Gen.Choose(0, 4)
            from size in Gen.Choose(0, 40)
            select (via, op, size);
        Prop.ForAll(Arb.From(Gen.ListOf(step)), steps =>
        {
            using PacketPool pool = new(frameCount: 48);
            PacketPoolCache[] caches = [new(pool, capacity: 8), new(pool, capacity: 16)];
            List<PacketBuffer> owned = [];
            HashSet<PacketBuffer> ownedSet = [];
            PacketBuffer[] scratch = new PacketBuffer[40];

            foreach ((int via, int op, int size) in steps)
            {
                PacketPoolCache? cache = via < 2 ? caches[via] : null;
                // Frames this request can reach: the shared list, plus the cache's own stack unless
                // the request is too big for the cache and goes straight to the pool.
                int reachable = pool.Available + (cache is not null && size <= cache.Capacity ? cache.Count : 0);
                switch (op)
                {
                    case 0: // allocate burst
                    {
                        int n = cache?.AllocateBurst(scratch.AsSpan(0, size)) ?? pool.AllocateBurst(scratch.AsSpan(0, size));
                        for (int i = 0; i < n; i++)
                        {
                            if (!ownedSet.Add(scratch[i]) || scratch[i].Length != 0)
                            {
                                return false; // handed out twice, or not reset
                            }
                            owned.Add(scratch[i]);
                            scratch[i].TryAppend(size); // dirty it
                        }
                        if (n != Math.Min(size, reachable))
                        {
                            return false;
                        }
                        break;
                    }
                    case 1: // allocate bulk
                    {
                        bool ok = cache?.AllocateBulk(scratch.AsSpan(0, size)) ?? pool.AllocateBulk(scratch.AsSpan(0, size));
                        for (int i = 0; ok && i < size; i++)
                        {
                            if (!ownedSet.Add(scratch[i]))
                            {
                                return false;
                            }
                            owned.Add(scratch[i]);
                        }
                        if (ok != (size <= reachable))
                        {
                            return false;
                        }
                        break;
                    }
                    case 2: // free a burst of the oldest
                    case 3: // free one from the middle
                    {
                        int n = op == 2 ? Math.Min(size, owned.Count) : Math.Min(1, owned.Count);
                        int start = op == 2 ? 0 : (owned.Count == 0 ? 0 : size % owned.Count);
                        ReadOnlySpan<PacketBuffer> batch = owned.ToArray().AsSpan(start, n);
                        if (cache is null)
                        {
                            pool.FreeBurst(batch);
                        }
                        else
                        {
                            cache.FreeBurst(batch);
                        }
                        foreach (PacketBuffer b in batch)
                        {
                            ownedSet.Remove(b);
                        }
                        owned.RemoveRange(start, n);
                        break;
                    }
                    default:
                        cache?.Flush();
                        break;
                }
                for (int i = 0; i < pool.FrameCount; i++)
                {
                    PacketBuffer frame = pool.GetFrame(i);
                    if (pool.IsInUse(frame) != ownedSet.Contains(frame))
                    {
                        return false;
                    }
                }
                if (pool.InUse != owned.Count + caches[0].Count + caches[1].Count)
                {
                    return false;
                }
            }

            pool.FreeBurst(owned.ToArray());
            caches[0].Flush();
            caches[1].Flush();
            PoolAssert.EveryFrameFreeExactlyOnce(pool);
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void FramesFreedOnAnotherThreadThroughCachesAllComeBack()
    {
        // Two engine-like threads, each with its own cache. Each allocates bursts, frees some
        // itself, and hands the rest to the other thread (through an SPSC ring), which frees them
        // into its own cache: the cross-core free pattern of a forwarding pipeline.
        const int Rounds = 200_000;
        using PacketPool pool = new(frameCount: 1024);
        SpscRing<PacketBuffer>[] toPeer = [new(256), new(256)];
        Stopwatch clock = Stopwatch.StartNew();
        TimeSpan bound = TimeSpan.FromSeconds(60);
        Exception?[] errors = new Exception?[2];
        int finished = 0;

        Thread[] threads = new Thread[2];
        for (int t = 0; t < 2; t++)
        {
            int id = t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    using PacketPoolCache cache = new(pool, capacity: 64);
                    Random random = new(id + 7);
                    PacketBuffer[] burst = new PacketBuffer[32];
                    SpscRing<PacketBuffer> outgoing = toPeer[id];
                    SpscRing<PacketBuffer> incoming = toPeer[1 - id];
                    for (int round = 0; round < Rounds && clock.Elapsed < bound; round++)
                    {
                        int n;
                        if (random.Next(2) == 0)
                        {
                            n = cache.AllocateBurst(burst.AsSpan(0, random.Next(1, 33)));
                        }
                        else
                        {
                            n = cache.TryAllocate(out PacketBuffer? one) ? 1 : 0;
                            burst[0] = one!;
                        }
                        int keep = random.Next(n + 1);
                        cache.FreeBurst(burst.AsSpan(0, keep));
                        int sent = outgoing.EnqueueBurst(burst.AsSpan(keep, n - keep));
                        for (int i = keep + sent; i < n; i++)
                        {
                            cache.Free(burst[i]);
                        }
                        int got = incoming.DequeueBurst(burst);
                        cache.FreeBurst(burst.AsSpan(0, got));
                    }
                    Interlocked.Increment(ref finished);
                    // Keep draining until the peer is done too, so nothing is stranded in a ring.
                    while (Volatile.Read(ref finished) < 2 && clock.Elapsed < bound)
                    {
                        int got = incoming.DequeueBurst(burst);
                        cache.FreeBurst(burst.AsSpan(0, got));
                        Thread.Yield();
                    }
                    int rest;
                    while ((rest = incoming.DequeueBurst(burst)) > 0)
                    {
                        cache.FreeBurst(burst.AsSpan(0, rest));
                    }
                }
                catch (Exception e)
                {
                    errors[id] = e;
                }
            });
        }
        foreach (Thread t in threads)
        {
            t.Start();
        }
        foreach (Thread t in threads)
        {
            Assert.True(t.Join(bound), "a pool thread did not finish");
        }
        Assert.All(errors, e => Assert.Null(e));
        Assert.Equal(2, finished);
        PoolAssert.EveryFrameFreeExactlyOnce(pool);
    }
}
