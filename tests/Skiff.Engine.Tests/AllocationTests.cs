using System.IO.Pipelines;
using Skiff.Stack.Udp;
using Xunit.Abstractions;

namespace Skiff.Engine.Tests;

/// <summary>
/// Bytes allocated per operation in the steady state, process-wide (engine loops, thread pool and the test's
/// own awaits included), so these run alone (no other test class in parallel) and report the least of several
/// windows. Measured: 0-1 bytes per UDP or TCP round trip (background work, amortised). Any object allocated per
/// operation is 24 bytes or more, so the bound of 16 catches it.
/// </summary>
[Collection(nameof(AllocationTests))]
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationTests(ITestOutputHelper output)
{
    private const int Warmup = 200;

    /// <summary>Round trips are measured in windows this long (not a fixed count), so a loaded machine only lowers the count.</summary>
    private static readonly TimeSpan MeasureFor = TimeSpan.FromMilliseconds(400);

    /// <summary>Windows measured; the least is reported. Work left over from other tests shows in some windows, a per-operation allocation in all.</summary>
    private const int Windows = 5;

    [Fact]
    public async Task Udp_round_trips_allocate_little_in_the_steady_state()
    {
        await using EnginePair pair = new();
        await using SkiffUdpSocket server = pair.B.BindUdp(7);
        await using SkiffUdpSocket client = pair.A.BindUdp();
        using CancellationTokenSource stop = new();
        Task echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            try
            {
                while (true)
                {
                    SkiffUdpReceiveResult r = await server.ReceiveFromAsync(buffer, stop.Token);
                    await server.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        UdpEndpoint destination = new(EnginePair.AddressB, 7);
        byte[] payload = new byte[64];
        byte[] reply = new byte[2048];
        Task run = Task.Run(async () =>
        {
            for (int i = 0; i < Warmup; i++)
            {
                await client.SendToAsync(payload, destination);
                await client.ReceiveFromAsync(reply);
            }
            // Windows inline, not through a helper taking an async delegate: each suspended call of one allocates.
            long perRoundTrip = long.MaxValue;
            int count = 0;
            for (int w = 0; w < Windows; w++)
            {
                long end = Environment.TickCount64 + (long)MeasureFor.TotalMilliseconds;
                long before = GC.GetTotalAllocatedBytes(precise: true);
                for (count = 0; count < Warmup || Environment.TickCount64 < end; count++)
                {
                    await client.SendToAsync(payload, destination);
                    await client.ReceiveFromAsync(reply);
                }
                perRoundTrip = Math.Min(perRoundTrip, (GC.GetTotalAllocatedBytes(precise: true) - before) / count);
            }
            output.WriteLine($"UDP: {perRoundTrip} bytes allocated per round trip, least of {Windows} windows of about {count} round trips (2 sends, 2 receives, both engines)");
            Assert.True(perRoundTrip < 16, $"{perRoundTrip} bytes per UDP round trip");
        });
        await run.WaitAsync(EnginePair.Timeout);
        stop.Cancel();
        await echo.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task Tcp_request_response_over_pipes_allocates_little_in_the_steady_state()
    {
        await using EnginePair pair = new(o => o with { TcpConfig = o.TcpConfig with { Nagle = false, DelayedAck = false } });
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, 1);
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        PipeReader input = client.Transport.Input;
        PipeWriter writer = client.Transport.Output;
        byte[] request = new byte[64];
        Task run = Task.Run(async () =>
        {
            async Task RoundTrip()
            {
                await writer.WriteAsync(request);
                long got = 0;
                while (got < request.Length)
                {
                    ReadResult r = await input.ReadAsync();
                    got += r.Buffer.Length;
                    input.AdvanceTo(r.Buffer.End);
                }
            }
            for (int i = 0; i < Warmup; i++)
            {
                await RoundTrip();
            }
            // Inline, not RoundTrip(): each call of an async method that suspends allocates its state machine.
            long perRoundTrip = long.MaxValue;
            int count = 0;
            for (int w = 0; w < Windows; w++)
            {
                long end = Environment.TickCount64 + (long)MeasureFor.TotalMilliseconds;
                long before = GC.GetTotalAllocatedBytes(precise: true);
                for (count = 0; count < Warmup || Environment.TickCount64 < end; count++)
                {
                    await writer.WriteAsync(request);
                    long got = 0;
                    while (got < request.Length)
                    {
                        ReadResult r = await input.ReadAsync();
                        got += r.Buffer.Length;
                        input.AdvanceTo(r.Buffer.End);
                    }
                }
                perRoundTrip = Math.Min(perRoundTrip, (GC.GetTotalAllocatedBytes(precise: true) - before) / count);
            }
            output.WriteLine($"TCP: {perRoundTrip} bytes allocated per 64-byte request/response, least of {Windows} windows of about {count} round trips (echo server on pipes, both engines)");
            Assert.True(perRoundTrip < 16, $"{perRoundTrip} bytes per TCP round trip (the receive side hands out packet buffers, no copy)");
        });
        await run.WaitAsync(EnginePair.Timeout);
        await client.CompleteAsync();
        await Echo.ReadToEndAsync(input).WaitAsync(EnginePair.Timeout);
        await server.WaitAsync(EnginePair.Timeout);
    }
}
