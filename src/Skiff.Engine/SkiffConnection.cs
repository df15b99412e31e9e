using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Skiff.Engine.Internal;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Engine;

/// <summary>
/// One TCP connection of a <see cref="SkiffStack"/>, seen from application threads as an
/// <see cref="IDuplexPipe"/> (<see cref="Transport"/>) or a <see cref="Stream"/> (<see cref="AsStream"/>).
/// </summary>
/// <remarks>
/// <para>Data path: the engine's loop copies received bytes into <see cref="IDuplexPipe.Input"/> while
/// that pipe is under its pause threshold (<see cref="SkiffStackOptions.InputPauseThresholdBytes"/>);
/// a slow reader therefore closes the TCP window. Bytes written to <see cref="IDuplexPipe.Output"/> are
/// queued on the socket as its send buffer frees; a <c>FlushAsync</c> waits once the pipe holds
/// <see cref="SkiffStackOptions.OutputPauseThresholdBytes"/>.</para>
/// <para>Closing: <see cref="CompleteAsync"/> (or completing <c>Transport.Output</c>) sends a FIN after
/// all written data; <see cref="DisposeAsync"/> does that and releases the connection; <see cref="Abort"/>
/// sends a RST and drops buffered data. A connection that ends abnormally makes reads and flushes throw
/// <see cref="SkiffSocketException"/>.</para>
/// <para>Thread-safety: the pipes follow System.IO.Pipelines rules (one reader, one writer at a time);
/// <see cref="Abort"/>, <see cref="CompleteAsync"/> and <see cref="DisposeAsync"/> are safe from any thread.</para>
/// </remarks>
public sealed class SkiffConnection : IAsyncDisposable
{
    private readonly ConnectionCore _core;
    private Stream? _stream;
    private int _disposing;
    private CancellationTokenSource? _closed; // created on first use of ConnectionClosed
    private int _closedSignalled;

    internal SkiffConnection(ConnectionCore core)
    {
        _core = core;
    }

    /// <summary>
    /// Opens a connection to <paramref name="remote"/> (an IPv4 or IPv6 endpoint; IPv6 needs <see cref="SkiffStackOptions.Ipv6"/>) through <paramref name="stack"/> and
    /// completes once the handshake has. Fails with <see cref="SkiffSocketException"/> (refused, timed out,
    /// unreachable), <see cref="InvalidOperationException"/> when no socket or port is free, or
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires first (the
    /// half-open connection is then aborted). Allocates the connection and its pipes.
    /// </summary>
    public static ValueTask<SkiffConnection> ConnectAsync(SkiffStack stack, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(remote);
        return ConnectAnyAsync(stack, ToIp(remote.Address), checked((ushort)remote.Port), cancellationToken);
    }

    /// <summary>Same as <see cref="ConnectAsync(SkiffStack, IPEndPoint, CancellationToken)"/>, with the address (either family) and port apart.</summary>
    internal static ValueTask<SkiffConnection> ConnectAnyAsync(SkiffStack stack, IpAddress address, ushort port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        stack.ThrowIfStopped();
        ConnectionCore core = new(stack, address.IsIpv4 ? stack.NextConnectEngine() : stack.Engine); // IPv6 lives on core 0
        return new ValueTask<SkiffConnection>(core.StartConnect(address, port, stack.Options.TcpConfig, cancellationToken));
    }

    /// <summary>Same as <see cref="ConnectAsync(SkiffStack, IPEndPoint, CancellationToken)"/>, with the address and port apart.</summary>
    public static ValueTask<SkiffConnection> ConnectAsync(SkiffStack stack, Ipv4Address address, ushort port, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stack);
        stack.ThrowIfStopped();
        // The core it opens on picks a source port whose incoming hash comes back to it.
        ConnectionCore core = new(stack, stack.NextConnectEngine());
        return new ValueTask<SkiffConnection>(core.StartConnect(address, port, stack.Options.TcpConfig, cancellationToken));
    }

    /// <summary>The core (engine queue index) that owns the connection: the one its flow's RSS hash picks. Always 0 with one core.</summary>
    public int Core => _core.Core;

    /// <summary>The application's ends: read <see cref="IDuplexPipe.Input"/>, write <see cref="IDuplexPipe.Output"/>.</summary>
    public IDuplexPipe Transport => _core.Transport;

    /// <summary>True when the connection sends without Nagle's delay (TCP_NODELAY), as the listener's or connect's <see cref="Skiff.Stack.Tcp.TcpConfig"/> said.</summary>
    public bool NoDelay => _core.NoDelay;

    /// <summary>The local address and port.</summary>
    public IPEndPoint LocalEndPoint => new(ToIPAddress(_core.Tuple.LocalIp), _core.Tuple.LocalPort);

    /// <summary>The peer's address and port.</summary>
    public IPEndPoint RemoteEndPoint => new(ToIPAddress(_core.Tuple.RemoteIp), _core.Tuple.RemotePort);

    /// <summary>
    /// Fires once no more data will arrive on <see cref="IDuplexPipe.Input"/>: the peer closed its side (FIN)
    /// or reset, the connection was aborted or released, or the engine stopped. Received data already in the
    /// input pipe stays readable. Callbacks run on the thread pool, never on the engine's loop. Created on first
    /// use (connections that never ask allocate nothing for it); the same token on every call.
    /// </summary>
    public CancellationToken ConnectionClosed
    {
        get
        {
            CancellationTokenSource? cts = Volatile.Read(ref _closed);
            if (cts is null)
            {
                CancellationTokenSource created = new();
                cts = Interlocked.CompareExchange(ref _closed, created, null);
                if (cts is null)
                {
                    cts = created;
                    // The loop may have signalled before the source existed (it saw null); then cancel here.
                    if (Volatile.Read(ref _closedSignalled) == 1)
                    {
                        cts.Cancel();
                    }
                }
                else
                {
                    created.Dispose();
                }
            }
            return cts.Token;
        }
    }

    /// <summary>
    /// A <see cref="Stream"/> over <see cref="Transport"/> (the same stream on every call). Each write is
    /// flushed; disposing the stream disposes the connection. Do not mix it with direct pipe use.
    /// </summary>
    public Stream AsStream() => _stream ??= new DuplexPipeStream(this, _core.Transport);

    /// <summary>
    /// Graceful half-close: completes <c>Transport.Output</c>, so a FIN follows every byte written.
    /// Reading continues until the peer closes. Returns once the output pipe is completed.
    /// </summary>
    public ValueTask CompleteAsync() => _core.Transport.Output.CompleteAsync();

    /// <summary>
    /// Shuts both directions at once, as <see cref="Socket.Shutdown(SocketShutdown)"/> with <see cref="SocketShutdown.Both"/>
    /// does (and as Kestrel's socket transport aborts a connection): bytes flushed to <c>Transport.Output</c> go out as far
    /// as the send buffer takes them and the rest is dropped, a FIN follows, data arriving from now on is discarded, and
    /// reads end: with <paramref name="reason"/> when given (buffered data is dropped), else at end of stream. Unlike
    /// <see cref="Abort"/> the peer sees a close, not a reset. Call <see cref="DisposeAsync"/> afterwards.
    /// </summary>
    public void Shutdown(Exception? reason = null) => _core.RequestShutdown(reason);

    /// <summary>Abortive close: a RST goes out and buffered data is dropped; pending and later reads and writes fail with <see cref="SkiffSocketException"/> (<see cref="TcpError.Aborted"/>). Call <see cref="DisposeAsync"/> afterwards.</summary>
    public void Abort() => _core.RequestAbort();

    /// <summary>
    /// Graceful close and release: completes both application ends, lets the loop queue every written byte
    /// and then a FIN, drops data still arriving, and returns the connection to the stack. Completes once
    /// the loop has released it. With <see cref="SkiffStackOptions.LingerTimeout"/> set, a drain that takes longer
    /// (the peer's window stays shut) ends in a reset instead. Idempotent; safe from any thread.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 0)
        {
            await _core.Transport.Output.CompleteAsync().ConfigureAwait(false);
            await _core.Transport.Input.CompleteAsync().ConfigureAwait(false);
            _core.RequestDispose();
            if (_core.LingerTimeout is TimeSpan linger && !_core.Disposed.IsCompleted)
            {
                Task drained = _core.Disposed;
                if (await Task.WhenAny(drained, Task.Delay(linger)).ConfigureAwait(false) != drained)
                {
                    _core.RequestAbort(); // SO_LINGER's timeout: what is still queued is dropped and a RST goes out
                }
            }
        }
        await _core.Disposed.ConfigureAwait(false);
    }

    /// <summary>"Skiff TCP" and the connection's four-tuple, for logs and the debugger.</summary>
    public override string ToString() => $"Skiff TCP {_core.Tuple}";

    /// <summary>Loop side: no more data will arrive. Cancels <see cref="ConnectionClosed"/> on the thread pool, once.</summary>
    internal void SignalClosed()
    {
        if (Interlocked.Exchange(ref _closedSignalled, 1) != 0)
        {
            return;
        }
        // Pairs with the getter's CompareExchange: one of the two sees the other, so the token is cancelled either way.
        if (Volatile.Read(ref _closed) is CancellationTokenSource cts)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static c => c.Cancel(), cts, preferLocal: false);
        }
    }

    internal static Ipv4Address ToIpv4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetwork)
        {
            throw new ArgumentException($"Skiff speaks IPv4 only; {address} is not an IPv4 address.", nameof(address));
        }
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return Ipv4Address.Read(bytes);
    }

    /// <summary>Either family, as a .NET address (an IPv4-mapped IPv6 one is taken as the IPv4 address).</summary>
    internal static IpAddress ToIp(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return ToIpv4(address);
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            throw new ArgumentException($"{address} is neither an IPv4 nor an IPv6 address.", nameof(address));
        }
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return Ipv6Address.Read(bytes);
    }

    /// <summary>The .NET form of an address of either family.</summary>
    internal static IPAddress ToIPAddress(IpAddress address)
    {
        if (address.IsIpv4)
        {
            return new IPAddress(ToBytes(address.Ipv4));
        }
        byte[] bytes = new byte[16];
        address.Ipv6.Write(bytes);
        return new IPAddress(bytes);
    }

    internal static byte[] ToBytes(Ipv4Address address)
    {
        byte[] bytes = new byte[4];
        address.Write(bytes);
        return bytes;
    }
}
