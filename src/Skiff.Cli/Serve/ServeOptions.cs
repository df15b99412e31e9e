namespace Skiff.Cli.Serve;

/// <summary>What <see cref="ServeApp"/> serves. A null port turns that service off. Defaults are documented per property.</summary>
internal sealed record ServeOptions
{
    /// <summary>TCP echo (RFC 862): every byte received is sent back. Default off.</summary>
    public ushort? TcpEchoPort { get; init; }

    /// <summary>TCP discard (RFC 863): every byte received is dropped. Default off.</summary>
    public ushort? TcpDiscardPort { get; init; }

    /// <summary>UDP echo (RFC 862): every datagram is sent back to its source. Default off.</summary>
    public ushort? UdpEchoPort { get; init; }

    /// <summary>The HTTP/1.1 responder (<see cref="HttpConnection"/>). Default off.</summary>
    public ushort? HttpPort { get; init; }

    /// <summary>Connections served at once; more are reset. Default 1024.</summary>
    public int MaxConnections { get; init; } = 1024;

    /// <summary>
    /// An HTTP connection that has not sent a whole request head this long after it was accepted is closed (Kestrel's
    /// RequestHeadersTimeout; nginx's client_header_timeout): idle and slow-header connections cannot hold the
    /// connection limit. Default 30 s.
    /// </summary>
    public Duration HeaderTimeout { get; init; } = Duration.FromSeconds(30);

    /// <summary>Connections served at once from one source address; more from it are reset. Default null: no limit per source.</summary>
    public int? MaxConnectionsPerSource { get; init; }

    /// <summary>A connection with no traffic for this long is released (reset if unread data remains). Default 120 s.</summary>
    public Duration IdleTimeout { get; init; } = Duration.FromSeconds(120);

    /// <summary>The egress qdisc of every core's port (<c>--qdisc</c>, <c>--shape</c>, <c>--qdisc-file</c>); null: frames go straight to the device.</summary>
    public Skiff.QDisc.Spec.QDiscSpec? QDisc { get; init; }

    /// <summary>True when at least one service is on.</summary>
    public bool AnyService => TcpEchoPort.HasValue || TcpDiscardPort.HasValue || UdpEchoPort.HasValue || HttpPort.HasValue;
}
