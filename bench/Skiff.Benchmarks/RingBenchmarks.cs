using BenchmarkDotNet.Attributes;
using Skiff.Rings;

namespace Skiff.Benchmarks;

/// <summary>
/// Ring cost per element for bursts of 1 to 128, SPSC and MPMC, carrying object references (what a
/// link moves: PacketBuffer). SameThread: enqueue a burst then dequeue it, so the figure is the
/// instruction cost without cache-line transfer. CrossThread: a producer thread and the benchmark
/// thread as consumer move <see cref="CrossThreadElements"/> elements through a 4096-slot ring.
/// </summary>
[MemoryDiagnoser]
public class RingBenchmarks
{
    private const int SameThreadElements = 4096;
    private const int CrossThreadElements = 1 << 22;

    private SpscRing<object> _spsc = null!;
    private MpmcRing<object> _mpmc = null!;
    private object[] _items = null!;
    private object[] _out = null!;
    private Thread? _producer;
    private SemaphoreSlim _start = null!;
    private SemaphoreSlim _done = null!;
    private volatile bool _stop;

    [Params(1, 8, 32, 128)]
    public int Burst { get; set; }

    [Params("Spsc", "Mpmc")]
    public string Ring { get; set; } = "Spsc";

    /// <summary>Whether dequeued slots are cleared (the default for general references; pool frames turn it off).</summary>
    [Params(true, false)]
    public bool Clear { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _spsc = new SpscRing<object>(4096, Clear);
        _mpmc = new MpmcRing<object>(4096, Clear);
        _items = new object[Burst];
        for (int i = 0; i < Burst; i++)
        {
            _items[i] = new object();
        }
        _out = new object[Burst];
        _start = new SemaphoreSlim(0);
        _done = new SemaphoreSlim(0);
        _stop = false;
        _producer = new Thread(ProducerLoop) { IsBackground = true };
        _producer.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _stop = true;
        _start.Release();
        _producer?.Join();
    }

    [Benchmark(OperationsPerInvoke = SameThreadElements)]
    public int SameThread()
    {
        int moved = 0;
        if (Ring == "Spsc")
        {
            for (int i = 0; i < SameThreadElements; i += Burst)
            {
                _spsc.EnqueueBurst(_items);
                moved += _spsc.DequeueBurst(_out);
            }
        }
        else
        {
            for (int i = 0; i < SameThreadElements; i += Burst)
            {
                _mpmc.EnqueueBurst(_items);
                moved += _mpmc.DequeueBurst(_out);
            }
        }
        return moved;
    }

    [Benchmark(OperationsPerInvoke = CrossThreadElements)]
    public int CrossThread()
    {
        _start.Release();
        int moved = 0;
        object[] destination = _out;
        // Pause, then yield when the ring is empty: on an oversubscribed machine pure spinning
        // would burn the time slice the producer needs.
        SpinWait idle = default;
        if (Ring == "Spsc")
        {
            while (moved < CrossThreadElements)
            {
                int n = _spsc.DequeueBurst(destination);
                moved += n;
                if (n == 0)
                {
                    idle.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
        else
        {
            while (moved < CrossThreadElements)
            {
                int n = _mpmc.DequeueBurst(destination);
                moved += n;
                if (n == 0)
                {
                    idle.SpinOnce(sleep1Threshold: -1);
                }
            }
        }
        _done.Wait();
        return moved;
    }

    private void ProducerLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_stop)
            {
                return;
            }
            int sent = 0;
            SpinWait idle = default;
            bool spsc = Ring == "Spsc";
            while (sent < CrossThreadElements)
            {
                ReadOnlySpan<object> burst = _items.AsSpan(0, Math.Min(Burst, CrossThreadElements - sent));
                int n = spsc ? _spsc.EnqueueBurst(burst) : _mpmc.EnqueueBurst(burst);
                sent += n;
                if (n == 0)
                {
                    idle.SpinOnce(sleep1Threshold: -1);
                }
            }
            _done.Release();
        }
    }
}
