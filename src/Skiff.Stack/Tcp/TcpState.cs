namespace Skiff.Stack.Tcp;

/// <summary>The connection states of RFC 9293 section 3.3.2.</summary>
public enum TcpState : byte
{
    Closed,
    Listen,
    SynSent,
    SynReceived,
    Established,
    FinWait1,
    FinWait2,
    CloseWait,
    Closing,
    LastAck,
    TimeWait,
}
