using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Skiff.Benchmarks.Stack;

/// <summary>
/// The same three loops as <see cref="StackBench"/> over the Linux kernel's sockets on 127.0.0.1, so every
/// Skiff figure has a kernel figure from the same harness, run and machine. The kernel side uses two
/// threads (client and server) and blocking sockets, as an ordinary .NET program would; loopback has a
/// 64 KiB MTU and no checksums, so it flatters the kernel's TCP throughput.
/// </summary>
public static class KernelBench
{
    public static void TcpThroughput(double seconds)
    {
        using Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        long received = 0;
        bool stop = false;
        Thread server = new(() =>
        {
            using Socket s = listener.Accept();
            byte[] buf = new byte[256 * 1024];
            int n;
            while ((n = s.Receive(buf)) > 0)
            {
                Interlocked.Add(ref received, n);
            }
        }) { IsBackground = true };
        server.Start();
        using Socket client = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        byte[] chunk = new byte[64 * 1024];
        Thread writer = new(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                client.Send(chunk);
            }
            client.Shutdown(SocketShutdown.Send);
        }) { IsBackground = true };
        writer.Start();
        Thread.Sleep(500);
        long r0 = Interlocked.Read(ref received);
        long t0 = Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        long r1 = Interlocked.Read(ref received);
        double s = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
        Volatile.Write(ref stop, true);
        writer.Join();
        server.Join();
        Console.WriteLine($"kernel tcp single stream (loopback, 2 threads): {(r1 - r0) * 8 / s / 1e9:0.00} Gbit/s");
    }

    public static void ConnectRequestResponse(double seconds)
    {
        using Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1024);
        EndPoint target = listener.LocalEndPoint!;
        bool stop = false;
        Thread server = new(() =>
        {
            byte[] buf = new byte[256];
            while (!Volatile.Read(ref stop))
            {
                Socket s;
                try
                {
                    s = listener.Accept();
                }
                catch (SocketException)
                {
                    return;
                }
                int got = 0;
                while (got < 64)
                {
                    int n = s.Receive(buf);
                    if (n == 0)
                    {
                        break;
                    }
                    got += n;
                }
                s.Send(buf.AsSpan(0, 64));
                s.Close();
            }
        }) { IsBackground = true };
        server.Start();
        byte[] request = new byte[64];
        byte[] reply = new byte[256];
        long done = 0;
        void One()
        {
            using Socket c = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            c.LingerState = new LingerOption(false, 0);
            c.Connect(target);
            c.Send(request);
            while (c.Receive(reply) > 0)
            {
            }
            done++;
        }
        long d0 = 0;
        (double s, _) = MeasuredLoop.Run(One, seconds, () => d0 = done);
        Volatile.Write(ref stop, true);
        listener.Close();
        Console.WriteLine($"kernel tcp connect+request+reply+close, one at a time (loopback, 2 threads): {(done - d0) / s:0} per second");
    }

    public static void UdpEcho(double seconds)
    {
        using Socket server = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using Socket client = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        client.Connect(server.LocalEndPoint!);
        client.ReceiveTimeout = 200;
        bool stop = false;
        Thread echo = new(() =>
        {
            byte[] buf = new byte[2048];
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            server.ReceiveTimeout = 200;
            while (!Volatile.Read(ref stop))
            {
                try
                {
                    int n = server.ReceiveFrom(buf, ref from);
                    server.SendTo(buf.AsSpan(0, n), from);
                }
                catch (SocketException)
                {
                }
            }
        }) { IsBackground = true };
        echo.Start();
        byte[] payload = new byte[64];
        byte[] buffer = new byte[2048];
        for (int i = 0; i < 32; i++)
        {
            client.Send(payload);
        }
        long echoed = 0;
        void Step()
        {
            try
            {
                client.Receive(buffer);
                echoed++;
            }
            catch (SocketException)
            {
                // a datagram was lost (queue overflow): put one back in flight
            }
            client.Send(payload);
        }
        long e0 = 0;
        (double s, _) = MeasuredLoop.Run(Step, seconds, () => e0 = echoed);
        Volatile.Write(ref stop, true);
        echo.Join();
        Console.WriteLine($"kernel udp echo, 32 in flight, 64-byte payloads (loopback, 2 threads): {(echoed - e0) / s:0} echoes per second");
    }
}
