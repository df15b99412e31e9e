using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Skiff.Stack.Tcp;

namespace Skiff.Engine.Tests;

public sealed class TcpTests
{
    [Fact]
    public async Task Echo_over_pipes_returns_every_byte_and_then_end_of_stream()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, 1);
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        byte[] payload = RandomNumberGenerator.GetBytes(300_000);
        Task<byte[]> echoed = Echo.ReadToEndAsync(client.Transport.Input);
        await client.Transport.Output.WriteAsync(payload);
        await client.CompleteAsync();
        Assert.Equal(payload, await echoed.WaitAsync(EnginePair.Timeout));
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task Reads_hand_out_the_received_packet_buffers_themselves()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, 1);
        await using SkiffConnection client = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        byte[] payload = RandomNumberGenerator.GetBytes(20_000);
        await client.Transport.Output.WriteAsync(payload);
        PipeReader input = client.Transport.Input;
        List<byte> got = [];
        int segments = 0, inPool = 0;
        while (got.Count < payload.Length)
        {
            ReadResult r = await input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
            foreach (ReadOnlyMemory<byte> m in r.Buffer)
            {
                segments++;
                // The in-memory link hands frames across without copying, so they belong to the sender's pool.
                for (int i = 0; i < pair.PoolB.FrameCount; i++)
                {
                    if (m.Span.Overlaps(pair.PoolB.GetFrame(i).Frame) || m.Span.Overlaps(pair.PoolA.GetFrame(i).Frame))
                    {
                        inPool++;
                        break;
                    }
                }
                got.AddRange(m.ToArray());
            }
            input.AdvanceTo(r.Buffer.End);
        }
        Assert.Equal(payload, got);
        Assert.True(segments > 1);
        Assert.Equal(segments, inPool); // every segment is a received frame: no copy
        await client.CompleteAsync();
        await Echo.ReadToEndAsync(input).WaitAsync(EnginePair.Timeout);
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task Echo_over_stream_returns_every_byte()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Task.Run(async () =>
        {
            await using SkiffConnection connection = await listener.AcceptAsync();
            Stream stream = connection.AsStream();
            byte[] buffer = new byte[8192];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, n));
            }
        });
        await using SkiffConnection client = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        Stream stream = client.AsStream();
        byte[] payload = RandomNumberGenerator.GetBytes(100_000);
        byte[] got = new byte[payload.Length];
        Task reader = Task.Run(async () => await stream.ReadExactlyAsync(got));
        await stream.WriteAsync(payload);
        await reader.WaitAsync(EnginePair.Timeout);
        Assert.Equal(payload, got);
        await client.CompleteAsync();
        Assert.Equal(0, await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(EnginePair.Timeout));
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task A_thousand_concurrent_connections_each_echo_a_few_KiB()
    {
        const int connections = 1000;
        const int bytes = 4096;
        await using EnginePair pair = new(o => o with { Tcp = new TcpLayerOptions { MaxConnections = 4096, DefaultBacklog = 1024, DefaultMaxHalfOpen = 1024 } });
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, connections);
        Task[] clients = new Task[connections];
        for (int i = 0; i < connections; i++)
        {
            int seed = i;
            clients[i] = Task.Run(async () =>
            {
                byte[] payload = new byte[bytes];
                new Random(seed).NextBytes(payload);
                await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7));
                Task<byte[]> echoed = Echo.ReadToEndAsync(client.Transport.Input);
                await client.Transport.Output.WriteAsync(payload);
                await client.CompleteAsync();
                Assert.Equal(payload, await echoed);
            });
        }
        await Task.WhenAll(clients).WaitAsync(EnginePair.Timeout);
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task A_64_MiB_transfer_both_ways_at_once_arrives_intact()
    {
        const long total = 64L << 20;
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(5001);
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(5001)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);

        Task<byte[]> sentUp = Task.Run(() => SendAsync(client.Transport.Output, total, seed: 1));
        Task<byte[]> sentDown = Task.Run(() => SendAsync(server.Transport.Output, total, seed: 2));
        Task<(long, byte[])> gotUp = Task.Run(() => ReceiveAsync(server.Transport.Input));
        Task<(long, byte[])> gotDown = Task.Run(() => ReceiveAsync(client.Transport.Input));
        await Task.WhenAll(sentUp, sentDown, gotUp, gotDown).WaitAsync(EnginePair.Timeout);
        (long upBytes, byte[] upHash) = await gotUp;
        (long downBytes, byte[] downHash) = await gotDown;
        Assert.Equal(total, upBytes);
        Assert.Equal(total, downBytes);
        Assert.Equal(await sentUp, upHash);
        Assert.Equal(await sentDown, downHash);

        static async Task<byte[]> SendAsync(PipeWriter output, long total, int seed)
        {
            using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            Random random = new(seed);
            long sent = 0;
            while (sent < total)
            {
                Memory<byte> memory = output.GetMemory(65536);
                int n = (int)Math.Min(memory.Length, total - sent);
                random.NextBytes(memory.Span[..n]);
                hash.AppendData(memory.Span[..n]);
                output.Advance(n);
                sent += n;
                await output.FlushAsync();
            }
            await output.CompleteAsync();
            return hash.GetHashAndReset();
        }

        static async Task<(long, byte[])> ReceiveAsync(PipeReader input)
        {
            using IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long received = 0;
            while (true)
            {
                ReadResult result = await input.ReadAsync();
                foreach (ReadOnlyMemory<byte> segment in result.Buffer)
                {
                    hash.AppendData(segment.Span);
                    received += segment.Length;
                }
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return (received, hash.GetHashAndReset());
                }
            }
        }
    }

    [Fact]
    public async Task Graceful_close_delivers_all_data_then_end_of_stream()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(80);
        byte[] payload = RandomNumberGenerator.GetBytes(200_000);
        Task server = Task.Run(async () =>
        {
            SkiffConnection connection = await listener.AcceptAsync();
            await connection.Transport.Output.WriteAsync(payload);
            await connection.DisposeAsync(); // FIN after every byte
        });
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(80)).AsTask().WaitAsync(EnginePair.Timeout);
        Assert.Equal(payload, await Echo.ReadToEndAsync(client.Transport.Input).WaitAsync(EnginePair.Timeout));
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task Abort_resets_the_connection_and_the_peer_sees_a_reset_error()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(80);
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(80)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
        await client.Transport.Output.WriteAsync(new byte[1000]);
        ReadResult first = await server.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
        server.Transport.Input.AdvanceTo(first.Buffer.End);

        client.Abort();

        SkiffSocketException reset = await Assert.ThrowsAsync<SkiffSocketException>(() => Echo.ReadToEndAsync(server.Transport.Input).WaitAsync(EnginePair.Timeout));
        Assert.Equal(TcpError.Reset, reset.Error);
        SkiffSocketException aborted = await Assert.ThrowsAsync<SkiffSocketException>(() => Echo.ReadToEndAsync(client.Transport.Input).WaitAsync(EnginePair.Timeout));
        Assert.Equal(TcpError.Aborted, aborted.Error);
    }

    [Fact]
    public async Task Shutdown_sends_what_was_flushed_then_a_FIN_and_ends_the_local_reads()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(80);
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(80)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
        byte[] payload = RandomNumberGenerator.GetBytes(20_000);
        await server.Transport.Output.WriteAsync(payload);
        await client.Transport.Output.WriteAsync(new byte[500]); // unread by the server: dropped, not a reason to reset

        InvalidOperationException reason = new("the application gave up");
        server.Shutdown(reason);

        Assert.Equal(payload, await Echo.ReadToEndAsync(client.Transport.Input).WaitAsync(EnginePair.Timeout)); // then the FIN
        InvalidOperationException seen = await Assert.ThrowsAsync<InvalidOperationException>(() => Echo.ReadToEndAsync(server.Transport.Input).WaitAsync(EnginePair.Timeout));
        Assert.Same(reason, seen);
        await client.Transport.Output.WriteAsync(new byte[100]); // the half-closed peer may still send; it is discarded
        await client.DisposeAsync();
        await server.DisposeAsync().AsTask().WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task A_linger_timeout_resets_a_connection_whose_peer_never_reads()
    {
        TimeSpan linger = TimeSpan.FromMilliseconds(300);
        await using EnginePair pair = new(o => o with { LingerTimeout = linger, OutputPauseThresholdBytes = 64 << 20, InputPauseThresholdBytes = 4096 });
        await using SkiffListener listener = pair.B.Listen(80);
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(80)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
        // More than the peer's window, its input pipe and our send buffer together: the drain cannot finish while B does not read.
        await client.Transport.Output.WriteAsync(new byte[32 << 20]);

        System.Diagnostics.Stopwatch watch = System.Diagnostics.Stopwatch.StartNew();
        await client.DisposeAsync().AsTask().WaitAsync(EnginePair.Timeout);
        // Task.Delay's timer may fire a few milliseconds early against the Stopwatch.
        Assert.True(watch.Elapsed >= linger - TimeSpan.FromMilliseconds(50), $"DisposeAsync returned after {watch.Elapsed}, before the linger timeout");

        SkiffSocketException reset = await Assert.ThrowsAsync<SkiffSocketException>(() => Echo.ReadToEndAsync(server.Transport.Input).WaitAsync(EnginePair.Timeout));
        Assert.Equal(TcpError.Reset, reset.Error);
    }

    [Fact]
    public void A_negative_linger_timeout_is_refused()
    {
        SkiffStackOptions options = new() { Mac = default, Addresses = [new Skiff.Wire.Ipv4Cidr(EnginePair.AddressA, 24)], LingerTimeout = TimeSpan.FromSeconds(-1) };
        Assert.Contains("LingerTimeout", Assert.Throws<ArgumentException>(options.Validate).Message);
    }

    [Fact]
    public async Task Connecting_to_a_port_nobody_listens_on_is_refused()
    {
        await using EnginePair pair = new();
        SkiffSocketException refused = await Assert.ThrowsAsync<SkiffSocketException>(
            () => SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(9)).AsTask().WaitAsync(EnginePair.Timeout));
        Assert.Equal(TcpError.Refused, refused.Error);
    }
}
