namespace Skiff.Wire;

/// <summary>
/// The TCP control bits, byte 13 of the header (RFC 9293 section 3.1; ECE and CWR from RFC 3168
/// section 6.1). The AE bit of RFC 9768 lives in byte 12 and is not part of this byte.
/// </summary>
[Flags]
public enum TcpFlags : byte
{
    /// <summary>No bits set: not a valid segment on any connection; a closed port answers it with RST (RFC 9293 section 3.10.7.1).</summary>
    None = 0,
    /// <summary>FIN: the sender has no more data; occupies one sequence number (RFC 9293 section 3.1).</summary>
    Fin = 1,
    /// <summary>SYN: synchronise sequence numbers, opening a connection; occupies one sequence number (RFC 9293 section 3.1).</summary>
    Syn = 2,
    /// <summary>RST: reset (abort) the connection (RFC 9293 section 3.1).</summary>
    Rst = 4,
    /// <summary>PSH: deliver the data to the application without waiting for more (RFC 9293 section 3.1).</summary>
    Psh = 8,
    /// <summary>ACK: the acknowledgment number is valid; set on every segment after the first SYN (RFC 9293 section 3.1).</summary>
    Ack = 16,
    /// <summary>URG: the urgent pointer is valid (RFC 9293 section 3.1; RFC 6093 discourages new uses).</summary>
    Urg = 32,
    /// <summary>ECE: ECN-Echo; on a SYN, ECN capable; otherwise, a congestion-experienced mark was received (RFC 3168 section 6.1).</summary>
    Ece = 64,
    /// <summary>CWR: congestion window reduced, the sender's answer to ECE (RFC 3168 section 6.1).</summary>
    Cwr = 128,
}
