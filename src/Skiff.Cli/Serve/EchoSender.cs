using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Cli.Demo;
using Skiff.Cli.Drivers;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Cli.Serve;

/// <summary>
/// The client of <c>skiff send</c>: connects to a TCP echo server, sends <c>N</c> bytes of a <see cref="SeededStream"/>
/// while reading the echo back, and compares the SHA-256 of both. Exit 0 when they match, 1 when not (or when the
/// connection fails or stalls).
/// </summary>
internal sealed class EchoSender(StackHost host, TextWriter output)
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>How long a connection attempt, or a transfer that moves no byte, may take before the send fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public int Run(Ipv4Address to, ushort port, long bytes, ulong seed, CancellationToken stop)
    {
        Interface iface = host.Interface;
        PollLoop loop = host.Loop;
        SocketHandle handle = iface.Tcp.Connect(loop.Now, iface.SourceFor(to), to, port);
        TcpSocket socket = iface.Tcp.Get(handle);
        try
        {
            if (!loop.RunUntil(() => socket.State != TcpState.SynSent && socket.State != TcpState.SynReceived, Timeout, stop) || !socket.IsConnected)
            {
                output.WriteLine($"skiff send: could not connect to {to}:{port} ({(socket.State == TcpState.Closed ? socket.Error.ToString() : "no answer within " + Timeout.TotalSeconds + " s")}); check that an echo server listens there and the address is reachable.");
                return 1;
            }
            output.WriteLine($"skiff send: connected {socket.Tuple.LocalAddress}:{socket.Tuple.LocalPort} -> {to}:{port}; sending {bytes} bytes");
            output.Flush();

            SeededStream stream = new(seed);
            byte[] chunk = new byte[ChunkBytes];
            int chunkOffset = 0, chunkLength = 0;
            long sent = 0, received = 0;
            using IncrementalHash sentHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using IncrementalHash receivedHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long start = Stopwatch.GetTimestamp();
            long lastProgress = start;
            long timeoutTicks = (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
            bool failed = false;
            loop.Run(_ =>
            {
                bool moved = false;
                while (sent < bytes && socket.CanSend)
                {
                    if (chunkOffset == chunkLength)
                    {
                        chunkLength = (int)Math.Min(ChunkBytes, bytes - sent);
                        stream.Fill(chunk.AsSpan(0, chunkLength));
                        sentHash.AppendData(chunk, 0, chunkLength);
                        chunkOffset = 0;
                    }
                    int n = socket.Send(chunk.AsSpan(chunkOffset, chunkLength - chunkOffset));
                    chunkOffset += n;
                    sent += n;
                    moved |= n > 0;
                }
                while (socket.TryPeek(out ReadOnlySpan<byte> data))
                {
                    receivedHash.AppendData(data);
                    received += data.Length;
                    socket.Consume(data.Length);
                    moved = true;
                }
                long now = Stopwatch.GetTimestamp();
                if (moved)
                {
                    lastProgress = now;
                }
                else if (now - lastProgress > timeoutTicks || socket.IsReceiveFinished)
                {
                    failed = true;
                }
                return new PollLoop.StepResult(moved, failed || received >= bytes);
            }, stop);
            double seconds = (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
            socket.Close();
            loop.RunUntil(() => socket.State is TcpState.Closed or TcpState.TimeWait, TimeSpan.FromSeconds(2), stop);

            string sentHex = Convert.ToHexStringLower(sentHash.GetHashAndReset());
            string receivedHex = Convert.ToHexStringLower(receivedHash.GetHashAndReset());
            bool match = !failed && received == bytes && sentHex == receivedHex;
            output.WriteLine($"sent {sent} bytes, received {received} bytes in {seconds:0.000} s: {received * 8 / Math.Max(seconds, 1e-9) / 1e9:0.000} Gbit/s");
            output.WriteLine($"sha256 sent:     {sentHex}");
            output.WriteLine($"sha256 received: {receivedHex}");
            if (failed)
            {
                output.WriteLine(socket.IsReceiveFinished
                    ? $"skiff send: the server closed the connection after {received} of {bytes} bytes ({socket.Error})."
                    : $"skiff send: stalled: no byte moved for {Timeout.TotalSeconds} s (state {socket.State}).");
            }
            else if (stop.IsCancellationRequested && received < bytes)
            {
                output.WriteLine($"skiff send: interrupted after {received} of {bytes} bytes.");
            }
            output.WriteLine(match ? "integrity: ok" : "integrity: MISMATCH");
            return match ? 0 : 1;
        }
        finally
        {
            iface.Tcp.Release(handle);
            loop.RunUntil(() => false, TimeSpan.FromMilliseconds(50), CancellationToken.None);
        }
    }
}
