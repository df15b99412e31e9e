namespace Skiff.Stack.Tcp;

/// <summary>Why a connection ended other than by an orderly close.</summary>
public enum TcpError : byte
{
    /// <summary>No error: the connection is open, or ended by an orderly close (both FINs exchanged).</summary>
    None,
    /// <summary>The peer answered our SYN with a RST: nothing listens there.</summary>
    Refused,
    /// <summary>The peer reset an established connection.</summary>
    Reset,
    /// <summary>Retransmissions (or the user timeout, or keepalive probes) ran out.</summary>
    TimedOut,
    /// <summary>The local application aborted the connection.</summary>
    Aborted,
    /// <summary>An ICMP error said the peer cannot be reached.</summary>
    Unreachable,
}
