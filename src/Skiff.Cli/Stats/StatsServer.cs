using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Skiff.Engine.Metrics;

namespace Skiff.Cli.Stats;

/// <summary>
/// The stats control socket of <c>skiff serve</c>: a Unix stream socket that answers each <c>snapshot</c> line with
/// the latest metrics of every queue (<see cref="StatsProtocol"/>). It runs on thread-pool threads and only reads
/// published snapshots, so it never touches the poll loop's stack.
/// </summary>
/// <remarks>
/// Robustness: at most <see cref="MaxClients"/> clients at once (more get an error line and are closed); a client
/// idle for <see cref="ClientIdleTimeout"/>, sending a line longer than <see cref="StatsProtocol.MaxRequestBytes"/>,
/// not reading its answers, or disconnecting is closed without disturbing anything else. <see cref="Dispose"/> closes
/// every client and removes the socket file. Thread-safe.
/// </remarks>
internal sealed class StatsServer : IDisposable
{
    public const int DefaultMaxClients = 8;

    /// <summary>How long a publish may take to arrive after a request before the last snapshot is answered instead.</summary>
    public static readonly TimeSpan RefreshTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private readonly Task _accepting;
    private readonly int _pid = Environment.ProcessId;
    private SkiffMetricsPublisher[] _publishers = [];
    private int _clientCount;
    private long _refused;
    private long _answered;
    private int _disposed;

    private StatsServer(string path, Socket listener, int maxClients, TimeSpan idleTimeout)
    {
        Path = path;
        _listener = listener;
        MaxClients = maxClients;
        ClientIdleTimeout = idleTimeout;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    public int MaxClients { get; }

    public TimeSpan ClientIdleTimeout { get; }

    /// <summary>Clients connected now.</summary>
    public int Clients => Volatile.Read(ref _clientCount);

    /// <summary>Clients turned away because <see cref="MaxClients"/> were connected.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    /// <summary>Snapshot requests answered.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>The loops reported, one per queue; empty until serve sets them (requests are then answered with no queues).</summary>
    public IReadOnlyList<SkiffMetricsPublisher> Publishers
    {
        get => Volatile.Read(ref _publishers);
        set => Volatile.Write(ref _publishers, [.. value]);
    }

    /// <summary>
    /// Creates the socket at <paramref name="path"/> (mode 0600) and starts answering. A socket file left there by a
    /// process that is gone is replaced when <paramref name="replaceStale"/>; a path that a live server holds, a missing
    /// directory or a path too long for a socket address is a <see cref="StatsException"/> with a sentence.
    /// </summary>
    public static StatsServer Start(string path, bool replaceStale, int maxClients = DefaultMaxClients, TimeSpan? idleTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClients, 1);
        string full = System.IO.Path.GetFullPath(path);
        if (!StatsSocketPaths.FitsSocketAddress(full))
        {
            throw new StatsException($"The stats socket path {full} is longer than a Unix socket address allows ({StatsSocketPaths.MaxPathBytes} bytes); give a shorter --stats-socket path.");
        }
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory))
        {
            throw new StatsException($"The directory of the stats socket {full} does not exist; create it or give another --stats-socket path.");
        }
        if (File.Exists(full))
        {
            if (IsListening(full))
            {
                throw new StatsException($"Another process already serves stats on {full}; give another --stats-socket path.");
            }
            if (!replaceStale)
            {
                throw new StatsException($"{full} exists and nothing listens on it; remove it if it is a stale socket, or give another --stats-socket path.");
            }
            File.Delete(full);
        }
        Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(full));
            if (!OperatingSystem.IsWindows())
            {
                // Only serve's user may connect (connecting needs write permission on the socket file).
                File.SetUnixFileMode(full, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            listener.Listen(16);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            listener.Dispose();
            throw new StatsException($"Cannot create the stats socket {full} ({e.Message}); give another --stats-socket path, or --stats-socket {StatsSocketPaths.Off}.", e);
        }
        return new StatsServer(full, listener, maxClients, idleTimeout ?? TimeSpan.FromSeconds(10));
    }

    private static bool IsListening(string path)
    {
        using Socket probe = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }
                // Out of descriptors or the like: do not spin; the clients already connected go on.
                await Task.Delay(50).ConfigureAwait(false);
                continue;
            }
            if (Interlocked.Increment(ref _clientCount) > MaxClients)
            {
                Interlocked.Decrement(ref _clientCount);
                Interlocked.Increment(ref _refused);
                Refuse(client);
                continue;
            }
            _ = ServeClientAsync(client);
        }
    }

    private void Refuse(Socket client)
    {
        try
        {
            // A fresh connection's send buffer is empty: this small send never blocks.
            client.Send(StatsProtocol.Error($"{MaxClients} stats clients are connected already; close one and try again."));
        }
        catch (SocketException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task ServeClientAsync(Socket client)
    {
        _clients[client] = 0;
        try
        {
            byte[] buffer = new byte[StatsProtocol.MaxRequestBytes];
            int filled = 0;
            while (!_stop.IsCancellationRequested)
            {
                using CancellationTokenSource idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                idle.CancelAfter(ClientIdleTimeout);
                int n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, idle.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return; // the client closed
                }
                filled += n;
                int newline;
                while ((newline = Array.IndexOf(buffer, (byte)'\n', 0, filled)) >= 0)
                {
                    string request = Encoding.UTF8.GetString(buffer, 0, newline).Trim();
                    await SendAsync(client, Answer(request), idle.Token).ConfigureAwait(false);
                    Buffer.BlockCopy(buffer, newline + 1, buffer, 0, filled - newline - 1);
                    filled -= newline + 1;
                }
                if (filled == buffer.Length)
                {
                    await SendAsync(client, StatsProtocol.Error($"A request is at most {StatsProtocol.MaxRequestBytes} bytes; send '{StatsProtocol.SnapshotRequest}'."), idle.Token).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (Exception)
        {
            // Whatever a client does (disconnect, stall, garbage) ends that client only.
        }
        finally
        {
            _clients.TryRemove(client, out _);
            client.Dispose();
            Interlocked.Decrement(ref _clientCount);
        }
    }

    private static async Task SendAsync(Socket client, byte[] bytes, CancellationToken cancellationToken)
    {
        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await client.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
    }

    private byte[] Answer(string request)
    {
        if (request != StatsProtocol.SnapshotRequest)
        {
            return StatsProtocol.Error($"Unknown request '{(request.Length > 40 ? request[..40] + "..." : request)}'; send '{StatsProtocol.SnapshotRequest}'.");
        }
        SkiffMetricsPublisher[] publishers = Volatile.Read(ref _publishers);
        List<SkiffMetricsSnapshot> snapshots = new(publishers.Length);
        foreach (SkiffMetricsPublisher p in publishers)
        {
            // A fresh publish if the loop gives one promptly; the last one otherwise (a loop stuck or stopping).
            p.Refresh(RefreshTimeout);
            snapshots.Add(p.Read());
        }
        Interlocked.Increment(ref _answered);
        return StatsProtocol.Report(_pid, snapshots);
    }

    /// <summary>Stops answering, closes every client and removes the socket file. Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _stop.Cancel();
        _listener.Dispose();
        foreach (Socket client in _clients.Keys)
        {
            client.Dispose();
        }
        try
        {
            _accepting.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
