using Skiff.Engine.Internal;

namespace Skiff.Engine;

/// <summary>
/// A TCP listener of a <see cref="SkiffStack"/> (<see cref="SkiffStack.Listen"/>). Connections whose
/// handshake completed wait in the stack's accept queue (bounded by the backlog) until
/// <see cref="AcceptAsync"/> takes them.
/// </summary>
/// <remarks>
/// Thread-safety: one <see cref="AcceptAsync"/> may be outstanding at a time (a second throws
/// <see cref="InvalidOperationException"/>); <see cref="DisposeAsync"/> is safe from any thread. Accepting
/// allocates only the connection and its pipes: the operation itself is a reusable
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>.
/// </remarks>
public sealed class SkiffListener : IAsyncDisposable
{
    private readonly ListenerCore _core;

    internal SkiffListener(ListenerCore core, ushort port)
    {
        _core = core;
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
        if (_core.IsCloseRequested)
        {
            throw new ObjectDisposedException(nameof(SkiffListener), "The listener was disposed; create a new one with SkiffStack.Listen.");
        }
        return _core.Accept.Start(cancellationToken);
    }

    /// <summary>Stops listening: connections not yet accepted are reset, an outstanding accept fails with <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        _core.RequestClose();
        return new ValueTask(_core.Closed);
    }

    public override string ToString() => $"Skiff TCP listener :{Port}";
}
