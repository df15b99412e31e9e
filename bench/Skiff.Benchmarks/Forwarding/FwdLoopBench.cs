using System.Diagnostics;
using System.Globalization;
using System.Net;
using Skiff.Benchmarks.Drivers;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Forwarding;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Benchmarks.Forwarding;

/// <summary>
/// <c>fwdloop [--frames 64] [--seconds 5] [--cpu 1] [--bytes 64] [--ring 1024]</c>: the forwarder's io mode on one engine loop
/// in a closed in-memory loop, the counterpart of <c>dpdk-testpmd --vdev net_ring0 --vdev net_ring1 --forward-mode=io
/// --tx-first</c> (bench/fwdloop.sh runs both). Two <see cref="InMemoryLink"/> pairs (A1-B1, A2-B2) are the loop's four
/// ports, which the <see cref="Forwarder"/> pairs as A1↔A2 and B1↔B2, so a frame goes A1 → A2 → B2 → B1 → A1 → ...: every
/// receive on any port is one forward, as every receive on a net_ring port (which loops back to itself) is one of testpmd's.
/// <c>frames</c> 64-byte frames are put on the wire before the loop starts (testpmd's tx_first: one 32-frame burst per port).
/// The engine thread is pinned to <c>cpu</c>; the main thread reads the ports' receive counters once a second and prints
/// the median forwards per second of the run's seconds (the first second is warm-up).
/// </summary>
internal static class FwdLoopBench
{
    public static int Run(string[] args)
    {
        Dictionary<string, string> o = [];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }
        int frames = int.Parse(o.GetValueOrDefault("frames", "64"), CultureInfo.InvariantCulture);
        int seconds = int.Parse(o.GetValueOrDefault("seconds", "5"), CultureInfo.InvariantCulture);
        int cpu = int.Parse(o.GetValueOrDefault("cpu", "1"), CultureInfo.InvariantCulture);
        int bytes = int.Parse(o.GetValueOrDefault("bytes", "64"), CultureInfo.InvariantCulture);
        int ring = int.Parse(o.GetValueOrDefault("ring", "1024"), CultureInfo.InvariantCulture);
        if (frames < 2 || frames > ring)
        {
            Console.Error.WriteLine($"fwdloop: --frames must be from 2 to the ring size ({ring}).");
            return 2;
        }

        using PacketPool pool = new(Math.Max(4096, frames * 2));
        (InMemoryDevice a1, InMemoryDevice b1) = InMemoryLink.CreatePair(pool, ring);
        (InMemoryDevice a2, InMemoryDevice b2) = InMemoryLink.CreatePair(pool, ring);
        InMemoryDevice[] devices = [a1, a2, b1, b2];
        ForwardingPort[] ports = [.. Enumerable.Range(0, 4).Select(i => new ForwardingPort { Mac = new MacAddress(0x02_00_00_00_01_00UL | (uint)i) })];
        Interface counters = new(new InterfaceOptions { Mac = ports[0].Mac, Addresses = [Ipv4Cidr.Parse("192.0.2.1/32")], RxBurst = 64, LargeBufferCount = 1, GratuitousArp = false }, pool);
        Forwarder forwarder = new(ForwardingMode.Io, ports, [pool, pool, pool, pool], counters.Counters, rxBurst: 64);
        SkiffEngine engine = new(counters, devices, new SkiffEngineOptions { ThreadName = "skiff-fwdloop", PinToCpu = cpu }, forwarder);
        forwarder.Attach([.. Enumerable.Range(0, devices.Length).Select(engine.PortOutput)]);

        // tx_first: half the frames into A1's receive ring (sent by B1), half into A2's (sent by B2).
        byte[] frame = UdpFrame.Build([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], IPAddress.Parse("198.18.0.1"), IPAddress.Parse("198.18.0.2"), 9, 9, bytes);
        PacketBuffer[] burst = new PacketBuffer[frames];
        if (pool.AllocateBurst(burst) != frames)
        {
            Console.Error.WriteLine("fwdloop: the pool has too few frames.");
            return 1;
        }
        foreach (PacketBuffer b in burst)
        {
            b.TrySetLength(bytes);
            frame.CopyTo(b.Data);
        }
        int half = frames / 2;
        int sent = b1.TransmitBurst(burst.AsSpan(0, half), default) + b2.TransmitBurst(burst.AsSpan(half), default);
        if (sent != frames)
        {
            Console.Error.WriteLine($"fwdloop: only {sent} of {frames} frames fit the rings.");
            return 1;
        }

        engine.Start();
        long Received() => devices.Sum(d => d.RxPackets);
        List<double> rates = [];
        long last = Received();
        long lastTs = Stopwatch.GetTimestamp();
        for (int s = 0; s <= seconds; s++)
        {
            Thread.Sleep(1000);
            long now = Received();
            long ts = Stopwatch.GetTimestamp();
            if (s > 0)
            {
                rates.Add((now - last) / ((ts - lastTs) / (double)Stopwatch.Frequency));
            }
            last = now;
            lastTs = ts;
        }
        engine.Stop();
        if (engine.Failure is Exception failure)
        {
            Console.Error.WriteLine($"fwdloop: the loop failed: {failure.Message}");
            return 1;
        }
        rates.Sort();
        double median = rates[rates.Count / 2];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"skiff-fwdloop frames {frames} pinned {engine.PinnedCpu?.ToString(CultureInfo.InvariantCulture) ?? "no"} forwarded {counters.Counters.ForwardedFrames} mpps {median / 1e6:F3} seconds {string.Join(' ', rates.Select(r => (r / 1e6).ToString("F3", CultureInfo.InvariantCulture)))}"));
        return 0;
    }
}
