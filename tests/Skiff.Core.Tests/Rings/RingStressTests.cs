using System.Diagnostics;
using Skiff.Rings;

namespace Skiff.Core.Tests.Rings;

/// <summary>
/// Bounded multi-threaded runs. Items encode (producer id, sequence); the checks: nothing lost,
/// nothing duplicated, and each consumer sees each producer's items in increasing order. Small
/// rings force constant full/empty transitions and slot wraparound; counters start near 2^32 so
/// they wrap too.
/// </summary>
public class RingStressTests
{
    private static readonly TimeSpan s_bound = TimeSpan.FromSeconds(60);

    private static long Item(int producer, int sequence) => ((long)producer << 32) | (uint)sequence;

    [Fact]
    public void SpscOneProducerOneConsumerDeliversEveryItemOnceInOrder()
    {
        const int Items = 3_000_000;
        SpscRing<long> ring = new(64, uint.MaxValue - 1000);
        Stopwatch clock = Stopwatch.StartNew();
        int failedSequence = -1;

        Thread producer = new(() =>
        {
            Random random = new(1);
            long[] burst = new long[48];
            int next = 0;
            while (next < Items && clock.Elapsed < s_bound)
            {
                int size = Math.Min(random.Next(1, burst.Length + 1), Items - next);
                for (int i = 0; i < size; i++)
                {
                    burst[i] = Item(0, next + i);
                }
                int mode = random.Next(3);
                int moved = mode switch
                {
                    0 => ring.TryEnqueue(burst[0]) ? 1 : 0,
                    1 => ring.EnqueueBulk(burst.AsSpan(0, size)) ? size : 0,
                    _ => ring.EnqueueBurst(burst.AsSpan(0, size)),
                };
                next += moved;
                if (moved == 0)
                {
                    Thread.Yield();
                }
            }
        });

        producer.Start();
        long[] received = new long[48];
        Random consumerRandom = new(2);
        int expected = 0;
        while (expected < Items && clock.Elapsed < s_bound)
        {
            int size = consumerRandom.Next(1, received.Length + 1);
            int mode = consumerRandom.Next(3);
            int got = mode switch
            {
                0 => ring.TryDequeue(out received[0]) ? 1 : 0,
                1 => ring.DequeueBulk(received.AsSpan(0, Math.Min(size, Items - expected))) ? Math.Min(size, Items - expected) : 0,
                _ => ring.DequeueBurst(received.AsSpan(0, size)),
            };
            for (int i = 0; i < got; i++)
            {
                if (received[i] != Item(0, expected) && failedSequence < 0)
                {
                    failedSequence = expected;
                }
                expected++;
            }
            if (got == 0)
            {
                Thread.SpinWait(20);
            }
        }
        Assert.True(producer.Join(s_bound), "producer did not finish");
        Assert.Equal(-1, failedSequence);
        Assert.Equal(Items, expected);
        Assert.Equal(0, ring.Count);
    }

    [Fact]
    public void MpmcTwoProducersTwoConsumersDeliverEveryItemOnceInPerProducerOrder()
    {
        const int Producers = 2;
        const int Consumers = 2;
        const int ItemsPerProducer = 1_500_000;
        // Bursts up to half the ring: the copy between reserving and publishing is long enough that a
        // preempted thread is regularly caught in it, which exercises the in-order tail publication.
        MpmcRing<long> ring = new(256, uint.MaxValue - 1000, clearSlots: true);
        Stopwatch clock = Stopwatch.StartNew();
        // seen[c][p][s]: how often consumer c received item s of producer p (written only by c).
        byte[][][] seen = new byte[Consumers][][];
        string?[] errors = new string?[Consumers];
        long consumed = 0;

        Thread[] threads = new Thread[Producers + Consumers];
        for (int p = 0; p < Producers; p++)
        {
            int id = p;
            threads[p] = new Thread(() =>
            {
                Random random = new(100 + id);
                long[] burst = new long[128];
                int next = 0;
                while (next < ItemsPerProducer && clock.Elapsed < s_bound)
                {
                    int size = Math.Min(random.Next(1, burst.Length + 1), ItemsPerProducer - next);
                    for (int i = 0; i < size; i++)
                    {
                        burst[i] = Item(id, next + i);
                    }
                    int mode = random.Next(3);
                    int moved = mode switch
                    {
                        0 => ring.TryEnqueue(burst[0]) ? 1 : 0,
                        1 => ring.EnqueueBulk(burst.AsSpan(0, size)) ? size : 0,
                        _ => ring.EnqueueBurst(burst.AsSpan(0, size)),
                    };
                    next += moved;
                    if (moved == 0)
                    {
                        Thread.Yield();
                    }
                }
            });
        }
        for (int c = 0; c < Consumers; c++)
        {
            int id = c;
            seen[c] = new byte[Producers][];
            for (int p = 0; p < Producers; p++)
            {
                seen[c][p] = new byte[ItemsPerProducer];
            }
            threads[Producers + c] = new Thread(() =>
            {
                Random random = new(200 + id);
                long[] received = new long[128];
                int[] last = new int[Producers];
                Array.Fill(last, -1);
                while (Volatile.Read(ref consumed) < (long)Producers * ItemsPerProducer && clock.Elapsed < s_bound)
                {
                    int size = random.Next(1, received.Length + 1);
                    int mode = random.Next(3);
                    int got = mode switch
                    {
                        0 => ring.TryDequeue(out received[0]) ? 1 : 0,
                        1 => ring.DequeueBulk(received.AsSpan(0, size)) ? size : 0,
                        _ => ring.DequeueBurst(received.AsSpan(0, size)),
                    };
                    for (int i = 0; i < got; i++)
                    {
                        int producer = (int)(received[i] >> 32);
                        int sequence = (int)(uint)received[i];
                        if ((uint)producer >= Producers || (uint)sequence >= ItemsPerProducer)
                        {
                            errors[id] ??= $"consumer {id} got impossible item {received[i]:x}";
                            continue;
                        }
                        if (sequence <= last[producer])
                        {
                            errors[id] ??= $"consumer {id} got producer {producer}'s item {sequence} after {last[producer]}";
                        }
                        last[producer] = sequence;
                        seen[id][producer][sequence]++;
                    }
                    if (got == 0)
                    {
                        // Bulk requests can starve near the end, when fewer items than asked remain.
                        if (mode == 1)
                        {
                            continue;
                        }
                        Thread.Yield();
                    }
                    else
                    {
                        Interlocked.Add(ref consumed, got);
                    }
                }
            });
        }

        foreach (Thread t in threads)
        {
            t.Start();
        }
        foreach (Thread t in threads)
        {
            Assert.True(t.Join(s_bound), "a ring thread did not finish");
        }

        Assert.All(errors, e => Assert.Null(e));
        for (int p = 0; p < Producers; p++)
        {
            for (int s = 0; s < ItemsPerProducer; s++)
            {
                int times = 0;
                for (int c = 0; c < Consumers; c++)
                {
                    times += seen[c][p][s];
                }
                if (times != 1)
                {
                    Assert.Fail($"producer {p}'s item {s} was delivered {times} times");
                }
            }
        }
        Assert.Equal(0, ring.Count);
    }
}
