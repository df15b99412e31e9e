using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;
using Skiff.Engine;

namespace Skiff.Kestrel.Internal;

/// <summary>
/// Kestrel's view of one <see cref="SkiffConnection"/>. Kestrel reads and writes <see cref="Transport"/> (the
/// connection's own pipes: no copy in between); <see cref="ConnectionClosed"/> fires when the peer closed or reset,
/// or the connection ended (<see cref="SkiffConnection.ConnectionClosed"/>); <see cref="Abort(ConnectionAbortedException)"/>
/// shuts it down as the socket transport does (unsent output dropped, a FIN after what the connection already queued,
/// reads end with the reason); <see cref="DisposeAsync"/> closes it gracefully (FIN after every byte written) and releases it.
/// The features Kestrel and applications look up are this object itself.
/// </summary>
internal sealed class SkiffConnectionContext : ConnectionContext,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature, ISkiffConnectionFeature
{
    private readonly SkiffConnection _connection;
    private IDictionary<object, object?>? _items;

    public SkiffConnectionContext(SkiffConnection connection, string connectionId)
    {
        _connection = connection;
        ConnectionId = connectionId;
        Transport = connection.Transport;
        LocalEndPoint = connection.LocalEndPoint;
        RemoteEndPoint = connection.RemoteEndPoint;
        ConnectionClosed = connection.ConnectionClosed;
        FeatureCollection features = new(6);
        features.Set<IConnectionIdFeature>(this);
        features.Set<IConnectionTransportFeature>(this);
        features.Set<IConnectionItemsFeature>(this);
        features.Set<IConnectionLifetimeFeature>(this);
        features.Set<IConnectionEndPointFeature>(this);
        features.Set<ISkiffConnectionFeature>(this);
        Features = features;
    }

    public override string ConnectionId { get; set; }

    SkiffConnection ISkiffConnectionFeature.Connection => _connection;

    public override IFeatureCollection Features { get; }

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    // As Kestrel's socket transport: shutdown(SHUT_RDWR), so the peer sees a FIN after what was already sent, not a reset.
    public override void Abort(ConnectionAbortedException abortReason) => _connection.Shutdown(abortReason);

    public override ValueTask DisposeAsync() => _connection.DisposeAsync();

    public override string ToString() => $"{ConnectionId} {_connection}";
}
