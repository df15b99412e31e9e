using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// A passive open on a local port (RFC 9293 LISTEN). Incoming SYNs create half-open connections
/// (bounded by <see cref="MaxHalfOpen"/>; beyond it SYN cookies answer, RFC 4987), completed handshakes
/// wait in the accept queue (bounded by <see cref="Backlog"/>) until <see cref="TcpLayer.TryAccept"/>.
/// Not thread-safe: owned by the loop of its layer.
/// </summary>
public sealed class TcpListener
{
    private readonly SocketHandle[] _acceptQueue;
    private int _acceptHead;
    private int _acceptCount;

    internal TcpListener(Ipv4Address localAddress, ushort localPort, int backlog, int maxHalfOpen, TcpConfig config)
    {
        LocalIp = localAddress;
        LocalPort = localPort;
        Backlog = backlog;
        MaxHalfOpen = maxHalfOpen;
        Config = config;
        _acceptQueue = new SocketHandle[backlog];
    }

    /// <summary>
    /// The IPv4 address listened on; <see cref="Ipv4Address.Any"/> for every address of the interface, IPv4 and IPv6
    /// (dual-stack), and for a listener on one IPv6 address (read <see cref="LocalIp"/>).
    /// </summary>
    public Ipv4Address LocalAddress => LocalIp.Ipv4;

    /// <summary>The address listened on, of either family; unspecified for every address of both families.</summary>
    public IpAddress LocalIp { get; internal set; }

    /// <summary>The local port listened on.</summary>
    public ushort LocalPort { get; }

    /// <summary>Most established connections waiting to be accepted.</summary>
    public int Backlog { get; }

    /// <summary>Most connections in SYN-RECEIVED; past it, SYN cookies (if enabled) or drops.</summary>
    public int MaxHalfOpen { get; }

    /// <summary>Settings copied into each accepted connection.</summary>
    public TcpConfig Config { get; }

    /// <summary>False once the listener was closed.</summary>
    public bool IsOpen { get; internal set; } = true;

    /// <summary>Connections in SYN-RECEIVED now.</summary>
    public int HalfOpen { get; internal set; }

    /// <summary>Connections waiting in the accept queue.</summary>
    public int Pending => _acceptCount;

    /// <summary>True when <see cref="TcpLayer.TryAccept"/> would return a connection.</summary>
    public bool CanAccept => _acceptCount > 0;

    /// <summary>SYNs that reached this listener (new connection attempts), whatever became of them.</summary>
    public long SynsReceived { get; internal set; }

    /// <summary>SYN-ACKs sent with a SYN cookie because the SYN queue or accept queue was full, or no socket was free (RFC 4987 section 3.6).</summary>
    public long SynCookiesSent { get; internal set; }

    /// <summary>ACKs that carried a valid SYN cookie and so created a connection without SYN-RECEIVED state.</summary>
    public long SynCookiesAccepted { get; internal set; }

    /// <summary>ACKs to the listener (with SYN cookies on) whose cookie did not validate: forged, for another tuple, or too old (<see cref="SynCookies.MaxAgeSteps"/>). The segment is answered with a RST, rate limited.</summary>
    public long SynCookiesRejected { get; internal set; }

    /// <summary>SYNs dropped because the SYN queue was full and cookies are off, or no socket was free.</summary>
    public long SynsDropped { get; internal set; }

    /// <summary>Completed handshakes reset because the accept queue was full.</summary>
    public long AcceptQueueOverflows { get; internal set; }

    /// <summary>Connections the application took through <see cref="TcpLayer.TryAccept"/>.</summary>
    public long Accepted { get; internal set; }

    internal bool AcceptQueueFull => _acceptCount == _acceptQueue.Length;

    internal bool TryEnqueue(SocketHandle handle)
    {
        if (_acceptCount == _acceptQueue.Length)
        {
            return false;
        }
        _acceptQueue[(_acceptHead + _acceptCount) % _acceptQueue.Length] = handle;
        _acceptCount++;
        return true;
    }

    internal bool TryDequeue(out SocketHandle handle)
    {
        if (_acceptCount == 0)
        {
            handle = default;
            return false;
        }
        handle = _acceptQueue[_acceptHead];
        _acceptHead = (_acceptHead + 1) % _acceptQueue.Length;
        _acceptCount--;
        return true;
    }

    /// <summary>The listened address and port with the accept-queue and half-open counts, for logs.</summary>
    public override string ToString() => $"TCP listener {LocalAddress}:{LocalPort} ({_acceptCount} pending, {HalfOpen} half-open)";
}
