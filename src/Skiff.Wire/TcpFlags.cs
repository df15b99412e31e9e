namespace Skiff.Wire;

/// <summary>
/// The TCP control bits, byte 13 of the header (RFC 9293 section 3.1; ECE and CWR from RFC 3168
/// section 6.1). The AE bit of RFC 9768 lives in byte 12 and is not part of this byte.
/// </summary>
[Flags]
public enum TcpFlags : byte
{
    None = 0,
    Fin = 1,
    Syn = 2,
    Rst = 4,
    Psh = 8,
    Ack = 16,
    Urg = 32,
    Ece = 64,
    Cwr = 128,
}
