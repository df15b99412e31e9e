using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Benchmarks.Pipeline;

/// <summary>
/// <c>wake [--gaps 100,250,500,1000,5000] [--count 2000] [--device memory|waitable] [--idle default|noyield|yieldloop]</c>: how
/// late the engine's idle loop wakes for a stage's <see cref="IEngineStage.PollAt"/> (a shaper's next departure), and how
/// much CPU it burns meanwhile. A stage asks to run <c>gap</c> microseconds after each run; the loop has nothing else to do,
/// so it backs off (spin, yield, sleep in ppoll(2)) until then. Prints, per gap, the wake lateness p50/p99/max in microseconds
/// on the engine's clock and the process's CPU time over wall time. <c>--device waitable</c> gives port 0 a descriptor (a pipe
/// nobody writes) so the loop sleeps on a device as on TAP, AF_PACKET or AF_XDP; <c>memory</c> parks on the eventfd alone.
/// <c>--idle yieldloop</c> never sleeps (what the loop did for sub-millisecond waits before ppoll): the anchor for CPU use.
/// </summary>
internal static class WakeBench
{
    private sealed class DeadlineStage(int gapMicros, int count) : IEngineStage
    {
        private Instant _due = Instant.Never;
        public readonly long[] Lateness = new long[count];
        public int Taken;

        public bool Run(Instant now)
        {
            if (_due == Instant.Never)
            {
                _due = now + Duration.FromMicros(gapMicros);
                return false;
            }
            if (now < _due || Taken == Lateness.Length)
            {
                return false;
            }
            Lateness[Taken++] = (now - _due).TotalMicros;
            _due = now + Duration.FromMicros(gapMicros);
            return true;
        }

        public Instant PollAt(Instant now) => Taken == Lateness.Length ? Instant.Never : _due;
    }

    /// <summary>An in-memory port with a descriptor to sleep on that never becomes readable: the loop blocks as on a real device.</summary>
    private sealed class WaitableDevice(IDevice inner, int fd) : DelegatingDevice(inner)
    {
        public override int ReceiveWaitDescriptor => fd;
    }

    public static int Run(string[] args)
    {
        Dictionary<string, string> o = [];
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            o[args[i].TrimStart('-')] = args[i + 1];
        }
        int[] gaps = [.. o.GetValueOrDefault("gaps", "100,250,500,1000,5000").Split(',').Select(g => int.Parse(g, CultureInfo.InvariantCulture))];
        int count = int.Parse(o.GetValueOrDefault("count", "2000"), CultureInfo.InvariantCulture);
        string deviceKind = o.GetValueOrDefault("device", "memory");
        string idle = o.GetValueOrDefault("idle", "default");
        SkiffIdlePolicy policy = idle switch
        {
            "default" => new SkiffIdlePolicy(),
            "noyield" => new SkiffIdlePolicy { YieldIterations = 0 },
            "yieldloop" => new SkiffIdlePolicy { YieldIterations = int.MaxValue },
            _ => throw new ArgumentException($"--idle {idle}: give default, noyield or yieldloop."),
        };
        Console.WriteLine($"wake: device {deviceKind}, idle {idle}, {count} wakes per gap");
        Console.WriteLine("gap_us  late_p50_us  late_p99_us  late_max_us  cpu_pct");
        foreach (int gap in gaps)
        {
            using PacketPool pool = new(256);
            (InMemoryDevice a, InMemoryDevice _) = InMemoryLink.CreatePair(pool, 64);
            using AnonymousPipeServerStream pipe = new(PipeDirection.Out);
            IDevice device = deviceKind == "waitable" ? new WaitableDevice(a, (int)pipe.ClientSafePipeHandle.DangerousGetHandle()) : a;
            Interface iface = new(new InterfaceOptions
            {
                Mac = new MacAddress(0x02_00_00_00_00_77UL),
                Addresses = [new Ipv4Cidr(new Ipv4Address(10, 79, 0, 1), 24)],
            }, pool);
            SkiffEngine engine = new(iface, [device], new SkiffEngineOptions { Idle = policy });
            DeadlineStage stage = new(gap, count);
            engine.AddStage(stage);
            TimeSpan cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            long t0 = Stopwatch.GetTimestamp();
            engine.RunOnCallingThread(() => stage.Taken == count, CancellationToken.None);
            double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            engine.Stop();
            long[] late = stage.Lateness;
            Array.Sort(late);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{gap,6}  {late[count / 2],11}  {late[count * 99 / 100],11}  {late[^1],11}  {100 * cpu / wall,7:F1}"));
        }
        return 0;
    }
}
