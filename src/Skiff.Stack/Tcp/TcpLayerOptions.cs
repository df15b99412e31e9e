namespace Skiff.Stack.Tcp;

/// <summary>Bounds and policies of a <see cref="TcpLayer"/>. Every table is bounded (TESTING.md).</summary>
public sealed record TcpLayerOptions
{
    /// <summary>Sockets: connections the layer can hold in every state but TIME-WAIT (which <see cref="MaxTimeWait"/> bounds). Default 4096.</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>
    /// Most connections in TIME-WAIT, each a compact record beside the sockets (its socket returns to the pool); past it
    /// the oldest is ended early and counted (Linux tcp_max_tw_buckets). Default 1024.
    /// </summary>
    public int MaxTimeWait { get; init; } = 1024;

    /// <summary>Default accept-queue bound of a listener. Default 128.</summary>
    public int DefaultBacklog { get; init; } = 128;

    /// <summary>Default SYN-queue (half-open) bound of a listener. Default 256.</summary>
    public int DefaultMaxHalfOpen { get; init; } = 256;

    /// <summary>Answer SYNs with cookies when a listener's SYN queue is full (RFC 4987 3.6). Default on.</summary>
    public bool SynCookies { get; init; } = true;

    /// <summary>First ephemeral port (IANA dynamic range, RFC 6335). Default 49152.</summary>
    public ushort EphemeralPortFirst { get; init; } = 49152;

    /// <summary>Last ephemeral port. Default 65535.</summary>
    public ushort EphemeralPortLast { get; init; } = 65535;

    /// <summary>RSTs the layer sends per second for segments that match no connection. Default 1000.</summary>
    public int ResetsPerSecond { get; init; } = 1000;

    /// <summary>
    /// Reuse a local TIME-WAIT connection's 4-tuple for a new outgoing connection when timestamps are on
    /// (the peer's PAWS tells the incarnations apart, RFC 7323 5 and RFC 6191; Linux tcp_tw_reuse). Default on.
    /// </summary>
    public bool ReuseTimeWait { get; init; } = true;

    /// <summary>
    /// Optional filter for ephemeral ports: connections opened by this layer only use local ports it
    /// accepts (the engine uses it so that a flow's RSS hash lands on the opening core). Default: any.
    /// </summary>
    public Func<TcpTuple, bool>? EphemeralPortFilter { get; init; }

    /// <summary>Checks the bounds; throws <see cref="ArgumentException"/> with a sentence naming the problem when a bound is not positive or the ephemeral port range is empty or starts at 0.</summary>
    public void Validate()
    {
        if (MaxConnections < 1 || MaxTimeWait < 0 || DefaultBacklog < 1 || DefaultMaxHalfOpen < 1)
        {
            throw new ArgumentException("TCP layer bounds must be positive.");
        }
        if (EphemeralPortFirst == 0 || EphemeralPortFirst > EphemeralPortLast)
        {
            throw new ArgumentException($"The ephemeral port range {EphemeralPortFirst}-{EphemeralPortLast} is empty or starts at 0.");
        }
    }
}
