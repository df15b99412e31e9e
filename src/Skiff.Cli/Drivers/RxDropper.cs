using System.Diagnostics;
using Skiff.Engine;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>
/// <c>skiff rxdrop</c> (DPDK's rxonly): one busy-polling engine loop per device (queue), whose consumer stage frees every
/// burst at once after the RX hooks; the calling thread prints the total pps each second and returns the per-second rates.
/// </summary>
internal sealed class RxDropper(IReadOnlyList<IDevice> devices)
{
    private const int Burst = 64;
    private readonly long[] _received = new long[devices.Count * 16]; // one cache line per queue

    /// <summary>Frames received over all queues so far.</summary>
    public long Received
    {
        get
        {
            long sum = 0;
            for (int q = 0; q < devices.Count; q++)
            {
                sum += Volatile.Read(ref _received[q * 16]);
            }
            return sum;
        }
    }

    /// <summary>Frames received on queue <paramref name="queue"/> so far.</summary>
    public long ReceivedOn(int queue) => Volatile.Read(ref _received[queue * 16]);

    public List<double> Run(TextWriter output, TimeSpan duration, CancellationToken stop)
    {
        using CancellationTokenSource done = CancellationTokenSource.CreateLinkedTokenSource(stop);
        SkiffEngine[] engines = new SkiffEngine[devices.Count];
        for (int q = 0; q < devices.Count; q++)
        {
            // The engine needs a stack for its drop counters and metrics; with a consumer of its own the stack sees no frame and sends none.
            Interface iface = new(new InterfaceOptions { Mac = new MacAddress(0x02_00_00_00_00_01UL), Addresses = [Ipv4Cidr.Parse("192.0.2.1/32")], RxBurst = Burst }, devices[q].Pool);
            engines[q] = new SkiffEngine(iface, [devices[q]], new SkiffEngineOptions
            {
                Queue = q,
                ThreadName = $"skiff-rxdrop-{q}",
                Idle = SkiffIdlePolicy.BusyPoll, // a receive benchmark: never sleep
            }, new DropConsumer(this, q));
            HooksToAdd?.Invoke(engines[q]);
        }
        using IDisposable? attached = Attach?.Invoke(engines);
        foreach (SkiffEngine engine in engines)
        {
            engine.Start();
        }
        long freq = Stopwatch.Frequency;
        long start = Stopwatch.GetTimestamp();
        long end = duration > TimeSpan.Zero ? start + (long)(duration.TotalSeconds * freq) : long.MaxValue;
        long last = start;
        long lastCount = 0;
        List<double> rates = [];
        while (!done.IsCancellationRequested)
        {
            long wait = Math.Min(last + freq, end) - Stopwatch.GetTimestamp();
            if (wait > 0 && done.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait / (double)freq)))
            {
                break;
            }
            long t = Stopwatch.GetTimestamp();
            long count = Received;
            if (t - last >= freq / 2)
            {
                double pps = (count - lastCount) * (double)freq / (t - last);
                rates.Add(pps);
                output.WriteLine($"  {(t - start) / (double)freq,6:0.0} s  {pps,12:N0} pps");
                output.Flush();
            }
            last = t;
            lastCount = count;
            if (t >= end)
            {
                break;
            }
        }
        done.Cancel();
        foreach (SkiffEngine engine in engines)
        {
            engine.Stop();
            if (engine.Failure is Exception failure)
            {
                throw new InvalidOperationException($"The rxdrop loop of queue {engine.Options.Queue} failed: {failure.Message}", failure);
            }
        }
        return rates;
    }

    /// <summary>Adds RX hooks to each queue's engine before it starts (benchmarks of the hook chain's cost).</summary>
    public Action<SkiffEngine>? HooksToAdd { get; init; }

    /// <summary>Attaches something to all the engines before they start (a capture); disposed after they stop.</summary>
    public Func<IReadOnlyList<SkiffEngine>, IDisposable?>? Attach { get; init; }

    /// <summary>The consumer stage of rxdrop: frees each burst with one free-list operation (DPDK's rte_pktmbuf_free_bulk) and counts it.</summary>
    private sealed class DropConsumer(RxDropper owner, int queue) : IPacketConsumer
    {
        public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
        {
            burst[0].Pool.FreeBurst(burst);
            burst.Clear();
            Volatile.Write(ref owner._received[queue * 16], owner._received[queue * 16] + burst.Length);
        }
    }
}
