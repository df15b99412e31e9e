using System.Net;
using Microsoft.AspNetCore.Connections;
using Skiff.Engine;

namespace Skiff.Kestrel.Internal;

/// <summary>One endpoint Kestrel bound: accepts the <see cref="SkiffListener"/>'s connections as <see cref="SkiffConnectionContext"/>s.</summary>
internal sealed class SkiffConnectionListener : IConnectionListener
{
    private static long s_nextId = Random.Shared.NextInt64(1L << 40);

    private readonly SkiffListener _listener;

    public SkiffConnectionListener(SkiffListener listener, EndPoint endpoint)
    {
        _listener = listener;
        EndPoint = endpoint;
    }

    public EndPoint EndPoint { get; }

    /// <summary>The next connection; null once the listener is unbound or disposed, or the stack stopped (Kestrel's accept loop then ends).</summary>
    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        SkiffConnection connection;
        try
        {
            connection = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        string id = $"skiff-{Interlocked.Increment(ref s_nextId):x}";
        return new SkiffConnectionContext(connection, id);
    }

    /// <summary>Stops listening: connections not yet accepted are reset; the outstanding accept returns null.</summary>
    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => _listener.DisposeAsync();

    public ValueTask DisposeAsync() => _listener.DisposeAsync();

    public override string ToString() => $"Skiff listener {EndPoint}";
}
