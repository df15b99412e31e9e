using System.Runtime.CompilerServices;
using FsCheck;
using FsCheck.Fluent;
using Skiff.Rings;

namespace Skiff.Core.Tests.Rings;

/// <summary>Single-threaded behaviour every ring promises; run once per ring type.</summary>
public abstract class RingContractTests
{
    protected abstract ITestRing<T> Create<T>(int capacity, uint initialIndex = 0);

    protected abstract void CreateWithCapacity(int capacity);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3)]
    [InlineData(1000)]
    [InlineData((1 << 30) + 1)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    public void CapacityThatIsNotAPowerOfTwoIsRefused(int capacity) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => CreateWithCapacity(capacity));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(1024)]
    public void PowerOfTwoCapacityIsUsedExactlyAndEverySlotHolds(int capacity)
    {
        ITestRing<int> ring = Create<int>(capacity);
        Assert.Equal(capacity, ring.Capacity);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(ring.TryEnqueue(i));
        }
        Assert.Equal(capacity, ring.Count);
        Assert.False(ring.TryEnqueue(-1));
        Assert.Equal(0, ring.EnqueueBurst([-1, -2]));
        Assert.False(ring.EnqueueBulk([-1]));
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(ring.TryDequeue(out int item));
            Assert.Equal(i, item);
        }
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void EmptyRingGivesNothingAndLeavesTheDestinationAlone()
    {
        ITestRing<int> ring = Create<int>(8);
        Assert.False(ring.TryDequeue(out int item));
        Assert.Equal(0, item);
        int[] destination = [7, 7, 7];
        Assert.Equal(0, ring.DequeueBurst(destination));
        Assert.False(ring.DequeueBulk(destination));
        Assert.Equal([7, 7, 7], destination);
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void EmptySpansAreTriviallyBulkAndMoveNothing()
    {
        ITestRing<int> ring = Create<int>(4);
        Assert.True(ring.EnqueueBulk([]));
        Assert.Equal(0, ring.EnqueueBurst([]));
        Assert.True(ring.DequeueBulk([]));
        Assert.Equal(0, ring.DequeueBurst([]));
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void BulkIsAllOrNothing()
    {
        ITestRing<int> ring = Create<int>(8);
        Assert.True(ring.EnqueueBulk([1, 2, 3, 4, 5]));
        Assert.False(ring.EnqueueBulk([6, 7, 8, 9])); // 4 > 3 free: none go in
        Assert.Equal(5, ring.Count);

        int[] six = new int[6];
        Assert.False(ring.DequeueBulk(six)); // 6 > 5 present: none come out
        Assert.Equal(new int[6], six);
        Assert.Equal(5, ring.Count);

        int[] five = new int[5];
        Assert.True(ring.DequeueBulk(five));
        Assert.Equal([1, 2, 3, 4, 5], five);
    }

    [Fact]
    public void BurstTakesWhatFitsAndReturnsTheCount()
    {
        ITestRing<int> ring = Create<int>(8);
        Assert.Equal(5, ring.EnqueueBurst([1, 2, 3, 4, 5]));
        Assert.Equal(3, ring.EnqueueBurst([6, 7, 8, 9])); // the caller keeps 9
        int[] destination = new int[10];
        Assert.Equal(8, ring.DequeueBurst(destination));
        Assert.Equal([1, 2, 3, 4, 5, 6, 7, 8, 0, 0], destination);
        Assert.Equal(0, ring.Count);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(uint.MaxValue - 20)] // the free-running counters wrap through 2^32 during the run
    public void MixedOperationsMatchAFifoModelAcrossWraparound(uint initialIndex)
    {
        Gen<(int Kind, int Size)> op = Gen.Zip(Gen.Choose(0, 5), Gen.Choose(0, 12));
        Prop.ForAll(Arb.From(Gen.ListOf(op)), ops =>
        {
            ITestRing<int> ring = Create<int>(8, initialIndex);
            Queue<int> model = new();
            int next = 0;
            Span<int> scratch = stackalloc int[12];
            foreach ((int kind, int size) in ops)
            {
                switch (kind)
                {
                    case 0:
                    {
                        bool ok = ring.TryEnqueue(next);
                        if (ok != (model.Count < 8))
                        {
                            return false;
                        }
                        if (ok)
                        {
                            model.Enqueue(next++);
                        }
                        break;
                    }
                    case 1:
                    case 2:
                    {
                        for (int i = 0; i < size; i++)
                        {
                            scratch[i] = next + i;
                        }
                        int expected = Math.Min(size, 8 - model.Count);
                        if (kind == 1)
                        {
                            bool ok = ring.EnqueueBulk(scratch[..size]);
                            if (ok != (expected == size))
                            {
                                return false;
                            }
                            expected = ok ? size : 0;
                        }
                        else if (ring.EnqueueBurst(scratch[..size]) != expected)
                        {
                            return false;
                        }
                        for (int i = 0; i < expected; i++)
                        {
                            model.Enqueue(next++);
                        }
                        break;
                    }
                    case 3:
                    {
                        bool ok = ring.TryDequeue(out int item);
                        if (ok != (model.Count > 0) || (ok && item != model.Dequeue()))
                        {
                            return false;
                        }
                        break;
                    }
                    default:
                    {
                        int expected = Math.Min(size, model.Count);
                        int got;
                        if (kind == 4)
                        {
                            bool ok = ring.DequeueBulk(scratch[..size]);
                            got = ok ? size : 0;
                            if (ok != (expected == size))
                            {
                                return false;
                            }
                        }
                        else
                        {
                            got = ring.DequeueBurst(scratch[..size]);
                            if (got != expected)
                            {
                                return false;
                            }
                        }
                        for (int i = 0; i < got; i++)
                        {
                            if (scratch[i] != model.Dequeue())
                            {
                                return false;
                            }
                        }
                        break;
                    }
                }
                if (ring.Count != model.Count)
                {
                    return false;
                }
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DequeuedReferencesAreNotKeptAlive()
    {
        ITestRing<object> ring = Create<object>(4);
        WeakReference[] weak = PassThrough(ring, 3);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.All(weak, w => Assert.False(w.IsAlive));
    }

    /// <summary>Enqueues objects (one by one and in a burst) and dequeues them all, keeping only weak references.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference[] PassThrough(ITestRing<object> ring, int count)
    {
        object[] objects = new object[count];
        WeakReference[] weak = new WeakReference[count];
        for (int i = 0; i < count; i++)
        {
            objects[i] = new object();
            weak[i] = new WeakReference(objects[i]);
        }
        Assert.True(ring.TryEnqueue(objects[0]));
        Assert.True(ring.EnqueueBulk(objects.AsSpan(1)));
        Assert.True(ring.TryDequeue(out _));
        Assert.Equal(count - 1, ring.DequeueBurst(new object[count]));
        return weak;
    }
}

public sealed class SpscRingContractTests : RingContractTests
{
    protected override ITestRing<T> Create<T>(int capacity, uint initialIndex = 0) => new SpscTestRing<T>(new SpscRing<T>(capacity, initialIndex));

    protected override void CreateWithCapacity(int capacity) => _ = new SpscRing<int>(capacity);
}

public sealed class MpmcRingContractTests : RingContractTests
{
    protected override ITestRing<T> Create<T>(int capacity, uint initialIndex = 0) => new MpmcTestRing<T>(new MpmcRing<T>(capacity, initialIndex, clearSlots: true));

    protected override void CreateWithCapacity(int capacity) => _ = new MpmcRing<int>(capacity);
}
