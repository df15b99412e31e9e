using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Engine;
using Skiff.Wire;
using Microsoft.AspNetCore.Hosting;

namespace Skiff.Kestrel.Internal;

/// <summary>
/// Kestrel's <see cref="IConnectionListenerFactory"/> over Skiff: each IPv4 endpoint Kestrel binds becomes a
/// <see cref="SkiffListener"/> on the stack <see cref="SkiffTransportOptions"/> describes (made on the first bind).
/// It claims IP endpoints only (<see cref="CanBind"/>), so Unix sockets and named pipes stay with Kestrel's own
/// transports. A singleton of the host: disposing it disposes the stack when the transport made it.
/// </summary>
internal sealed class SkiffTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector, IAsyncDisposable, IDisposable
{
    private readonly IOptions<SkiffTransportOptions> _optionsSource;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private StackHolder? _stack;
    private int _logged;
    private bool _disposed;

    public SkiffTransportFactory(IOptions<SkiffTransportOptions> options, ILoggerFactory loggerFactory)
    {
        // Kestrel resolves its transports when the app is built; the options are read (and validated) only when it
        // binds, after the host's start-up validation has reported every failure.
        _optionsSource = options;
        _logger = loggerFactory.CreateLogger("Skiff.Kestrel");
    }

    private SkiffTransportOptions Options => _optionsSource.Value;

    private StackHolder Holder
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _stack ??= new StackHolder(Options);
            }
        }
    }

    /// <summary>IP endpoints, unless the driver is <c>kernel</c>: then Kestrel's socket transport binds them.</summary>
    public bool CanBind(EndPoint endpoint) => endpoint is IPEndPoint && Options.Driver != SkiffWebHostBuilderExtensions.KernelDriver;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (endpoint is not IPEndPoint ip)
        {
            throw new SkiffTransportException($"Skiff serves TCP over IPv4; {endpoint} is not an IP endpoint. Listen on an IPv4 address and port.");
        }
        if (ip.AddressFamily != AddressFamily.InterNetwork)
        {
            // Kestrel's "any address" endpoints (ListenAnyIP, http://*:port) try [::] first and fall back to 0.0.0.0 on this.
            throw new SkiffTransportException($"Skiff speaks IPv4 only; {ip} is not IPv4. Listen on 0.0.0.0 or on the stack's IPv4 address.");
        }
        if (ip.Port == 0)
        {
            throw new SkiffTransportException($"Skiff listens on fixed ports only; {ip} asks for any free port. Give Kestrel a port, e.g. --port 8080.");
        }
        StackHolder holder = Holder;
        SkiffStack stack = holder.Get();
        if (Interlocked.Exchange(ref _logged, 1) == 0)
        {
            _logger.LogInformation("Kestrel serves over Skiff: {Stack}", holder.Description);
        }
        if (!ip.Address.Equals(IPAddress.Any))
        {
            Span<byte> bytes = stackalloc byte[4];
            ip.Address.TryWriteBytes(bytes, out _);
            Ipv4Address wanted = Ipv4Address.Read(bytes);
            if (!stack.Options.Addresses.Any(a => a.Address == wanted))
            {
                throw new SkiffTransportException(
                    $"The Skiff stack does not own {ip.Address} (it owns {string.Join(", ", stack.Options.Addresses)}); listen on one of its addresses or on 0.0.0.0.");
            }
        }
        SkiffListener listener;
        try
        {
            listener = stack.Listen((ushort)ip.Port, Options.Backlog, Options.InlineAccepts,
                stack.Options.TcpConfig with { Nagle = !Options.NoDelay });
        }
        catch (InvalidOperationException e)
        {
            // Kestrel turns this into "Failed to bind to address ...: address already in use."
            throw new AddressInUseException($"Port {ip.Port} of the Skiff stack already has a listener: {e.Message}", e);
        }
        return new ValueTask<IConnectionListener>(new SkiffConnectionListener(listener, ip));
    }

    public void Dispose() => TakeHolder()?.Dispose();

    private StackHolder? TakeHolder()
    {
        lock (_lock)
        {
            _disposed = true;
            StackHolder? holder = _stack;
            _stack = null;
            return holder;
        }
    }

    public ValueTask DisposeAsync()
    {
        // Stopping the engine joins its thread: not on the caller's thread.
        StackHolder? holder = TakeHolder();
        return holder is null ? ValueTask.CompletedTask : new ValueTask(Task.Run(holder.Dispose));
    }
}
