namespace Skiff.Stack.Tcp;

/// <summary>
/// Per-connection TCP settings. Defaults follow Linux where an RFC leaves room, and say so.
/// A listener's config is copied into every connection it accepts.
/// </summary>
public sealed record TcpConfig
{
    /// <summary>Every setting at its documented default; shared and immutable (derive others with <c>with</c>).</summary>
    public static readonly TcpConfig Default = new();

    /// <summary>Send buffer in bytes (a power of two). Default 256 KiB.</summary>
    public int SendBufferBytes { get; init; } = 256 * 1024;

    /// <summary>Most bytes queued for the application, in order and out of order; bounds the advertised window. Default 256 KiB.</summary>
    public int ReceiveBufferBytes { get; init; } = 256 * 1024;

    /// <summary>
    /// Most buffers (frames) in the in-order receive queue; a peer sending tiny segments cannot pin more frames than
    /// this (small segments are copied together into one frame). The advertised window never exceeds what these frames
    /// are sure to take, (n - 1) half frames: 512 covers a 256 KiB buffer with 2 KiB frames; raise it with
    /// <see cref="ReceiveBufferBytes"/> beyond that. Default 512.
    /// </summary>
    public int MaxReceiveSegments { get; init; } = 512;

    /// <summary>Most segments held out of order. Default 128.</summary>
    public int MaxOutOfOrderSegments { get; init; } = 128;

    /// <summary>The smallest peer MSS accepted; a smaller MSS option is raised to this floor. Default 536 (RFC 9293 3.7.1 default MSS).</summary>
    public int MinMssBytes { get; init; } = 536;

    /// <summary>Nagle's algorithm (RFC 9293 3.7.4). Default on; set false for TCP_NODELAY.</summary>
    public bool Nagle { get; init; } = true;

    /// <summary>Delayed ACKs (RFC 9293 3.8.6.3, RFC 1122 4.2.3.2): ACK every second full segment, otherwise within <see cref="DelayedAckTimeout"/>.</summary>
    public bool DelayedAck { get; init; } = true;

    /// <summary>Longest an ACK is delayed; must stay under 500 ms. Default 40 ms (Linux's minimum delayed-ACK time).</summary>
    public Duration DelayedAckTimeout { get; init; } = Duration.FromMillis(40);

    /// <summary>Offer the window scale option (RFC 7323 section 2). Default on.</summary>
    public bool WindowScaling { get; init; } = true;

    /// <summary>Offer timestamps (RFC 7323 section 3) for RTT measurement and PAWS. Default on.</summary>
    public bool Timestamps { get; init; } = true;

    /// <summary>Offer SACK (RFC 2018) and use SACK-based recovery (RFC 6675). Default on.</summary>
    public bool Sack { get; init; } = true;

    /// <summary>
    /// With SACK: detect losses by time with RACK and probe tail losses with TLP (RFC 8985), instead of RFC 6675's
    /// three-duplicate rule. Default on, as in Linux. Without SACK the duplicate-ACK rules apply either way.
    /// </summary>
    public bool RackTlp { get; init; } = true;

    /// <summary>Congestion control. Default CUBIC.</summary>
    public CongestionControlKind CongestionControl { get; init; } = CongestionControlKind.Cubic;

    /// <summary>Lower bound of the retransmission timeout. Default 200 ms (Linux's TCP_RTO_MIN; RFC 6298 says 1 s).</summary>
    public Duration MinRto { get; init; } = Duration.FromMillis(200);

    /// <summary>Upper bound of the retransmission timeout. Default 60 s (RFC 6298 2.5 allows it).</summary>
    public Duration MaxRto { get; init; } = Duration.FromSeconds(60);

    /// <summary>RTO before the first RTT sample. Default 1 s (RFC 6298 2.1).</summary>
    public Duration InitialRto { get; init; } = Duration.FromSeconds(1);

    /// <summary>Retransmissions of one segment before the connection gives up (RFC 1122 R2). Default 15 (Linux tcp_retries2).</summary>
    public int MaxRetransmissions { get; init; } = 15;

    /// <summary>SYN retransmissions before connect fails. Default 6 (Linux tcp_syn_retries).</summary>
    public int MaxSynRetransmissions { get; init; } = 6;

    /// <summary>If set, the connection aborts when sent data stays unacknowledged this long (RFC 5482 user timeout). Default none.</summary>
    public Duration? UserTimeout { get; init; }

    /// <summary>Send keepalive probes (RFC 1122 4.2.3.6). Default off.</summary>
    public bool KeepAlive { get; init; }

    /// <summary>Idle time before the first keepalive probe. Default 2 h (RFC 1122).</summary>
    public Duration KeepAliveIdle { get; init; } = Duration.FromSeconds(7200);

    /// <summary>Time between unanswered keepalive probes. Default 75 s (Linux).</summary>
    public Duration KeepAliveInterval { get; init; } = Duration.FromSeconds(75);

    /// <summary>Unanswered probes before the connection is dropped. Default 9 (Linux).</summary>
    public int KeepAliveProbes { get; init; } = 9;

    /// <summary>How long TIME-WAIT lasts (2 MSL). Default 60 s (Linux's TCP_TIMEWAIT_LEN).</summary>
    public Duration TimeWait { get; init; } = Duration.FromSeconds(60);

    /// <summary>Challenge ACKs (RFC 5961) this connection may send per second. Default 10.</summary>
    public int ChallengeAcksPerSecond { get; init; } = 10;

    /// <summary>Validates the settings; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (SendBufferBytes < 4096 || !int.IsPow2(SendBufferBytes))
        {
            throw new ArgumentException($"SendBufferBytes {SendBufferBytes} must be a power of two of at least 4096.");
        }
        if (ReceiveBufferBytes < 4096)
        {
            throw new ArgumentException($"ReceiveBufferBytes {ReceiveBufferBytes} must be at least 4096.");
        }
        if (DelayedAckTimeout >= Duration.FromMillis(500) || DelayedAckTimeout <= Duration.Zero)
        {
            throw new ArgumentException("DelayedAckTimeout must be above zero and under 500 ms (RFC 1122 4.2.3.2).");
        }
        if (MinMssBytes < 64)
        {
            throw new ArgumentException("MinMssBytes must be at least 64.");
        }
        if (MaxReceiveSegments < 4 || MaxOutOfOrderSegments < 1)
        {
            throw new ArgumentException("MaxReceiveSegments must be at least 4 and MaxOutOfOrderSegments at least 1.");
        }
    }
}
