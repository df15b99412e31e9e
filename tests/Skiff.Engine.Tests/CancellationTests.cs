using System.Buffers;
using System.IO.Pipelines;
using System.Net;

namespace Skiff.Engine.Tests;

public sealed class CancellationTests
{
    [Fact]
    public async Task AcceptAsync_is_cancelled_and_the_listener_still_accepts_afterwards()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        using (CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.AcceptAsync(cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        using (CancellationTokenSource cts = new())
        {
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listener.AcceptAsync(cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task ReadAsync_is_cancelled_on_the_pipe_and_on_the_stream()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        Task<SkiffConnection> accepted = listener.AcceptAsync().AsTask();
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);

        using (CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => server.Transport.Input.ReadAsync(cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        using (CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.AsStream().ReadAsync(new byte[16], cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        // The connection still works after the cancelled reads.
        await client.Transport.Output.WriteAsync(new byte[] { 1, 2, 3 });
        ReadResult result = await server.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
        Assert.Equal(new byte[] { 1, 2, 3 }, result.Buffer.ToArray());
        server.Transport.Input.AdvanceTo(result.Buffer.End);
    }

    [Fact]
    public async Task ConnectAsync_to_a_host_that_never_answers_is_cancelled()
    {
        await using EnginePair pair = new();
        using CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(200));
        IPEndPoint nobody = new(IPAddress.Parse("10.0.0.99"), 80); // on-link, never answers ARP
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => SkiffConnection.ConnectAsync(pair.A, nobody, cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        Assert.Equal(0, await pair.A.Engine.InvokeAsync(i => i.Tcp.ConnectionCount).WaitAsync(EnginePair.Timeout));
    }

    [Fact]
    public async Task Operations_after_the_engine_stopped_fail_with_ObjectDisposedException()
    {
        await using EnginePair pair = new();
        SkiffListener listener = pair.B.Listen(7);
        Task<SkiffConnection> pending = listener.AcceptAsync().AsTask();
        pair.B.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pending.WaitAsync(EnginePair.Timeout));
        Assert.Throws<ObjectDisposedException>(() => pair.B.Listen(8));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => SkiffConnection.ConnectAsync(pair.B, EnginePair.EndPointB(7)).AsTask());
    }
}
