using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Skiff.Engine;
using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Server;

/// <summary>
/// DNS over Skiff's TCP (RFC 1035 section 4.2.2, RFC 7766): each message with a 2-byte length before it, several per
/// connection, answered in order. This is where a client comes back after a truncated UDP answer. It uses the async
/// socket API (<see cref="SkiffListener"/>, pipelines) off the loop: TCP queries are few, so one lock around one
/// answerer is enough. Connections are bounded (<see cref="MaxConnections"/>) and closed after <see cref="IdleTimeout"/> without a query.
/// </summary>
public sealed class DnsTcpServer : IAsyncDisposable
{
    /// <summary>Connections served at once; more are closed at accept.</summary>
    public const int MaxConnections = 256;

    private readonly SkiffListener _listener;
    private readonly DnsAnswerer _answerer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _connections;

    /// <summary>Listens on <paramref name="port"/> of <paramref name="stack"/> and answers with a new answerer over <paramref name="zone"/>.</summary>
    public DnsTcpServer(SkiffStack stack, ushort port, CompiledZone zone, int maxUdpBytes)
    {
        _answerer = new DnsAnswerer(zone, maxUdpBytes);
        _listener = stack.Listen(port);
        _acceptLoop = Task.Run(AcceptLoop);
    }

    /// <summary>How long a connection may stay without a query.</summary>
    public static TimeSpan IdleTimeout { get; } = TimeSpan.FromSeconds(10);

    /// <summary>The TCP answers' counters (read under no lock: a moment old).</summary>
    public DnsCounters Counters => _answerer.Counters;

    /// <summary>Connections accepted.</summary>
    public long Accepted { get; private set; }

    /// <summary>Connections closed at once because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections { get; private set; }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            SkiffConnection connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            Accepted++;
            if (Interlocked.Increment(ref _connections) > MaxConnections)
            {
                Interlocked.Decrement(ref _connections);
                RefusedConnections++;
                connection.Abort();
                await connection.DisposeAsync().ConfigureAwait(false);
                continue;
            }
            _ = Task.Run(() => Serve(connection));
        }
    }

    private async Task Serve(SkiffConnection connection)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ushort.MaxValue + 2);
        try
        {
            await using (connection.ConfigureAwait(false))
            {
                PipeReader input = connection.Transport.Input;
                PipeWriter output = connection.Transport.Output;
                while (!_stop.IsCancellationRequested)
                {
                    using CancellationTokenSource idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, connection.ConnectionClosed);
                    idle.CancelAfter(IdleTimeout);
                    ReadResult read;
                    try
                    {
                        read = await input.ReadAsync(idle.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                    ReadOnlySequence<byte> data = read.Buffer;
                    bool answered = false;
                    while (TryTakeMessage(ref data, buffer, out int length))
                    {
                        int responseLength;
                        lock (_answerer)
                        {
                            responseLength = _answerer.Answer(buffer.AsSpan(2, ushort.MaxValue), length, DnsTransport.Tcp);
                        }
                        if (responseLength == 0)
                        {
                            continue; // no header to answer: as over UDP, nothing is sent
                        }
                        BinaryPrimitives.WriteUInt16BigEndian(buffer, (ushort)responseLength);
                        output.Write(buffer.AsSpan(0, responseLength + 2));
                        answered = true;
                    }
                    input.AdvanceTo(data.Start, read.Buffer.End);
                    if (answered)
                    {
                        await output.FlushAsync().ConfigureAwait(false);
                    }
                    if (read.IsCompleted || read.IsCanceled)
                    {
                        await output.CompleteAsync().ConfigureAwait(false);
                        return;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The peer reset or the stack stopped: nothing left to answer on this connection.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _connections);
        }
    }

    /// <summary>Takes one length-prefixed message from <paramref name="data"/> into <paramref name="buffer"/>[2..].</summary>
    private static bool TryTakeMessage(ref ReadOnlySequence<byte> data, byte[] buffer, out int length)
    {
        length = 0;
        if (data.Length < 2)
        {
            return false;
        }
        Span<byte> prefix = stackalloc byte[2];
        data.Slice(0, 2).CopyTo(prefix);
        int size = BinaryPrimitives.ReadUInt16BigEndian(prefix);
        if (data.Length < 2 + size)
        {
            return false;
        }
        data.Slice(2, size).CopyTo(buffer.AsSpan(2));
        data = data.Slice(2 + size);
        length = size;
        return true;
    }

    /// <summary>Stops accepting and ends the connections.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _listener.DisposeAsync().ConfigureAwait(false);
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
