using System.Text;

namespace Skiff.Engine.Tests;

/// <summary><see cref="SkiffConnection.ConnectionClosed"/>: fires when no more data will arrive, and only then.</summary>
public sealed class ConnectionClosedTests
{
    [Fact]
    public async Task Fires_when_the_peer_closes_its_side_and_not_before()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        ValueTask<SkiffConnection> accepting = listener.AcceptAsync();
        await using SkiffConnection client = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepting.AsTask().WaitAsync(EnginePair.Timeout);
        TaskCompletionSource fired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration registration = server.ConnectionClosed.Register(fired.SetResult);

        await client.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("hello"));
        string received = await ReadTextAsync(server, 5);
        Assert.Equal("hello", received);
        Assert.False(server.ConnectionClosed.IsCancellationRequested, "ConnectionClosed fired while the peer was still open.");

        await client.CompleteAsync(); // FIN
        await fired.Task.WaitAsync(EnginePair.Timeout);
        Assert.True(server.ConnectionClosed.IsCancellationRequested);
    }

    [Fact]
    public async Task Fires_on_both_ends_when_one_aborts_and_for_a_token_taken_afterwards()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        ValueTask<SkiffConnection> accepting = listener.AcceptAsync();
        await using SkiffConnection client = await pair.A.ConnectAsync(EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepting.AsTask().WaitAsync(EnginePair.Timeout);
        TaskCompletionSource serverFired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration registration = server.ConnectionClosed.Register(serverFired.SetResult);

        client.Abort(); // RST; the client's own token was never asked for before
        await serverFired.Task.WaitAsync(EnginePair.Timeout);
        TaskCompletionSource clientFired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        using CancellationTokenRegistration late = client.ConnectionClosed.Register(clientFired.SetResult);
        await clientFired.Task.WaitAsync(EnginePair.Timeout);
    }

    private static async Task<string> ReadTextAsync(SkiffConnection connection, int bytes)
    {
        StringBuilder text = new();
        while (text.Length < bytes)
        {
            System.IO.Pipelines.ReadResult result = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                text.Append(Encoding.ASCII.GetString(segment.Span));
            }
            connection.Transport.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        return text.ToString();
    }
}
