using System.Diagnostics;
using Skiff.Devices;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Benchmarks.Stack;

/// <summary>
/// Whole-stack loops on one core: two Skiff stacks over the in-memory link, polled alternately by one
/// thread on the real clock. Prints the figure and the GC collections of the measured phase.
/// Usage: <c>dotnet run -c Release --project bench/Skiff.Benchmarks -- stack [tcp|crr|udp|all] [--seconds S] [--offload] [--idle N] [--ipv6|--both]</c>
/// (<c>--idle N</c>: the short connections run beside N established connections that stay idle, which a poll must not pay for;
/// <c>--ipv6</c>: the same loops between fd00::1 and fd00::2; <c>--both</c>: each loop over IPv4, then over IPv6, in one run).
/// </summary>
public static class StackBench
{
    public static int Run(string[] args)
    {
        string what = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "all";
        double seconds = 3;
        bool offload = args.Contains("--offload");
        int i = Array.IndexOf(args, "--seconds");
        if (i >= 0 && i + 1 < args.Length)
        {
            seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        bool kernel = args.Contains("--kernel");
        int idle = 0;
        int k = Array.IndexOf(args, "--idle");
        if (k >= 0 && k + 1 < args.Length)
        {
            idle = int.Parse(args[k + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        int rounds = 1;
        int r = Array.IndexOf(args, "--rounds");
        if (r >= 0 && r + 1 < args.Length)
        {
            rounds = int.Parse(args[r + 1], System.Globalization.CultureInfo.InvariantCulture);
        }
        bool[] families = args.Contains("--both") ? [false, true] : [args.Contains("--ipv6")];
        Console.WriteLine($"skiff stack bench: one thread, two stacks over the in-memory link, {seconds} s per run, checksums {(offload ? "offloaded (virtual link)" : "computed and verified")}");
        for (int round = 1; round <= rounds; round++)
        {
            if (rounds > 1)
            {
                Console.WriteLine($"round {round}");
            }
            foreach (bool v6 in families)
            {
                Ipv6 = v6;
                RunOne(what, seconds, offload, kernel && !v6, idle);
            }
        }
        return 0;
    }

    /// <summary>The loops run between fd00::1 and fd00::2 instead of 10.0.0.1 and 10.0.0.2.</summary>
    private static bool Ipv6;

    private static readonly Ipv6Address Ipv6A = Ipv6Address.Parse("fd00::1");
    private static readonly Ipv6Address Ipv6B = Ipv6Address.Parse("fd00::2");

    private static IpAddress AddressA => Ipv6 ? Ipv6A : new Ipv4Address(10, 0, 0, 1);

    private static IpAddress AddressB => Ipv6 ? Ipv6B : new Ipv4Address(10, 0, 0, 2);

    private static string Family => Ipv6 ? " [ipv6]" : "";

    private static void RunOne(string what, double seconds, bool offload, bool kernel, int idle)
    {
        {
            if (what is "tcp" or "all")
            {
                TcpThroughput(seconds, offload);
                if (kernel)
                {
                    KernelBench.TcpThroughput(seconds);
                }
            }
            if (what is "crr" or "all")
            {
                ConnectRequestResponse(seconds, offload, idle);
                if (kernel)
                {
                    KernelBench.ConnectRequestResponse(seconds);
                }
            }
            if (what is "udp" or "all")
            {
                UdpEcho(seconds, offload);
                if (kernel)
                {
                    KernelBench.UdpEcho(seconds);
                }
            }
        }
    }

    private sealed class Pair
    {
        public readonly ManualClockless Clock = new();
        public readonly PacketPool PoolA = new(32768);
        public readonly PacketPool PoolB = new(32768);
        public readonly InMemoryDevice DevA;
        public readonly InMemoryDevice DevB;
        public readonly Interface A;
        public readonly Interface B;

        public Pair(bool offload, TcpLayerOptions? tcp = null)
        {
            DeviceCapabilities caps = offload
                ? new DeviceCapabilities(MtuBytes: 1500, TxChecksum: ChecksumOffloads.All, RxChecksum: ChecksumOffloads.All)
                : new DeviceCapabilities(MtuBytes: 1500);
            (DevA, DevB) = InMemoryLink.CreatePair(PoolA, PoolB, 4096, caps,
                offload ? ChecksumState.IpVerified | ChecksumState.L4Verified : ChecksumState.None);
            A = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:01"), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], SecretKey = 1, Tcp = tcp ?? new(), Ipv6 = V6("fd00::1/64") }, PoolA);
            B = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:02"), Addresses = [Ipv4Cidr.Parse("10.0.0.2/24")], SecretKey = 2, Tcp = tcp ?? new(), Ipv6 = V6("fd00::2/64") }, PoolB);
            if (Ipv6)
            {
                // Duplicate address detection keeps the addresses tentative for a second (RFC 4862).
                long end = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 3 / 2;
                while (Stopwatch.GetTimestamp() < end)
                {
                    Poll();
                }
            }
        }

        private static Skiff.Stack.Ipv6.Ipv6Options? V6(string address) =>
            Ipv6 ? new Skiff.Stack.Ipv6.Ipv6Options { Addresses = [Skiff.Stack.Ipv6.Ipv6Prefix.Parse(address)], RouterSolicitations = false } : null;

        public void Poll()
        {
            Instant now = Clock.Now;
            A.Poll(now, DevA);
            B.Poll(now, DevB);
        }
    }

    /// <summary>The real monotonic clock in microseconds.</summary>
    private sealed class ManualClockless
    {
        private readonly long _start = Stopwatch.GetTimestamp();

        public Instant Now => new((Stopwatch.GetTimestamp() - _start) * 1_000_000 / Stopwatch.Frequency);
    }

    /// <summary>One connection, 10.0.0.1 sends as fast as it can, 10.0.0.2 consumes in place (iperf3's shape).</summary>
    public static void TcpThroughput(double seconds, bool offload)
    {
        Pair p = new(offload);
        TcpListener listener = p.B.Tcp.Listen(5201);
        SocketHandle ch = p.A.Tcp.Connect(p.Clock.Now, AddressA, AddressB, 5201, null);
        SocketHandle sh = default;
        while (!p.B.Tcp.TryAccept(listener, out sh))
        {
            p.Poll();
        }
        TcpSocket client = p.A.Tcp.Get(ch);
        TcpSocket server = p.B.Tcp.Get(sh);
        byte[] chunk = new byte[64 * 1024];
        Random.Shared.NextBytes(chunk);
        long received = 0;
        void Step()
        {
            while (client.CanSend && client.Send(chunk) > 0)
            {
            }
            p.Poll();
            while (server.TryPeek(out ReadOnlySpan<byte> data))
            {
                received += data.Length;
                server.Consume(data.Length);
            }
        }
        // Warm up (JIT, slow start), then measure.
        long r0 = 0;
        (double s, int collections) = MeasuredLoop.Run(Step, seconds, () => r0 = received);
        long bytes = received - r0;
        Console.WriteLine($"tcp single stream{Family}: {bytes * 8 / s / 1e9:0.00} Gbit/s ({bytes / s / 1e6:0} MB/s payload), retransmissions {client.Counters.Retransmissions}, gc collections {collections}");
    }

    /// <summary>Short connections: connect, 64-byte request, 64-byte reply, close; one at a time, beside <paramref name="idle"/> idle ones.</summary>
    public static void ConnectRequestResponse(double seconds, bool offload, int idle = 0)
    {
        TcpLayerOptions options = new() { MaxConnections = 4096 + idle, MaxTimeWait = 1024 };
        if (idle > 0)
        {
            options = options with { EphemeralPortFirst = 10_000 }; // room for the idle ones beside the short ones
        }
        Pair p = new(offload, options);
        TcpListener idleListener = p.B.Tcp.Listen(9090, backlog: 1024);
        for (int n = 0; n < idle; n++)
        {
            p.A.Tcp.Connect(p.Clock.Now, AddressA, AddressB, 9090, null);
            SocketHandle accepted;
            while (!p.B.Tcp.TryAccept(idleListener, out accepted))
            {
                p.Poll();
            }
        }
        TcpListener listener = p.B.Tcp.Listen(8080, backlog: 1024);
        byte[] request = new byte[64];
        byte[] reply = new byte[64];
        byte[] buffer = new byte[256];
        long done = 0;
        void One()
        {
            SocketHandle ch = p.A.Tcp.Connect(p.Clock.Now, AddressA, AddressB, 8080, null);
            TcpSocket client = p.A.Tcp.Get(ch);
            SocketHandle sh = default;
            while (!p.B.Tcp.TryAccept(listener, out sh))
            {
                p.Poll();
            }
            TcpSocket server = p.B.Tcp.Get(sh);
            while (client.State != TcpState.Established)
            {
                p.Poll();
            }
            client.Send(request);
            int got = 0;
            while (got < request.Length)
            {
                p.Poll();
                got += server.Receive(buffer);
            }
            server.Send(reply);
            server.Close();
            got = 0;
            while (got < reply.Length || !client.IsReceiveFinished)
            {
                p.Poll();
                got += client.Receive(buffer);
            }
            client.Close();
            p.A.Tcp.Release(ch);
            p.B.Tcp.Release(sh);
            p.Poll();
            p.Poll();
            done++;
        }
        long allocated0 = 0, d0 = 0;
        (double s, int collections) = MeasuredLoop.Run(One, seconds, () =>
        {
            allocated0 = GC.GetAllocatedBytesForCurrentThread();
            d0 = done;
        });
        long perConnection = (GC.GetAllocatedBytesForCurrentThread() - allocated0) / Math.Max(1, done - d0);
        Console.WriteLine($"tcp connect+request+reply+close{Family}, one at a time{(idle > 0 ? $" beside {idle} idle connections" : "")}: {(done - d0) / s:0} per second, {perConnection} bytes allocated per connection, gc collections {collections}, time-wait recycled/reused {p.A.Tcp.Counters.TimeWaitRecycled + p.B.Tcp.Counters.TimeWaitRecycled}/{p.A.Tcp.Counters.TimeWaitReused + p.B.Tcp.Counters.TimeWaitReused}");
    }

    /// <summary>UDP echo, 32 datagrams of 64 bytes in flight.</summary>
    public static void UdpEcho(double seconds, bool offload)
    {
        Pair p = new(offload);
        UdpSocket server = p.B.Udp.Bind(7, default, 1024, 1024);
        UdpSocket client = p.A.Udp.Bind(0, default, 1024, 1024);
        UdpEndpoint target = new(AddressB, 7);
        byte[] payload = new byte[64];
        byte[] buffer = new byte[2048];
        long echoed = 0;
        int inFlight = 0;
        void Step()
        {
            while (inFlight < 32 && client.TrySend(payload, target))
            {
                inFlight++;
            }
            p.Poll();
            while (server.TryReceive(out PacketBuffer? d, out UdpEndpoint from))
            {
                server.TrySend(d.Data, from);
                d.Free();
            }
            while (client.TryReceive(buffer, out _, out _))
            {
                echoed++;
                inFlight--;
            }
        }
        long e0 = 0;
        (double s, int collections) = MeasuredLoop.Run(Step, seconds, () => e0 = echoed);
        Console.WriteLine($"udp echo{Family}, 32 in flight, 64-byte payloads: {(echoed - e0) / s:0} echoes per second ({2 * (echoed - e0) / s:0} packets per second through both stacks), gc collections {collections}");
    }
}
