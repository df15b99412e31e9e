using System.Buffers;
using System.IO.Pipelines;
using Skiff.Engine.Internal;

namespace Skiff.Engine.Tests;

/// <summary>The zero-copy input reader on its own: the loop's pushes against a reader thread's reads and advances.</summary>
public sealed class ReceivePipeReaderTests : IDisposable
{
    private readonly PacketPool _pool = new(256, frameBytes: 2048);
    private int _resumes;

    public void Dispose()
    {
        Assert.Equal(0, _pool.InUse);
        _pool.Dispose();
    }

    private ReceivePipeReader Reader(long pauseBytes = 1 << 20) => new(pauseBytes, () => Interlocked.Increment(ref _resumes));

    private PacketBuffer Frame(byte first, int length)
    {
        Assert.True(_pool.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TryAppend(length));
        for (int i = 0; i < length; i++)
        {
            b.Data[i] = (byte)(first + i);
        }
        return b;
    }

    /// <summary>True when <paramref name="memory"/> is the pool's own memory (a packet buffer), not a copy.</summary>
    private bool InSlab(ReadOnlyMemory<byte> memory)
    {
        for (int i = 0; i < _pool.FrameCount; i++)
        {
            if (memory.Span.Overlaps(_pool.GetFrame(i).Frame))
            {
                return true;
            }
        }
        return false;
    }

    [Fact]
    public async Task A_read_is_a_sequence_over_the_packet_buffers_and_advancing_frees_them()
    {
        ReceivePipeReader reader = Reader();
        Assert.True(reader.TryPush(Frame(0, 100), copy: false, out _));
        Assert.True(reader.TryPush(Frame(100, 100), copy: false, out _));
        reader.Publish();
        ReadResult r = await reader.ReadAsync();
        Assert.Equal(200, r.Buffer.Length);
        Assert.False(r.Buffer.IsSingleSegment);
        foreach (ReadOnlyMemory<byte> segment in r.Buffer)
        {
            Assert.True(InSlab(segment), "a segment is not the packet buffer itself");
        }
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (byte)i), r.Buffer.ToArray());
        Assert.Equal(2, _pool.InUse);
        reader.AdvanceTo(r.Buffer.GetPosition(150));
        Assert.Equal(1, _pool.InUse); // the first frame is fully consumed
        r = await reader.ReadAsync();
        Assert.Equal(Enumerable.Range(150, 50).Select(i => (byte)i), r.Buffer.ToArray());
        reader.AdvanceTo(r.Buffer.End);
        Assert.Equal(0, _pool.InUse);
        reader.Complete();
    }

    [Fact]
    public async Task A_read_that_examined_everything_waits_for_new_data()
    {
        ReceivePipeReader reader = Reader();
        reader.TryPush(Frame(1, 10), copy: false, out _);
        reader.Publish();
        ReadResult r = await reader.ReadAsync();
        reader.AdvanceTo(r.Buffer.Start, r.Buffer.End); // nothing consumed, all examined
        ValueTask<ReadResult> next = reader.ReadAsync();
        Assert.False(next.IsCompleted);
        reader.TryPush(Frame(11, 10), copy: false, out _);
        reader.Publish();
        r = await next.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(20, r.Buffer.Length);
        reader.AdvanceTo(r.Buffer.End);
        reader.Complete();
    }

    [Fact]
    public async Task End_of_stream_comes_after_the_data_and_an_error_drops_it()
    {
        ReceivePipeReader clean = Reader();
        clean.TryPush(Frame(0, 5), copy: false, out _);
        clean.CompleteWriter(null);
        ReadResult r = await clean.ReadAsync();
        Assert.True(r.IsCompleted);
        Assert.Equal(5, r.Buffer.Length);
        clean.AdvanceTo(r.Buffer.End);
        clean.Complete();

        ReceivePipeReader failed = Reader();
        failed.TryPush(Frame(0, 5), copy: false, out _);
        failed.CompleteWriter(new IOException("reset"));
        await Assert.ThrowsAsync<IOException>(async () => await failed.ReadAsync());
        Assert.Equal(0, _pool.InUse);
        PacketBuffer late = Frame(0, 1);
        Assert.False(failed.TryPush(late, copy: false, out _)); // refused: the caller keeps it
        late.Free();
    }

    [Fact]
    public async Task Reclaim_while_the_application_holds_a_result_frees_at_its_advance()
    {
        ReceivePipeReader reader = Reader();
        reader.TryPush(Frame(0, 50), copy: false, out _);
        reader.Publish();
        ReadResult r = await reader.ReadAsync();
        reader.Reclaim(new ObjectDisposedException("engine"));
        Assert.Equal(1, _pool.InUse); // still in the application's hands
        Assert.Equal(0, r.Buffer.FirstSpan[0]);
        reader.AdvanceTo(r.Buffer.Start);
        Assert.Equal(0, _pool.InUse);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await reader.ReadAsync());
    }

    [Fact]
    public async Task The_loop_pauses_at_the_threshold_and_resumes_once_below_half()
    {
        ReceivePipeReader reader = Reader(pauseBytes: 400);
        bool full = false;
        int pushed = 0;
        while (!full)
        {
            Assert.True(reader.TryPush(Frame(0, 100), copy: false, out full));
            pushed++;
        }
        Assert.Equal(4, pushed); // payload bytes count, as in Pipe
        Assert.True(reader.Publish());
        Assert.True(reader.IsWriterPaused);
        ReadResult r = await reader.ReadAsync();
        reader.AdvanceTo(r.Buffer.GetPosition(200)); // 200 left: not under half
        Assert.Equal(0, _resumes);
        r = await reader.ReadAsync();
        reader.AdvanceTo(r.Buffer.GetPosition(100)); // 100 left: under half
        Assert.Equal(1, _resumes);
        Assert.False(reader.IsWriterPaused);
        reader.Complete();
        Assert.Equal(2, _resumes); // completing reschedules the loop too
    }

    [Fact]
    public async Task Cancellation_of_a_waiting_read_and_cancel_pending_read()
    {
        ReceivePipeReader reader = Reader();
        using (CancellationTokenSource cts = new())
        {
            ValueTask<ReadResult> waiting = reader.ReadAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        }
        ValueTask<ReadResult> pending = reader.ReadAsync();
        reader.CancelPendingRead();
        ReadResult r = await pending;
        Assert.True(r.IsCanceled);
        reader.AdvanceTo(r.Buffer.End);
        reader.CancelPendingRead(); // no read waiting: the next one returns cancelled at once
        r = await reader.ReadAsync();
        Assert.True(r.IsCanceled);
        reader.AdvanceTo(r.Buffer.End);
        Assert.Throws<InvalidOperationException>(() => reader.AdvanceTo(r.Buffer.End)); // no result outstanding
        reader.Complete();
        Assert.Throws<InvalidOperationException>(() => reader.TryRead(out _));
    }

    [Fact]
    public async Task Under_pool_pressure_the_payload_is_copied_and_the_frame_can_go_back()
    {
        ReceivePipeReader reader = Reader();
        PacketBuffer frame = Frame(7, 300);
        Assert.True(reader.TryPush(frame, copy: true, out _));
        frame.Free();
        reader.Publish();
        ReadResult r = await reader.ReadAsync();
        Assert.False(InSlab(r.Buffer.First));
        Assert.Equal(Enumerable.Range(7, 300).Select(i => (byte)i), r.Buffer.ToArray());
        reader.AdvanceTo(r.Buffer.End);
        reader.Complete();
    }

    [Fact]
    public async Task A_reader_on_another_thread_gets_every_byte_in_order_whatever_it_consumes()
    {
        ReceivePipeReader reader = Reader(pauseBytes: 64 * 1024);
        const int total = 2_000_000;
        Random random = new(5);
        Task<long> consumer = Task.Run(async () =>
        {
            Random r = new(9);
            long expected = 0;
            while (true)
            {
                ReadResult result = await reader.ReadAsync();
                long take = result.Buffer.Length == 0 ? 0 : r.Next(0, 3) == 0 ? result.Buffer.Length : r.NextInt64(0, result.Buffer.Length + 1);
                ReadOnlySequence<byte> part = result.Buffer.Slice(0, take);
                foreach (ReadOnlyMemory<byte> m in part)
                {
                    for (int i = 0; i < m.Length; i++)
                    {
                        if (m.Span[i] != (byte)(expected + i))
                        {
                            throw new InvalidOperationException($"byte {expected + i} is {m.Span[i]}");
                        }
                    }
                    expected += m.Length;
                }
                // Having consumed everything, examine everything (the next read waits for new data); else only what was
                // consumed. (Examining unconsumed data past the pause threshold would deadlock, as with any Pipe.)
                reader.AdvanceTo(part.End, take == result.Buffer.Length ? result.Buffer.End : part.End);
                if (result.IsCompleted && take == result.Buffer.Length)
                {
                    reader.Complete();
                    return expected;
                }
            }
        });
        long sent = 0;
        while (sent < total)
        {
            if (reader.IsWriterPaused)
            {
                Thread.Yield();
                continue;
            }
            int length = random.Next(1, 1461);
            if (!_pool.TryAllocate(out PacketBuffer? b))
            {
                Thread.Yield();
                continue;
            }
            b.TryAppend(length);
            for (int i = 0; i < length; i++)
            {
                b.Data[i] = (byte)(sent + i);
            }
            bool copy = random.Next(10) == 0;
            Assert.True(reader.TryPush(b, copy, out _));
            if (copy)
            {
                b.Free(); // a copied push leaves the frame with the caller
            }
            sent += length;
            reader.Publish();
        }
        reader.CompleteWriter(null);
        Assert.Equal(sent, await consumer.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
