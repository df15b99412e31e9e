using System.Runtime.CompilerServices;

namespace Skiff.Engine.Tests;

/// <summary><c>SkiffStack.Listen(..., unsafeInlineAccepts)</c>: where an accept resumes its caller.</summary>
public sealed class InlineAcceptTests
{
    /// <summary>Starts an accept that must wait, and records the thread its continuation runs on.</summary>
    private static (Task<SkiffConnection> Accepted, Task<string?> Thread) PendingAccept(SkiffListener listener)
    {
        ValueTask<SkiffConnection> accept = listener.AcceptAsync();
        Assert.False(accept.IsCompleted);
        TaskCompletionSource<SkiffConnection> accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource<string?> thread = new(TaskCreationOptions.RunContinuationsAsynchronously);
        ConfiguredValueTaskAwaitable<SkiffConnection>.ConfiguredValueTaskAwaiter awaiter = accept.ConfigureAwait(false).GetAwaiter();
        awaiter.UnsafeOnCompleted(() =>
        {
            thread.SetResult(Thread.CurrentThread.Name);
            try
            {
                accepted.SetResult(awaiter.GetResult());
            }
            catch (Exception e)
            {
                accepted.SetException(e);
            }
        });
        return (accepted.Task, thread.Task);
    }

    [Fact]
    public async Task An_inline_accept_resumes_on_the_engine_thread_and_every_connection_works()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7, unsafeInlineAccepts: true);
        for (int i = 0; i < 20; i++)
        {
            (Task<SkiffConnection> accepted, Task<string?> thread) = PendingAccept(listener);
            await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
            await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
            Assert.StartsWith("skiff-test-2", await thread.WaitAsync(EnginePair.Timeout));
            byte[] request = new byte[100 + i];
            Random.Shared.NextBytes(request);
            await client.Transport.Output.WriteAsync(request);
            byte[] got = await ReadExactly(server, request.Length);
            await server.Transport.Output.WriteAsync(got);
            Assert.Equal(request, await ReadExactly(client, request.Length));
        }
    }

    private static async Task<byte[]> ReadExactly(SkiffConnection connection, int length)
    {
        byte[] data = new byte[length];
        int read = 0;
        while (read < length)
        {
            System.IO.Pipelines.ReadResult result = await connection.Transport.Input.ReadAsync().AsTask().WaitAsync(EnginePair.Timeout);
            System.Buffers.ReadOnlySequence<byte> buffer = result.Buffer.Slice(0, Math.Min(result.Buffer.Length, length - read));
            System.Buffers.BuffersExtensions.CopyTo(buffer, data.AsSpan(read));
            read += (int)buffer.Length;
            connection.Transport.Input.AdvanceTo(buffer.End);
            Assert.False(result.IsCompleted && read < length, "the connection ended early");
        }
        return data;
    }

    [Fact]
    public async Task By_default_an_accept_resumes_on_the_thread_pool()
    {
        await using EnginePair pair = new();
        await using SkiffListener listener = pair.B.Listen(7);
        (Task<SkiffConnection> accepted, Task<string?> thread) = PendingAccept(listener);
        await using SkiffConnection client = await SkiffConnection.ConnectAsync(pair.A, EnginePair.EndPointB(7)).AsTask().WaitAsync(EnginePair.Timeout);
        await using SkiffConnection server = await accepted.WaitAsync(EnginePair.Timeout);
        Assert.DoesNotContain("skiff-test", await thread.WaitAsync(EnginePair.Timeout) ?? "");
    }

    [Fact]
    public async Task A_failed_inline_accept_still_resumes_on_the_thread_pool()
    {
        await using EnginePair pair = new();
        SkiffListener listener = pair.B.Listen(7, unsafeInlineAccepts: true);
        (Task<SkiffConnection> accepted, Task<string?> thread) = PendingAccept(listener);
        await listener.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => accepted.WaitAsync(EnginePair.Timeout));
        Assert.DoesNotContain("skiff-test", await thread.WaitAsync(EnginePair.Timeout) ?? "");
    }
}
