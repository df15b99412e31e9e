using System.Diagnostics;

namespace Skiff.Cli.Drivers;

/// <summary>
/// <c>skiff rxdrop</c>'s loop (DPDK's rxonly): one thread per device (queue) receives bursts and frees every frame at
/// once; the calling thread prints the total pps each second and returns the per-second rates.
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
        Thread[] threads = new Thread[devices.Count];
        for (int q = 0; q < devices.Count; q++)
        {
            int queue = q;
            threads[q] = new Thread(() => Drop(devices[queue], queue, done.Token)) { IsBackground = true, Name = $"skiff-rxdrop-{q}" };
            threads[q].Start();
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
        foreach (Thread thread in threads)
        {
            thread.Join();
        }
        return rates;
    }

    private void Drop(IDevice device, int queue, CancellationToken stop)
    {
        PacketBuffer[] burst = new PacketBuffer[Burst];
        long start = Stopwatch.GetTimestamp();
        int idle = 0;
        while (!stop.IsCancellationRequested)
        {
            Instant now = new((Stopwatch.GetTimestamp() - start) * 1_000_000 / Stopwatch.Frequency);
            int n = device.ReceiveBurst(burst, now);
            if (n == 0)
            {
                device.TransmitBurst([], now);
                if (++idle > 1024)
                {
                    Thread.Yield();
                }
                continue;
            }
            idle = 0;
            // One free-list operation per burst, as DPDK's rte_pktmbuf_free_bulk (the device's frames are its pool's).
            device.Pool.FreeBurst(burst.AsSpan(0, n));
            Array.Clear(burst, 0, n);
            Volatile.Write(ref _received[queue * 16], _received[queue * 16] + n);
        }
    }
}
