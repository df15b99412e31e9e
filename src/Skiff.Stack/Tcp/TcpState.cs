namespace Skiff.Stack.Tcp;

/// <summary>The connection states of RFC 9293 section 3.3.2.</summary>
public enum TcpState : byte
{
    /// <summary>No connection: not opened yet, or ended (orderly close done, reset, timed out or aborted; <see cref="TcpSocket.Error"/> says which).</summary>
    Closed,
    /// <summary>Waiting for a SYN (RFC 9293 LISTEN). A passive open is a <see cref="TcpListener"/>, so no <see cref="TcpSocket"/> is in this state.</summary>
    Listen,
    /// <summary>Active open: our SYN is sent, waiting for the peer's SYN-ACK.</summary>
    SynSent,
    /// <summary>A SYN arrived (or both sides opened at once) and our SYN-ACK is sent, waiting for the ACK that completes the handshake.</summary>
    SynReceived,
    /// <summary>The handshake completed: data flows both ways.</summary>
    Established,
    /// <summary>We closed first: our FIN is sent and not yet acknowledged.</summary>
    FinWait1,
    /// <summary>Our FIN is acknowledged; waiting for the peer's FIN (the peer may still send data).</summary>
    FinWait2,
    /// <summary>The peer closed first (its FIN arrived); we may still send until the application closes.</summary>
    CloseWait,
    /// <summary>Both sides closed at once: the peer's FIN arrived before ours was acknowledged.</summary>
    Closing,
    /// <summary>The peer closed first and then so did we: waiting for the ACK of our FIN.</summary>
    LastAck,
    /// <summary>Both FINs are exchanged and we closed first: the 4-tuple stays reserved for 2 MSL so that late segments are not taken for a new connection (RFC 9293 section 3.6.1). The socket hands over to a compact TIME-WAIT record.</summary>
    TimeWait,
}
