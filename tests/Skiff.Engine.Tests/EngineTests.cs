using Skiff.Devices;
using Skiff.Engine.Internal;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

public sealed class EngineTests
{
    private static (SkiffEngine Engine, PacketPool Pool, InMemoryDevice Peer) CreateEngine(SkiffEngineOptions options)
    {
        PacketPool pool = new(1024);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, 1024);
        Interface iface = new(new InterfaceOptions { Mac = new MacAddress(0x02_00_00_00_00_01UL), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], SecretKey = 1 }, pool);
        return (new SkiffEngine(iface, a, options), pool, b);
    }

    [Fact]
    public async Task An_idle_engine_backs_off_to_short_sleeps_and_stops_with_every_buffer_returned()
    {
        (SkiffEngine engine, PacketPool pool, InMemoryDevice peer) = CreateEngine(new SkiffEngineOptions());
        engine.Start();
        Assert.True(engine.IsRunning);
        // An idle loop yields 128 times, then parks; on a loaded machine each yield may give away a whole time slice,
        // so wait for the first park (up to 10 s) instead of a fixed time.
        for (int waited = 0; engine.Parks == 0 && waited < 10_000; waited += 50)
        {
            await Task.Delay(50);
        }
        Assert.True(engine.Parks > 0, $"the engine never parked in {engine.Iterations} iterations");
        Assert.Equal(1, await engine.InvokeAsync(i => i.Addresses.Count).WaitAsync(TimeSpan.FromSeconds(30)));
        engine.Stop();
        engine.Stop(); // idempotent
        Assert.True(engine.IsStopped);
        Assert.Null(engine.Failure);
        Assert.Equal(1, peer.DiscardPending()); // the gratuitous ARP, still on the wire
        Assert.Equal(0, pool.InUse);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => engine.InvokeAsync(i => 1));
        pool.Dispose();
    }

    [Fact]
    public async Task The_loop_thread_is_pinned_to_the_requested_cpu()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        (SkiffEngine engine, PacketPool pool, _) = CreateEngine(new SkiffEngineOptions { PinToCpu = 0 });
        engine.Start();
        int[]? cpus = await engine.InvokeAsync(_ => Interop.Sched.GetCurrentThreadAffinity()).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, engine.PinningError);
        Assert.Equal(0, engine.PinnedCpu);
        Assert.Equal([0], cpus ?? []);
        engine.Stop();
        pool.Dispose();
    }

    [Fact]
    public void Invalid_options_are_refused_with_a_sentence()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new SkiffEngineOptions { Idle = new SkiffIdlePolicy { SleepMicros = 0 } }.Validate());
        Assert.Contains("SleepMicros", e.Message);
        Assert.Throws<ArgumentException>(() => new SkiffStackOptions { Mac = default, Addresses = [] }.Validate());
    }

    private sealed class Counted : EngineWorkItem
    {
        public int Runs;

        internal override void Execute() => Runs++;
    }

    [Fact]
    public async Task The_work_queue_hands_every_item_from_many_producers_to_the_consumer_exactly_once()
    {
        const int producers = 4;
        const int perProducer = 20_000;
        MpscWorkQueue queue = new();
        Counted[] items = new Counted[producers * perProducer];
        for (int i = 0; i < items.Length; i++)
        {
            items[i] = new Counted();
        }
        Task[] tasks = new Task[producers];
        for (int p = 0; p < producers; p++)
        {
            int first = p * perProducer;
            tasks[p] = Task.Run(() =>
            {
                for (int i = first; i < first + perProducer; i++)
                {
                    queue.Enqueue(items[i]);
                }
            });
        }
        int taken = 0;
        Task all = Task.WhenAll(tasks);
        while (taken < items.Length)
        {
            if (queue.TryDequeue() is EngineWorkItem item)
            {
                item.Execute();
                taken++;
            }
            else if (all.IsCompleted && queue.IsEmpty)
            {
                break;
            }
        }
        await all;
        Assert.Equal(items.Length, taken);
        Assert.All(items, i => Assert.Equal(1, i.Runs));
        Assert.True(queue.IsEmpty);
    }
}
