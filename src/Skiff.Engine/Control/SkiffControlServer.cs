using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Skiff.Engine.Capture;
using Skiff.Engine.Metrics;
using Skiff.Hooks.Bpf;

namespace Skiff.Engine.Control;

/// <summary>
/// The control socket of a process running Skiff (<c>skiff serve</c>, an application's <see cref="SkiffStack"/>): a
/// Unix stream socket that answers each <c>snapshot</c> line with the latest metrics of every queue, for
/// <c>skiff stats</c>, and each <c>capture</c> request with a live capture of the engine loops as a pcapng stream, for
/// <c>skiff capture</c> (<see cref="SkiffControlProtocol"/>). It runs on thread-pool threads and only reads published
/// snapshots and attaches captures, so it never touches a loop's stack.
/// </summary>
/// <remarks>
/// Robustness: at most <see cref="MaxClients"/> clients at once (more get an error line and are closed); a client
/// idle for <see cref="ClientIdleTimeout"/>, sending a line longer than <see cref="SkiffControlProtocol.MaxRequestBytes"/>,
/// not reading its answers, or disconnecting is closed without disturbing anything else. <see cref="Dispose"/> closes
/// every client and removes the socket file. Thread-safe.
/// </remarks>
public sealed class SkiffControlServer : IDisposable
{
    /// <summary>Clients served at once by default.</summary>
    public const int DefaultMaxClients = 8;

    /// <summary>How long a publish may take to arrive after a request before the last snapshot is answered instead.</summary>
    public static readonly TimeSpan RefreshTimeout = TimeSpan.FromMilliseconds(250);

    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, byte> _clients = new();
    private readonly Task _accepting;
    private readonly int _pid = Environment.ProcessId;
    private SkiffMetricsPublisher[] _publishers = [];
    private readonly AppInstruments _app = new(); // the application's own instruments in the Skiff meter
    private SkiffEngine[] _engines = [];
    private long _captures;
    private int _activeCaptures;
    private int _clientCount;
    private long _refused;
    private long _answered;
    private int _disposed;

    private SkiffControlServer(string path, Socket listener, int maxClients, TimeSpan idleTimeout)
    {
        Path = path;
        _listener = listener;
        MaxClients = maxClients;
        ClientIdleTimeout = idleTimeout;
        _accepting = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The socket's path.</summary>
    public string Path { get; }

    /// <summary>Clients served at once; more are refused.</summary>
    public int MaxClients { get; }

    /// <summary>A client that sends nothing for this long (outside a capture) is closed.</summary>
    public TimeSpan ClientIdleTimeout { get; }

    /// <summary>The engine loops a capture request attaches to; empty until set (requests then get an error).</summary>
    public IReadOnlyList<SkiffEngine> Engines
    {
        get => Volatile.Read(ref _engines);
        set => Volatile.Write(ref _engines, [.. value]);
    }

    /// <summary>Captures served so far.</summary>
    public long Captures => Interlocked.Read(ref _captures);

    /// <summary>Captures running now.</summary>
    public int ActiveCaptures => Volatile.Read(ref _activeCaptures);

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
    /// directory or a path too long for a socket address is a <see cref="SkiffControlException"/> with a sentence.
    /// </summary>
    public static SkiffControlServer Start(string path, bool replaceStale, int maxClients = DefaultMaxClients, TimeSpan? idleTimeout = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxClients, 1);
        string full = System.IO.Path.GetFullPath(path);
        if (!SkiffControlSockets.FitsSocketAddress(full))
        {
            throw new SkiffControlException($"The stats socket path {full} is longer than a Unix socket address allows ({SkiffControlSockets.MaxPathBytes} bytes); give a shorter --stats-socket path.");
        }
        string? directory = System.IO.Path.GetDirectoryName(full);
        if (directory is null || !Directory.Exists(directory))
        {
            throw new SkiffControlException($"The directory of the stats socket {full} does not exist; create it or give another --stats-socket path.");
        }
        if (File.Exists(full))
        {
            if (IsListening(full))
            {
                throw new SkiffControlException($"Another process already serves stats on {full}; give another --stats-socket path.");
            }
            if (!replaceStale)
            {
                throw new SkiffControlException($"{full} exists and nothing listens on it; remove it if it is a stale socket, or give another --stats-socket path.");
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
            throw new SkiffControlException($"Cannot create the stats socket {full} ({e.Message}); give another --stats-socket path, or --stats-socket {SkiffControlSockets.Off}.", e);
        }
        return new SkiffControlServer(full, listener, maxClients, idleTimeout ?? TimeSpan.FromSeconds(10));
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
            client.Send(SkiffControlProtocol.Error($"{MaxClients} stats clients are connected already; close one and try again."));
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
            byte[] buffer = new byte[SkiffControlProtocol.MaxRequestBytes];
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
                    if (request.StartsWith(SkiffControlProtocol.CaptureRequestWord, StringComparison.Ordinal))
                    {
                        await CaptureAsync(client, request[SkiffControlProtocol.CaptureRequestWord.Length..]).ConfigureAwait(false);
                        return; // a capture ends its connection
                    }
                    await SendAsync(client, Answer(request), idle.Token).ConfigureAwait(false);
                    Buffer.BlockCopy(buffer, newline + 1, buffer, 0, filled - newline - 1);
                    filled -= newline + 1;
                }
                if (filled == buffer.Length)
                {
                    await SendAsync(client, SkiffControlProtocol.Error($"A request is at most {SkiffControlProtocol.MaxRequestBytes} bytes; send '{SkiffControlProtocol.SnapshotRequest}'."), idle.Token).ConfigureAwait(false);
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

    /// <summary>
    /// Starts a capture on this connection: an answer line, then pcapng until the client shuts its side down (or
    /// closes), the count is reached or the client stops reading (the capture's writes fail); then the statistics and
    /// the end of the connection. The loops never wait for the client: when it reads too slowly frames are lost and counted.
    /// </summary>
    private async Task CaptureAsync(Socket client, string json)
    {
        SkiffEngine[] engines = Volatile.Read(ref _engines);
        SkiffCapture capture;
        try
        {
            if (engines.Length == 0)
            {
                throw new SkiffControlException("This process has no engine loop to capture (yet); try again once it serves.");
            }
            SkiffCaptureOptions options = SkiffControlProtocol.ParseCaptureRequest(json);
            // Refuse what Start would refuse before the answer line: after it, the stream is pcapng.
            options.Validate();
            if (options.Queue is int q && !engines.Any(e => e.Options.Queue == q))
            {
                throw new SkiffControlException($"No engine loop serves queue {q}; the queues are {string.Join(", ", engines.Select(e => e.Options.Queue))}.");
            }
            if (!string.IsNullOrWhiteSpace(options.Filter))
            {
                BpfFilter.Compile(options.Filter, options.SnapLength);
            }
            await SendAsync(client, SkiffControlProtocol.CaptureStarted(_pid, engines.Length), _stop.Token).ConfigureAwait(false);
            capture = SkiffCapture.Start(engines, new NetworkStream(client, ownsSocket: false), options);
        }
        catch (Exception e) when (e is SkiffControlException or ArgumentException or BpfCompileException)
        {
            await SendAsync(client, SkiffControlProtocol.Error(e.Message), _stop.Token).ConfigureAwait(false);
            return;
        }
        Interlocked.Increment(ref _captures);
        Interlocked.Increment(ref _activeCaptures);
        try
        {
            // The client's side: it shuts down (or closes) to end the capture. Anything it sends is ignored.
            Task<bool> clientDone = WaitForEndAsync(client);
            await Task.WhenAny(clientDone, capture.Completion, Task.Delay(Timeout.Infinite, _stop.Token)).ConfigureAwait(false);
            await Task.Run(capture.Stop).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _activeCaptures);
        }
    }

    private async Task<bool> WaitForEndAsync(Socket client)
    {
        byte[] sink = new byte[256];
        try
        {
            while (await client.ReceiveAsync(sink, SocketFlags.None, _stop.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        return true;
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
        if (request != SkiffControlProtocol.SnapshotRequest)
        {
            return SkiffControlProtocol.Error($"Unknown request '{(request.Length > 40 ? request[..40] + "..." : request)}'; send '{SkiffControlProtocol.SnapshotRequest}' or '{SkiffControlProtocol.CaptureRequestWord} {{...}}'.");
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
        return SkiffControlProtocol.Report(_pid, snapshots, _app.Read());
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
        _app.Dispose();
        try
        {
            File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
