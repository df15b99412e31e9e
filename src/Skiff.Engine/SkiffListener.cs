using Skiff.Engine.Internal;

namespace Skiff.Engine;

/// <summary>
/// A TCP listener of a <see cref="SkiffStack"/> (<see cref="SkiffStack.Listen"/>), listening on every core.
/// Connections whose handshake completed wait in their core's accept queue (bounded by the backlog) until
/// <see cref="AcceptAsync"/> takes them; the connection then stays on that core.
/// </summary>
/// <remarks>
/// Thread-safety: one <see cref="AcceptAsync"/> may be outstanding at a time (a second throws
/// <see cref="InvalidOperationException"/>); <see cref="DisposeAsync"/> is safe from any thread. Accepting
/// allocates only the connection and its pipes: the operation itself is a reusable
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>.
/// </remarks>
public sealed class SkiffListener : IAsyncDisposable
{
    private readonly ListenerShared _shared;

    internal SkiffListener(ListenerShared shared, ushort port)
    {
        _shared = shared;
        Port = port;
    }

    /// <summary>The local port listened on.</summary>
    public ushort Port { get; }

    /// <summary>
    /// The next established connection. Fails with <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> fires first (no connection is lost: it stays queued), and with
    /// <see cref="ObjectDisposedException"/> once the listener or the engine is disposed.
    /// </summary>
    public ValueTask<SkiffConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (_shared.IsCloseRequested)
        {
            throw new ObjectDisposedException(nameof(SkiffListener), "The listener was disposed; create a new one with SkiffStack.Listen.");
        }
        LoopOperation<SkiffConnection> accept = _shared.Accept;
        accept.Reserve();
        if (_shared.TryTakeReady(out SkiffConnection ready))
        {
            // A core accepted it while another core completed the previous accept.
            accept.Release();
            return new ValueTask<SkiffConnection>(ready);
        }
        ValueTask<SkiffConnection> pending = accept.StartReserved(cancellationToken);
        // One may have become ready between the look above and the start; hand it over now if no core did.
        if (_shared.TryTakeReady(out ready) && !accept.TryComplete(ready))
        {
            _shared.ReturnReady(ready);
        }
        return pending;
    }

    /// <summary>Stops listening: connections not yet accepted are reset, an outstanding accept fails with <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        _shared.RequestClose();
        return new ValueTask(_shared.Closed);
    }

    /// <summary>"Skiff TCP listener :PORT", for logs and the debugger.</summary>
    public override string ToString() => $"Skiff TCP listener :{Port}";
}
