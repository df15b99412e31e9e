using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;

namespace Skiff.Cli.Serve;

/// <summary>
/// The services of <c>skiff serve</c> on one <see cref="Interface"/>: TCP echo (RFC 862), TCP discard
/// (RFC 863), UDP echo and the HTTP/1.1 responder (<see cref="HttpConnection"/>). Sans-I/O like the stack:
/// the caller polls the interface and calls <see cref="Service"/> after each poll, on the same thread, so
/// it runs over any device (a driver, or the in-memory link in tests).
/// </summary>
/// <remarks>
/// At <see cref="ServeOptions.MaxConnections"/> the oldest HTTP connection that has sent no request is reset to
/// make room (as nginx and Kestrel shed idle connections under a connection flood); only when there is none is the
/// new one reset. HTTP connections without a request head after <see cref="ServeOptions.HeaderTimeout"/> are
/// closed. Serving allocates nothing per packet, request or refused connection; HTTP connection state is pooled.
/// Not thread-safe.
/// </remarks>
internal sealed class ServeApp
{
    private enum Kind : byte
    {
        Echo,
        Discard,
        Http,
    }

    private struct Connection
    {
        public SocketHandle Handle;
        public Kind Kind;
        public HttpConnection? Http;
        public Instant LastActivity;
        public Instant AcceptedAt;
        public long LastBytes;
    }

    private readonly Interface _iface;
    private readonly ServeOptions _options;
    private readonly Connection[] _connections;
    private readonly Stack<HttpConnection> _httpPool = new();
    private int _count;
    private TcpListener? _echo;
    private TcpListener? _discard;
    private TcpListener? _http;
    private UdpSocket? _udpEcho;

    public ServeApp(Interface iface, ServeOptions options)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxConnections < 1)
        {
            throw new ArgumentException("MaxConnections must be at least 1.");
        }
        _iface = iface;
        _options = options;
        _connections = new Connection[options.MaxConnections];
    }

    public ServeCounters Counters { get; } = new();

    /// <summary>Connections being served now.</summary>
    public int ActiveConnections => _count;

    /// <summary>
    /// Opens the listeners and the UDP socket the options ask for. Throws <see cref="InvalidOperationException"/>
    /// when a port is taken (two services on one port).
    /// </summary>
    public void Start()
    {
        if (_options.TcpEchoPort is ushort echo)
        {
            _echo = _iface.Tcp.Listen(echo);
        }
        if (_options.TcpDiscardPort is ushort discard)
        {
            _discard = _iface.Tcp.Listen(discard);
        }
        if (_options.HttpPort is ushort http)
        {
            _http = _iface.Tcp.Listen(http);
        }
        if (_options.UdpEchoPort is ushort udp)
        {
            _udpEcho = _iface.Udp.Bind(udp);
        }
    }

    /// <summary>Accepts new connections and serves every open one and the UDP socket. Returns true if anything moved.</summary>
    public bool Service(Instant now)
    {
        bool work = Accept(_echo, Kind.Echo, now) | Accept(_discard, Kind.Discard, now) | Accept(_http, Kind.Http, now);
        work |= EchoDatagrams();
        for (int i = 0; i < _count; i++)
        {
            ref Connection c = ref _connections[i];
            if (!_iface.Tcp.TryGet(c.Handle, out TcpSocket? socket))
            {
                RemoveAt(i--);
                continue;
            }
            bool keep = c.Kind switch
            {
                Kind.Echo => Echo(socket),
                Kind.Discard => Discard(socket),
                _ => c.Http!.Service(socket),
            };
            long bytes = socket.Counters.BytesReceived + socket.Counters.BytesSent;
            if (keep && c.Http is { RequestSeen: false } && now - c.AcceptedAt >= _options.HeaderTimeout)
            {
                Counters.HeaderTimeouts++;
                socket.Abort(); // nothing was asked, so nothing is owed: a reset frees the peer's side too
                keep = false;
            }
            else if (bytes != c.LastBytes)
            {
                c.LastBytes = bytes;
                c.LastActivity = now;
                work = true;
            }
            else if (now - c.LastActivity > _options.IdleTimeout)
            {
                Counters.ConnectionsTimedOut++;
                keep = false;
            }
            if (!keep)
            {
                _iface.Tcp.Release(c.Handle);
                RemoveAt(i--);
                work = true;
            }
        }
        return work;
    }

    /// <summary>Closes the listeners and the UDP socket and releases every connection (gracefully where no data is unread).</summary>
    public void Stop()
    {
        foreach (TcpListener? l in new[] { _echo, _discard, _http })
        {
            if (l is not null)
            {
                _iface.Tcp.CloseListener(l);
            }
        }
        _echo = _discard = _http = null;
        _udpEcho?.Close();
        _udpEcho = null;
        while (_count > 0)
        {
            _iface.Tcp.Release(_connections[_count - 1].Handle);
            RemoveAt(_count - 1);
        }
    }

    private bool Accept(TcpListener? listener, Kind kind, Instant now)
    {
        if (listener is null)
        {
            return false;
        }
        bool any = false;
        while (_iface.Tcp.TryAccept(listener, out SocketHandle handle))
        {
            any = true;
            TcpSocket accepted = _iface.Tcp.Get(handle);
            if (_options.MaxConnectionsPerSource is int perSource && CountFrom(accepted.Tuple.RemoteIp) >= perSource)
            {
                Counters.ConnectionsRefusedPerSource++;
                Refuse(handle, accepted);
                continue;
            }
            if (_count == _connections.Length && !EvictOldestWithoutRequest())
            {
                Counters.ConnectionsRefused++;
                Refuse(handle, accepted);
                continue;
            }
            Counters.ConnectionsAccepted++;
            HttpConnection? http = null;
            if (kind == Kind.Http)
            {
                http = _httpPool.Count > 0 ? _httpPool.Pop() : new HttpConnection(Counters);
                http.Reset();
            }
            _connections[_count++] = new Connection { Handle = handle, Kind = kind, Http = http, LastActivity = now, AcceptedAt = now };
        }
        return any;
    }

    private void Refuse(SocketHandle handle, TcpSocket socket)
    {
        socket.Abort();
        _iface.Tcp.Release(handle);
    }

    private int CountFrom(Skiff.Wire.IpAddress source)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
        {
            if (_iface.Tcp.TryGet(_connections[i].Handle, out TcpSocket? s) && s.Tuple.RemoteIp == source)
            {
                n++;
            }
        }
        return n;
    }

    /// <summary>Resets the HTTP connection accepted longest ago that has sent no request; false when every connection has asked for something.</summary>
    private bool EvictOldestWithoutRequest()
    {
        int oldest = -1;
        for (int i = 0; i < _count; i++)
        {
            ref Connection c = ref _connections[i];
            if (c.Http is { RequestSeen: false } && (oldest < 0 || c.AcceptedAt < _connections[oldest].AcceptedAt))
            {
                oldest = i;
            }
        }
        if (oldest < 0)
        {
            return false;
        }
        Counters.ConnectionsEvicted++;
        SocketHandle victim = _connections[oldest].Handle;
        if (_iface.Tcp.TryGet(victim, out TcpSocket? socket))
        {
            socket.Abort();
        }
        _iface.Tcp.Release(victim);
        RemoveAt(oldest);
        return true;
    }

    private void RemoveAt(int index)
    {
        if (_connections[index].Http is HttpConnection http)
        {
            _httpPool.Push(http);
        }
        _connections[index] = _connections[--_count];
        _connections[_count] = default;
    }

    /// <summary>Echo: sends back what fits in the send buffer, consuming only that much (backpressure through the window).</summary>
    private bool Echo(TcpSocket socket)
    {
        while (socket.CanSend && socket.TryPeek(out ReadOnlySpan<byte> data))
        {
            int n = socket.Send(data);
            socket.Consume(n);
            Counters.EchoBytes += n;
            if (n < data.Length)
            {
                break;
            }
        }
        if (socket.State == TcpState.Closed)
        {
            return false;
        }
        // Done when the peer has finished and everything it sent was echoed; the release then closes our side.
        return !socket.IsReceiveFinished;
    }

    private bool Discard(TcpSocket socket)
    {
        while (socket.TryPeek(out ReadOnlySpan<byte> data))
        {
            Counters.DiscardBytes += data.Length;
            socket.Consume(data.Length);
        }
        return !socket.IsReceiveFinished;
    }

    private bool EchoDatagrams()
    {
        if (_udpEcho is null)
        {
            return false;
        }
        bool any = false;
        while (_udpEcho.CanSend && _udpEcho.TryReceive(out PacketBuffer? datagram, out UdpEndpoint from))
        {
            any = true;
            // Answered in place: the payload stays where the device wrote it and the headers are rebuilt in front of it.
            if (_udpEcho.TrySend(datagram, from))
            {
                Counters.UdpEchoDatagrams++;
            }
            else
            {
                Counters.UdpEchoRefused++;
                datagram.Free();
            }
        }
        return any;
    }
}
