using Skiff.Stack.Tcp.Internal;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// Every TCP connection and listener of one interface: a fixed pool of <see cref="TcpSocket"/>s, a bounded
/// connection table, listeners with SYN and accept queues and SYN cookies, ephemeral ports, TIME-WAIT
/// bounds, and RSTs for segments no connection owns (RFC 9293 3.10.7.1). Sans-I/O: the interface hands
/// it parsed segments and asks it for segments to send.
/// </summary>
/// <remarks>
/// Handles: <see cref="Connect(Instant, Ipv4Address, Ipv4Address, ushort, TcpConfig?, ushort)"/> and <see cref="TryAccept"/> give the application a
/// <see cref="SocketHandle"/>; <see cref="Release"/> gives it back (like close(2)); the connection then
/// finishes its close on its own and its slot returns to the pool. Not thread-safe: one loop owns it.
/// </remarks>
public sealed class TcpLayer
{
    private const int MaxControlReplies = 64;

    private readonly TcpLayerOptions _options;
    private readonly TcpSocket[] _sockets;
    private readonly bool[] _appOwned;
    private readonly int[] _freeSlots;
    private int _freeCount;
    private readonly int[] _active;
    private readonly int[] _activeIndex; // position of a slot in _active, or -1
    private int _activeCount;
    // 4-tuple to socket slot, or to TIME-WAIT record (slot count + record index).
    private readonly ConnectionTable _table;
    // A connection that enters TIME-WAIT hands its duty to a compact record and its socket goes back to the pool at
    // once (unless the application still holds it), so the next connection reuses a warm socket instead of the
    // coldest of a thousand. The records form a FIFO: expiry and the MaxTimeWait bound cost O(1) at its head.
    private readonly TimeWaitRecords _timeWait;
    // Sockets that may owe a segment, or whose next deadline may have moved: a segment, a timer or the application
    // touched them since the last dispatch. A poll visits these, never every connection. Each slot at most once
    // (PendingQueued, kept across a reuse of the slot as the entry is).
    private readonly int[] _pending;
    private int _pendingCount;
    private readonly TimerHeap _timers;
    // Application-owned sockets with news for their owner since it last asked (TakeReady): a segment was
    // processed, or a timer or a dispatch changed the state. Each slot at most once (ReadyQueued).
    private readonly int[] _ready;
    private int _readyCount;
    private readonly Dictionary<ushort, TcpListener> _listeners = new();
    private readonly IsnGenerator _isn;
    private readonly SynCookies _cookies;
    private readonly TcpRateLimiter _resetLimiter;
    private readonly (TcpTuple Tuple, TcpRepr Repr)[] _replies = new (TcpTuple, TcpRepr)[MaxControlReplies];
    private int _replyCount;
    private readonly int _localMss;
    private int _localMss6;
    private int _nextEphemeral;

    /// <param name="options">Bounds and policies.</param>
    /// <param name="localMss">The MSS to offer: the interface MTU minus 40.</param>
    /// <param name="secretKey">Key for ISNs (RFC 6528) and SYN cookies; must be secret and random in production.</param>
    public TcpLayer(TcpLayerOptions options, int localMss, UInt128 secretKey)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _localMss = localMss;
        _localMss6 = localMss - 20; // the IPv6 header is 20 bytes longer; the interface sets it from the IPv6 link MTU
        _sockets = new TcpSocket[options.MaxConnections];
        _appOwned = new bool[options.MaxConnections];
        _freeSlots = new int[options.MaxConnections];
        _active = new int[options.MaxConnections];
        _activeIndex = new int[options.MaxConnections];
        for (int i = 0; i < _sockets.Length; i++)
        {
            _sockets[i] = new TcpSocket(i, Counters, this);
            _freeSlots[i] = _sockets.Length - 1 - i;
            _activeIndex[i] = -1;
        }
        _freeCount = _sockets.Length;
        _table = new ConnectionTable(options.MaxConnections + options.MaxTimeWait);
        _timeWait = new TimeWaitRecords(options.MaxTimeWait);
        _pending = new int[options.MaxConnections];
        _timers = new TimerHeap(options.MaxConnections);
        _ready = new int[options.MaxConnections];
        Span<byte> key = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(key, secretKey);
        _isn = new IsnGenerator(key);
        key[15] ^= 0x80; // a different key for cookies than for ISNs
        _cookies = new SynCookies(key);
        _resetLimiter = new TcpRateLimiter(options.ResetsPerSecond, Duration.FromSeconds(1));
        _nextEphemeral = options.EphemeralPortFirst + (int)((ulong)secretKey % (ulong)(options.EphemeralPortLast - options.EphemeralPortFirst + 1));
    }

    /// <summary>Layer-wide counters (opens, resets, TIME-WAIT reuse and recycling); per-connection ones are in <see cref="TcpSocket.Counters"/>.</summary>
    public TcpLayerCounters Counters { get; } = new();

    /// <summary>Connections in any state (TIME-WAIT records and unreleased closed ones included).</summary>
    public int ConnectionCount => _activeCount + _timeWait.Count;

    /// <summary>Connections in TIME-WAIT.</summary>
    public int TimeWaitCount => _timeWait.Count;

    /// <summary>Free socket slots.</summary>
    public int FreeSockets => _freeCount;

    /// <summary>The MSS offered to peers over IPv4.</summary>
    public int LocalMss => _localMss;

    /// <summary>The MSS offered to peers over IPv6: the IPv6 link MTU minus 60 (RFC 8200's 40-byte header, TCP's 20).</summary>
    public int LocalMssIpv6
    {
        get => _localMss6;
        internal set => _localMss6 = value;
    }

    private int MssFor(in TcpTuple tuple) => tuple.IsIpv6 ? _localMss6 : _localMss;

    private SeqNumber Isn(in TcpTuple t, Instant now) => t.IsIpv6
        ? _isn.Generate(t.LocalIp.Ipv6, t.LocalPort, t.RemoteIp.Ipv6, t.RemotePort, now)
        : _isn.Generate(t.LocalAddress, t.LocalPort, t.RemoteAddress, t.RemotePort, now);

    /// <summary>Sockets the next dispatch will visit (touched since the last one, or still owing a segment). For tests.</summary>
    internal int PendingCount => _pendingCount;

    /// <summary>How many sockets the layer has (<see cref="TcpLayerOptions.MaxConnections"/>); socket slots are below it.</summary>
    public int Capacity => _sockets.Length;

    /// <summary>
    /// The application-owned connections with news since the last call (epoll's ready list): data, a FIN or a reset
    /// arrived, an ACK freed send buffer, the handshake completed, or a timer or a dispatch changed the state. An
    /// event loop visits just these instead of every connection after each poll. Fills <paramref name="destination"/>
    /// and returns the count; what does not fit stays for the next call. A handle may have been released meanwhile
    /// (check it with <see cref="TryGet"/>).
    /// </summary>
    public int TakeReady(Span<SocketHandle> destination)
    {
        int n = 0;
        int i = 0;
        for (; i < _readyCount && n < destination.Length; i++)
        {
            TcpSocket s = _sockets[_ready[i]];
            s.ReadyQueued = false;
            if (s.InUse && _appOwned[s.Slot])
            {
                destination[n++] = new SocketHandle(s.Slot, s.Generation);
            }
        }
        if (i < _readyCount)
        {
            Array.Copy(_ready, i, _ready, 0, _readyCount - i);
        }
        _readyCount -= i;
        return n;
    }

    /// <summary>The socket may owe a segment now or have a new deadline: the next dispatch visits it.</summary>
    internal void MarkPending(TcpSocket s)
    {
        if (!s.PendingQueued)
        {
            s.PendingQueued = true;
            _pending[_pendingCount++] = s.Slot;
        }
    }

    /// <summary>
    /// Frees every connection and the buffers it holds (an engine that stops: connections the application released,
    /// still closing or in TIME-WAIT, would otherwise keep theirs). No segment is sent; handles become invalid.
    /// </summary>
    public void FreeAll()
    {
        foreach (TcpSocket s in _sockets)
        {
            if (s.InUse)
            {
                if (s.PendingListener is not null && !s.QueuedForAccept)
                {
                    s.PendingListener.HalfOpen--;
                }
                s.PendingListener = null;
                Free(s);
            }
        }
        while (_timeWait.Oldest >= 0)
        {
            EndTimeWait(_timeWait.Oldest);
        }
    }

    private void MarkReady(TcpSocket s)
    {
        if (!s.ReadyQueued && _appOwned[s.Slot])
        {
            s.ReadyQueued = true;
            _ready[_readyCount++] = s.Slot;
        }
    }

    /// <summary>The socket a handle names. Throws <see cref="InvalidOperationException"/> for a stale or foreign handle.</summary>
    public TcpSocket Get(SocketHandle handle) =>
        TryGet(handle, out TcpSocket? socket) ? socket : throw new InvalidOperationException($"{handle} is not a live TCP socket of this stack (released, or from another stack).");

    /// <summary>The socket a handle names, or false for a stale handle.</summary>
    public bool TryGet(SocketHandle handle, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TcpSocket? socket)
    {
        if ((uint)handle.Slot < (uint)_sockets.Length)
        {
            TcpSocket s = _sockets[handle.Slot];
            if (s.InUse && s.Generation == handle.Generation)
            {
                socket = s;
                return true;
            }
        }
        socket = null;
        return false;
    }

    /// <summary>
    /// Opens a connection (RFC 9293 3.10.1 active OPEN): the SYN goes out at the next dispatch. Picks an
    /// ephemeral port when <paramref name="localPort"/> is 0. Throws <see cref="InvalidOperationException"/>
    /// when no socket or port is free, with a sentence saying which.
    /// </summary>
    public SocketHandle Connect(Instant now, Ipv4Address localAddress, Ipv4Address remoteAddress, ushort remotePort,
        TcpConfig? config = null, ushort localPort = 0)
    {
        if (remotePort == 0 || !remoteAddress.IsUnicast)
        {
            throw new ArgumentException($"Cannot connect to {remoteAddress}:{remotePort}: give a unicast address and a non-zero port.");
        }
        return ConnectCore(now, localAddress, remoteAddress, remotePort, config, localPort);
    }

    /// <summary>
    /// Opens a connection of either family (RFC 9293 3.10.1 active OPEN) from an ephemeral port; see the IPv4 overload. Both addresses
    /// must be of one family. Throws <see cref="ArgumentException"/> for a mix, a multicast or unspecified remote
    /// address or port 0, and <see cref="InvalidOperationException"/> when no socket or port is free.
    /// </summary>
    public SocketHandle Connect(Instant now, IpAddress localAddress, IpAddress remoteAddress, ushort remotePort, TcpConfig? config)
    {
        bool unicast = remoteAddress.IsIpv4 ? remoteAddress.Ipv4.IsUnicast : !remoteAddress.IsUnspecified && !remoteAddress.Ipv6.IsMulticast;
        if (remotePort == 0 || !unicast || localAddress.IsIpv4 != remoteAddress.IsIpv4)
        {
            throw new ArgumentException($"Cannot connect from {localAddress} to {remoteAddress.ToUriHost()}:{remotePort}: give a unicast address and a non-zero port, and a local address of the same family.");
        }
        return ConnectCore(now, localAddress, remoteAddress, remotePort, config, 0);
    }

    private SocketHandle ConnectCore(Instant now, IpAddress localAddress, IpAddress remoteAddress, ushort remotePort, TcpConfig? config, ushort localPort)
    {
        TcpTuple tuple = localPort != 0
            ? new TcpTuple(localAddress, localPort, remoteAddress, remotePort)
            : PickEphemeral(now, localAddress, remoteAddress, remotePort);
        if (_table.Find(tuple) is int existing && existing >= 0 && !TryReuseTimeWait(existing))
        {
            throw new InvalidOperationException(existing < _sockets.Length
                ? $"A connection {tuple} already exists."
                : $"The connection {tuple} is in TIME-WAIT for another {_timeWait[existing - _sockets.Length].Deadline - now}; "
                  + "connect from another local port (0 picks a free one), or use timestamps on both sides so the 4-tuple can be reused.");
        }
        if (!TryAllocate(out TcpSocket? socket))
        {
            throw new InvalidOperationException($"All {_sockets.Length} TCP sockets are in use; raise TcpLayerOptions.MaxConnections or release connections.");
        }
        SeqNumber iss = Isn(tuple, now);
        socket.Open(config ?? TcpConfig.Default, tuple, MssFor(tuple), iss, TimestampOffset(iss), now);
        MarkPending(socket); // the SYN
        socket.StartConnect();
        _table.TryAdd(tuple, socket.Slot);
        _appOwned[socket.Slot] = true;
        Counters.ActiveOpens++;
        return new SocketHandle(socket.Slot, socket.Generation);
    }

    /// <summary>
    /// Listens on <paramref name="localPort"/> (RFC 9293 passive OPEN). <paramref name="localAddress"/> Any
    /// listens on every address. Throws <see cref="InvalidOperationException"/> if the port already has a listener.
    /// </summary>
    public TcpListener Listen(ushort localPort, Ipv4Address localAddress = default, int? backlog = null, int? maxHalfOpen = null, TcpConfig? config = null)
    {
        if (localPort == 0)
        {
            throw new ArgumentException("A listener needs a non-zero port.");
        }
        if (_listeners.ContainsKey(localPort))
        {
            throw new InvalidOperationException($"TCP port {localPort} already has a listener.");
        }
        TcpConfig c = config ?? TcpConfig.Default;
        c.Validate();
        TcpListener listener = new(localAddress, localPort, backlog ?? _options.DefaultBacklog, maxHalfOpen ?? _options.DefaultMaxHalfOpen, c);
        _listeners.Add(localPort, listener);
        return listener;
    }

    /// <summary>
    /// Listens on <paramref name="localPort"/> at one address of either family, or (unspecified, 0.0.0.0 or ::) at
    /// every address of both, with the default backlog and configuration; see the IPv4 overload (whose Any is also
    /// dual-stack).
    /// </summary>
    public TcpListener Listen(ushort localPort, IpAddress localAddress)
    {
        if (localAddress.IsIpv4)
        {
            return Listen(localPort, localAddress.Ipv4);
        }
        TcpListener listener = Listen(localPort, Ipv4Address.Any);
        listener.LocalIp = localAddress;
        return listener;
    }

    /// <summary>Stops listening; connections not yet accepted are reset.</summary>
    public void CloseListener(TcpListener listener)
    {
        if (!listener.IsOpen)
        {
            return;
        }
        listener.IsOpen = false;
        _listeners.Remove(listener.LocalPort);
        while (listener.TryDequeue(out SocketHandle h))
        {
            if (TryGet(h, out TcpSocket? s))
            {
                s.PendingListener = null;
                s.Abort();
            }
        }
        for (int i = 0; i < _activeCount; i++)
        {
            TcpSocket s = _sockets[_active[i]];
            if (s.PendingListener == listener)
            {
                // Still half-open (queued ones were taken above): it no longer counts against the listener.
                listener.HalfOpen--;
                s.PendingListener = null;
                s.Abort();
            }
        }
    }

    /// <summary>Takes the next established connection from the listener's accept queue.</summary>
    public bool TryAccept(TcpListener listener, out SocketHandle handle)
    {
        while (listener.TryDequeue(out handle))
        {
            if (TryGet(handle, out TcpSocket? s))
            {
                s.PendingListener = null;
                _appOwned[s.Slot] = true;
                listener.Accepted++;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The application is done with the handle (close(2)). An open connection is closed gracefully, or
    /// reset if received data was left unread (RFC 2525 2.17, as Linux does); the slot returns to the
    /// pool when the connection reaches CLOSED. The handle is invalid afterwards.
    /// </summary>
    public void Release(SocketHandle handle)
    {
        if (!TryGet(handle, out TcpSocket? s) || !_appOwned[s.Slot])
        {
            return;
        }
        _appOwned[s.Slot] = false;
        if (s.State == TcpState.Closed)
        {
            Free(s);
            return;
        }
        if (s.State == TcpState.TimeWait)
        {
            Free(s); // its TIME-WAIT record stays; unread data goes back to the pool now
            return;
        }
        if (s.ReceiveQueued > 0)
        {
            s.Abort();
        }
        else
        {
            s.Close();
        }
    }

    /// <summary>
    /// Handles a segment addressed to <paramref name="destination"/> (ours). Returns true when a socket
    /// took ownership of <paramref name="payload"/>; otherwise the caller frees it.
    /// </summary>
    internal bool Process(Instant now, IpAddress source, IpAddress destination, in TcpRepr seg, PacketBuffer? payload)
    {
        TcpTuple tuple = new(destination, seg.DestinationPort, source, seg.SourcePort);
        int slot = _table.Find(tuple);
        bool synOnly = (seg.Flags & (TcpFlags.Syn | TcpFlags.Ack | TcpFlags.Rst)) == TcpFlags.Syn;
        if (slot >= _sockets.Length)
        {
            int record = slot - _sockets.Length;
            if (!(synOnly && _timeWait[record].AcceptsNewIncarnation(seg) && FindListener(destination, seg.DestinationPort) is not null))
            {
                ProcessTimeWait(now, record, seg, payload?.Length ?? 0);
                return false;
            }
            // RFC 9293 3.10.7.4 / RFC 6191: a SYN with a higher sequence (or newer timestamp) may reopen a
            // connection in TIME-WAIT. End it and let the listener take the SYN.
            Counters.TimeWaitReused++;
            EndTimeWait(record);
        }
        else if (slot >= 0)
        {
            TcpSocket s = _sockets[slot];
            int queuedBefore = s.ReceiveQueued;
            bool taken = s.Process(now, seg, payload);
            if (s.ReceiveQueued > queuedBefore && !_appOwned[slot] && s.PendingListener is null)
            {
                // Data for a connection the application has released: nobody will read it. Reset, as Linux does
                // (TCPAbortOnData), so the peer learns it was not delivered and the buffers go back now.
                s.Abort();
                Counters.AbortsOnData++;
            }
            MarkPending(s);
            MarkReady(s);
            AfterProcess(s, now);
            return taken;
        }

        TcpListener? listener = FindListener(destination, seg.DestinationPort);
        if (listener is not null && (seg.Flags & TcpFlags.Rst) == 0)
        {
            if (synOnly)
            {
                OnSyn(now, listener, tuple, seg);
                return false;
            }
            if ((seg.Flags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Ack && _options.SynCookies
                && TryCookieAccept(now, listener, tuple, seg, out TcpSocket? created))
            {
                bool taken = created.Process(now, seg, payload);
                MarkPending(created);
                AfterProcess(created, now);
                return taken;
            }
        }
        ReplyReset(now, tuple, seg, payload?.Length ?? 0);
        return false;
    }

    /// <summary>
    /// An ICMP Destination Unreachable quoting one of our segments (RFC 1122 4.2.3.9). Following RFC 5927,
    /// only a connection still in SYN-SENT is aborted, and only when the quoted sequence number is its
    /// ISS; in every other state the error is soft and ignored, so a blind attacker cannot reset connections.
    /// </summary>
    internal void OnDestinationUnreachable(in TcpTuple tuple, uint quotedSequence, Icmpv4DestinationUnreachableCode code)
    {
        int slot = _table.Find(tuple);
        if (slot < 0 || slot >= _sockets.Length)
        {
            return; // no connection, or one in TIME-WAIT: nothing to abort
        }
        bool hard = code is Icmpv4DestinationUnreachableCode.ProtocolUnreachable or Icmpv4DestinationUnreachableCode.PortUnreachable;
        _sockets[slot].OnIcmpUnreachable(quotedSequence, hard ? TcpError.Refused : TcpError.Unreachable, hard);
        MarkReady(_sockets[slot]);
        MarkPending(_sockets[slot]);
    }

    // A listener on an unspecified address (0.0.0.0 or ::) takes both families, as a Linux socket on [::] without IPV6_V6ONLY.
    private TcpListener? FindListener(IpAddress destination, ushort port) =>
        _listeners.TryGetValue(port, out TcpListener? l) && l.IsOpen && (l.LocalIp.IsUnspecified || l.LocalIp == destination) ? l : null;

    private void OnSyn(Instant now, TcpListener listener, in TcpTuple tuple, in TcpRepr syn)
    {
        listener.SynsReceived++;
        if (listener.HalfOpen < listener.MaxHalfOpen && !listener.AcceptQueueFull && TryAllocate(out TcpSocket? s))
        {
            SeqNumber iss = Isn(tuple, now);
            s.Open(listener.Config, tuple, MssFor(tuple), iss, TimestampOffset(iss), now);
            MarkPending(s); // the SYN-ACK
            s.AcceptSyn(now, syn);
            s.PendingListener = listener;
            _table.TryAdd(tuple, s.Slot);
            listener.HalfOpen++;
            Counters.PassiveOpens++;
            return;
        }
        if (!_options.SynCookies)
        {
            listener.SynsDropped++;
            return;
        }
        // RFC 4987 3.6: no state; the ISN encodes the MSS, and with timestamps the low bits of our TSval
        // carry the peer's window scale and SACK permission (as Linux does).
        int localMss = MssFor(tuple);
        ushort clientMss = (ushort)Math.Min((int)(syn.MaxSegmentSize ?? 536), localMss);
        SeqNumber cookie = tuple.IsIpv6
            ? _cookies.Encode(tuple.LocalIp.Ipv6, tuple.LocalPort, tuple.RemoteIp.Ipv6, tuple.RemotePort, new SeqNumber(syn.SequenceNumber), clientMss, now, out _)
            : _cookies.Encode(tuple.LocalAddress, tuple.LocalPort, tuple.RemoteAddress, tuple.RemotePort, new SeqNumber(syn.SequenceNumber), clientMss, now, out _);
        TcpConfig config = listener.Config;
        TcpRepr synAck = new()
        {
            SourcePort = tuple.LocalPort,
            DestinationPort = tuple.RemotePort,
            SequenceNumber = cookie.Value,
            AcknowledgmentNumber = syn.SequenceNumber + 1,
            Flags = TcpFlags.Syn | TcpFlags.Ack,
            WindowLength = (ushort)Math.Min(config.ReceiveBufferBytes, 65535),
            MaxSegmentSize = (ushort)localMss,
        };
        if (config.Timestamps && syn.Timestamp is TcpTimestamp ts)
        {
            // RFC 7323 2.3: a shift above 14 is used as 14 (the cookie encoding holds 0-14 only).
            byte? peerScale = config.WindowScaling && syn.WindowScale is byte ws ? Math.Min(ws, (byte)14) : null;
            bool sack = config.Sack && syn.SackPermitted;
            uint tsNow = unchecked((uint)(now.TotalMicros / 1000) + TimestampOffset(cookie));
            synAck = synAck with
            {
                Timestamp = new TcpTimestamp(SynCookies.EncodeTimestamp(tsNow, new SynCookieOptions(peerScale, sack, false)), ts.Value),
                WindowScale = peerScale.HasValue ? TcpSocket.ReceiveWindowShift(config) : null,
                SackPermitted = sack,
            };
        }
        if (EnqueueReply(tuple, synAck))
        {
            listener.SynCookiesSent++;
        }
    }

    private bool TryCookieAccept(Instant now, TcpListener listener, in TcpTuple tuple, in TcpRepr ack, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TcpSocket? created)
    {
        created = null;
        SeqNumber cookie = new(ack.AcknowledgmentNumber - 1);
        SeqNumber clientIsn = new(ack.SequenceNumber - 1);
        ushort mss;
        bool valid = tuple.IsIpv6
            ? _cookies.TryValidate(cookie, tuple.LocalIp.Ipv6, tuple.LocalPort, tuple.RemoteIp.Ipv6, tuple.RemotePort, clientIsn, now, out mss)
            : _cookies.TryValidate(cookie, tuple.LocalAddress, tuple.LocalPort, tuple.RemoteAddress, tuple.RemotePort, clientIsn, now, out mss);
        if (!valid)
        {
            listener.SynCookiesRejected++;
            return false;
        }
        if (listener.AcceptQueueFull || !TryAllocate(out TcpSocket? s))
        {
            listener.AcceptQueueOverflows++;
            return false;
        }
        // Without timestamps the cookie SYN-ACK offered no window scale or SACK, so neither is in use.
        SynCookieOptions options = default;
        bool withOptions = listener.Config.Timestamps && ack.Timestamp is TcpTimestamp echoed
            && SynCookies.TryDecodeTimestamp(echoed.EchoReply, out options);
        s.Open(listener.Config, tuple, MssFor(tuple), cookie, TimestampOffset(cookie), now);
        s.AcceptCookie(now, ack, mss, withOptions && options.WindowScale.HasValue, options.WindowScale ?? 0, withOptions && options.SackPermitted);
        s.PendingListener = listener;
        _table.TryAdd(tuple, s.Slot);
        listener.HalfOpen++; // AfterProcess moves it to the accept queue
        listener.SynCookiesAccepted++;
        Counters.PassiveOpens++;
        created = s;
        return true;
    }

    private void AfterProcess(TcpSocket s, Instant now)
    {
        if (s.State == TcpState.TimeWait)
        {
            if (!s.HandedOver)
            {
                EnterTimeWait(s, now);
            }
            return;
        }
        TcpListener? listener = s.PendingListener;
        if (listener is null || s.QueuedForAccept)
        {
            return;
        }
        if (s.IsConnected)
        {
            listener.HalfOpen--;
            if (listener.TryEnqueue(new SocketHandle(s.Slot, s.Generation)))
            {
                s.QueuedForAccept = true;
            }
            else
            {
                listener.AcceptQueueOverflows++;
                s.PendingListener = null;
                s.Abort();
            }
        }
        else if (s.State == TcpState.Closed)
        {
            listener.HalfOpen--;
            s.PendingListener = null;
        }
    }

    /// <summary>RFC 9293 3.10.7.1: a segment for a connection that does not exist gets a RST (never a RST for a RST).</summary>
    private void ReplyReset(Instant now, in TcpTuple tuple, in TcpRepr seg, int payloadLength)
    {
        if ((seg.Flags & TcpFlags.Rst) != 0)
        {
            Counters.SegmentsDropped++;
            return;
        }
        if (!_resetLimiter.TryAcquire(now))
        {
            Counters.ResetsRateLimited++;
            return;
        }
        TcpRepr rst;
        if ((seg.Flags & TcpFlags.Ack) != 0)
        {
            rst = new TcpRepr { SourcePort = tuple.LocalPort, DestinationPort = tuple.RemotePort, SequenceNumber = seg.AcknowledgmentNumber, Flags = TcpFlags.Rst };
        }
        else
        {
            int segLength = payloadLength + ((seg.Flags & TcpFlags.Syn) != 0 ? 1 : 0) + ((seg.Flags & TcpFlags.Fin) != 0 ? 1 : 0);
            rst = new TcpRepr
            {
                SourcePort = tuple.LocalPort,
                DestinationPort = tuple.RemotePort,
                SequenceNumber = 0,
                AcknowledgmentNumber = seg.SequenceNumber + (uint)segLength,
                Flags = TcpFlags.Rst | TcpFlags.Ack,
            };
        }
        if (EnqueueReply(tuple, rst))
        {
            Counters.ResetsForNoConnection++;
        }
    }

    private bool EnqueueReply(in TcpTuple tuple, in TcpRepr repr)
    {
        if (_replyCount == _replies.Length)
        {
            Counters.ControlRepliesDropped++;
            return false;
        }
        _replies[_replyCount++] = (tuple, repr);
        return true;
    }

    /// <summary>Emits control replies, then what every connection owes; frees connections nobody owns any more.</summary>
    internal int Dispatch<TEmitter>(Instant now, ref TEmitter emitter, int budget)
        where TEmitter : struct, ITcpEmitter
    {
        int sent = 0;
        int r = 0;
        for (; r < _replyCount && sent < budget; r++)
        {
            if (!emitter.TryEmit(_replies[r].Tuple, _replies[r].Repr, default, default))
            {
                break;
            }
            sent++;
        }
        if (r > 0)
        {
            Array.Copy(_replies, r, _replies, 0, _replyCount - r);
            _replyCount -= r;
        }
        int visit = _pendingCount;
        int kept = 0;
        for (int i = 0; i < visit; i++)
        {
            TcpSocket s = _sockets[_pending[i]];
            if (!s.InUse)
            {
                s.PendingQueued = false; // freed since it was touched
                continue;
            }
            if (sent < budget)
            {
                TcpState before = s.State;
                sent += s.Dispatch(now, ref emitter, budget - sent);
                if (s.State != before)
                {
                    MarkReady(s); // a reset went out: CLOSED
                }
            }
            if (s.State == TcpState.Closed ? s.HasPendingReset : s.HasWorkNow)
            {
                _pending[kept++] = s.Slot; // the budget or the device ran out: next poll
                continue;
            }
            s.PendingQueued = false;
            Settle(s, now);
        }
        // Sockets touched during the walk (none today; kept correct regardless) follow the ones kept.
        int added = _pendingCount - visit;
        if (added > 0)
        {
            Array.Copy(_pending, visit, _pending, kept, added);
        }
        _pendingCount = kept + added;
        return sent;
    }

    /// <summary>
    /// A socket that owes nothing now: freed if closed and nobody holds it, otherwise its next deadline armed.
    /// </summary>
    private void Settle(TcpSocket s, Instant now)
    {
        if (s.State == TcpState.TimeWait)
        {
            s.ArmedAt = Instant.Never; // handed over: its record times TIME-WAIT; an entry armed before goes stale
            return;
        }
        if (s.State == TcpState.Closed && !_appOwned[s.Slot] && (s.PendingListener is null || !s.QueuedForAccept) && !s.HasPendingReset)
        {
            if (s.PendingListener is not null)
            {
                s.PendingListener.HalfOpen--;
                s.PendingListener = null;
            }
            Free(s);
            return;
        }
        Instant at = s.PollAt(now);
        if (at == Instant.Never)
        {
            s.ArmedAt = Instant.Never; // no timer left: its entry goes stale, an idle connection never wakes the loop
        }
        else if (at < s.ArmedAt)
        {
            s.ArmedAt = at;
            _timers.Push(at, s.Slot, s.Generation, _sockets);
        }
        // A later deadline is not pushed (an RTO moves with every ACK): the earlier entry fires, the socket finds
        // nothing due and settles again, one wake-up instead of a heap operation per ACK.
    }

    /// <summary>Fires the timers that are due (only those connections are visited) and enforces the TIME-WAIT bound.</summary>
    internal void OnTimers(Instant now)
    {
        while (_timers.TryPopDue(now, out int slot, out int generation, out Instant at))
        {
            TcpSocket s = _sockets[slot];
            if (!s.InUse || s.Generation != generation || s.ArmedAt != at)
            {
                continue; // freed, or re-armed earlier since: a stale entry
            }
            s.ArmedAt = Instant.Never;
            TcpState before = s.State;
            s.OnTimers(now);
            if (s.State != before)
            {
                MarkReady(s); // gave up (retransmissions, user timeout, keep-alive): CLOSED with an error
            }
            MarkPending(s); // what the timer owes goes out at the dispatch, which also arms the next deadline
            AfterProcess(s, now);
        }
        // Oldest first. Connections whose TimeWait is shorter than an older one's wait behind it: late, never early.
        while (_timeWait.Oldest >= 0 && _timeWait[_timeWait.Oldest].Deadline <= now)
        {
            EndTimeWait(_timeWait.Oldest);
        }
    }

    /// <summary>
    /// The connection has just entered TIME-WAIT: a record takes its 4-tuple and answers for it, and the socket goes
    /// back to the pool (or, if the application still holds it, stays off the tables with only its unread data).
    /// Past MaxTimeWait the oldest record makes room; with MaxTimeWait 0 no record is kept at all.
    /// </summary>
    private void EnterTimeWait(TcpSocket s, Instant now)
    {
        if (_timeWait.Count == _timeWait.Capacity && _timeWait.Oldest >= 0)
        {
            Counters.TimeWaitRecycled++;
            EndTimeWait(_timeWait.Oldest);
        }
        TimeWaitRecord none = default;
        bool kept = _timeWait.TryTake(out int index);
        ref TimeWaitRecord r = ref kept ? ref _timeWait[index] : ref none;
        int slot = s.Slot;
        bool owned = _appOwned[slot];
        if (s.HandOverTimeWait(ref r, now))
        {
            SendTimeWaitAck(ref r, now);
        }
        RemoveFromActive(slot);
        if (kept)
        {
            r.OwnerSlot = owned ? slot : -1;
            r.OwnerGeneration = s.Generation;
            _table.Set(r.Tuple, _sockets.Length + index);
        }
        else
        {
            Counters.TimeWaitRecycled++;
            _table.Remove(r.Tuple);
            if (owned)
            {
                ForceCloseHandedOver(s);
            }
        }
        if (!owned)
        {
            Free(s);
        }
    }

    /// <summary>A TIME-WAIT record ends (expiry, the bound, a reuse of its 4-tuple): the 4-tuple is free again.</summary>
    private void EndTimeWait(int index)
    {
        ref TimeWaitRecord r = ref _timeWait[index];
        _table.Remove(r.Tuple);
        if (r.OwnerSlot >= 0)
        {
            TcpSocket owner = _sockets[r.OwnerSlot];
            if (owner.InUse && owner.Generation == r.OwnerGeneration && owner.State == TcpState.TimeWait)
            {
                ForceCloseHandedOver(owner);
            }
        }
        _timeWait.Return(index);
    }

    /// <summary>The application's socket of a connection whose TIME-WAIT ended: CLOSED, and its owner told.</summary>
    private void ForceCloseHandedOver(TcpSocket s)
    {
        s.ForceClose();
        AddToActive(s.Slot);
        MarkReady(s);
    }

    /// <summary>
    /// A segment for a connection in TIME-WAIT, answered from its record as RFC 9293 3.10.7.4 answers it in that
    /// state: PAWS (RFC 7323 5.3), an ACK for anything out of the window, a retransmitted FIN acknowledged and the
    /// 2 MSL timer restarted, a RST ignored (RFC 1337), a SYN in the window or an unacceptable ACK answered with a
    /// rate-limited challenge ACK (RFC 5961). The record never takes the payload.
    /// </summary>
    private void ProcessTimeWait(Instant now, int index, in TcpRepr seg, int dataLength)
    {
        ref TimeWaitRecord r = ref _timeWait[index];
        Counters.TimeWaitSegments++;
        TcpFlags flags = seg.Flags;
        bool rst = (flags & TcpFlags.Rst) != 0;
        bool syn = (flags & TcpFlags.Syn) != 0;
        bool fin = (flags & TcpFlags.Fin) != 0;
        SeqNumber seq = new(seg.SequenceNumber);
        int segLength = dataLength + (syn ? 1 : 0) + (fin ? 1 : 0);
        if (r.TsOk && !rst && seg.Timestamp is TcpTimestamp paws && (int)(paws.Value - r.TsRecent) < 0)
        {
            SendTimeWaitAck(ref r, now); // an old duplicate
            return;
        }
        if (!TcpSocket.IsAcceptable(seq, segLength, r.RcvNxt, r.RcvWindow))
        {
            if (syn)
            {
                return; // a SYN that may not start a new incarnation (RFC 6191)
            }
            if (!rst)
            {
                SendTimeWaitAck(ref r, now);
            }
            if (fin && seq + segLength == r.RcvNxt)
            {
                // A retransmission of the peer's FIN (left of the window, so it never reaches the eighth step): our
                // ACK was lost. Acknowledge it again and restart the 2 MSL timeout.
                RestartTimeWait(ref r, index, now);
            }
            return;
        }
        if (rst)
        {
            return; // RFC 1337: no TIME-WAIT assassination
        }
        SeqNumber ack = new(seg.AcknowledgmentNumber);
        if (syn || (flags & TcpFlags.Ack) != 0 && (ack > r.SndNxt || ack < r.SndNxt - r.MaxSndWnd))
        {
            // RFC 5961 4.2 (a SYN in the window) and 5.2 (an ACK outside [SND.UNA - MAX.SND.WND, SND.MAX]).
            if (now >= r.NextChallengeAck)
            {
                r.NextChallengeAck = now + r.ChallengeInterval;
                SendTimeWaitAck(ref r, now);
            }
            else
            {
                Counters.TimeWaitChallengeAcksSuppressed++;
            }
            return;
        }
        if ((flags & TcpFlags.Ack) == 0)
        {
            return;
        }
        if (r.TsOk && seg.Timestamp is TcpTimestamp ts && seq <= r.RcvNxt && (int)(ts.Value - r.TsRecent) >= 0)
        {
            r.TsRecent = ts.Value; // RFC 7323 4.3
        }
        if (dataLength > 0 || fin)
        {
            SendTimeWaitAck(ref r, now); // data or a FIN after the peer's FIN: a retransmission
            if (fin)
            {
                RestartTimeWait(ref r, index, now);
            }
        }
    }

    private void RestartTimeWait(ref TimeWaitRecord r, int index, Instant now)
    {
        r.Deadline = now + r.Length;
        _timeWait.MoveToBack(index);
    }

    private void SendTimeWaitAck(ref TimeWaitRecord r, Instant now)
    {
        if (EnqueueReply(r.Tuple, r.Ack(now)))
        {
            Counters.TimeWaitAcks++;
        }
    }

    /// <summary>
    /// When the layer next needs a poll: now if a socket was touched, else the earliest armed deadline (perhaps one already
    /// moved later: that poll finds nothing due and re-arms). <paramref name="pendingWaitsForEgress"/>: touched sockets were
    /// held back by TCP small queues and wait for the egress stage's next departure, which wakes the engine itself.
    /// </summary>
    internal Instant PollAt(Instant now, bool pendingWaitsForEgress = false)
    {
        if (_replyCount > 0 || (_pendingCount > 0 && !pendingWaitsForEgress))
        {
            return now;
        }
        Instant at = _timers.PeekEarliest(_sockets);
        if (_timeWait.Oldest >= 0)
        {
            at = Instant.Min(at, _timeWait[_timeWait.Oldest].Deadline);
        }
        return at;
    }

    /// <summary>A 4-tuple taken by a connection in TIME-WAIT may open a new one when both use timestamps (tcp_tw_reuse).</summary>
    private bool TryReuseTimeWait(int slot)
    {
        if (slot >= _sockets.Length && _options.ReuseTimeWait && _timeWait[slot - _sockets.Length].TsOk)
        {
            Counters.TimeWaitReused++;
            EndTimeWait(slot - _sockets.Length);
            return true;
        }
        return false;
    }

    private TcpTuple PickEphemeral(Instant now, IpAddress local, IpAddress remote, ushort remotePort)
    {
        int first = _options.EphemeralPortFirst;
        int count = _options.EphemeralPortLast - first + 1;
        for (int i = 0; i < count; i++)
        {
            int port = first + (_nextEphemeral - first + i) % count;
            TcpTuple t = new(local, (ushort)port, remote, remotePort);
            if (_listeners.ContainsKey((ushort)port) || (_options.EphemeralPortFilter is { } filter && !filter(t)))
            {
                continue;
            }
            int slot = _table.Find(t);
            if (slot < 0 || TryReuseTimeWait(slot))
            {
                _nextEphemeral = first + (port - first + 1) % count;
                return t;
            }
        }
        throw new InvalidOperationException($"No free local port toward {remote.ToUriHost()}:{remotePort} in {_options.EphemeralPortFirst}-{_options.EphemeralPortLast}; widen the ephemeral range or release connections.");
    }

    private bool TryAllocate([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TcpSocket? socket)
    {
        if (_freeCount == 0)
        {
            Counters.NoFreeSocket++;
            socket = null;
            return false;
        }
        int slot = _freeSlots[--_freeCount];
        socket = _sockets[slot];
        AddToActive(slot);
        _appOwned[slot] = false;
        return true;
    }

    private void AddToActive(int slot)
    {
        _activeIndex[slot] = _activeCount;
        _active[_activeCount++] = slot;
    }

    private void RemoveFromActive(int slot)
    {
        int index = _activeIndex[slot];
        if (index < 0)
        {
            return;
        }
        int last = _active[--_activeCount];
        _active[index] = last;
        _activeIndex[last] = index;
        _activeIndex[slot] = -1;
    }

    private void Free(TcpSocket s)
    {
        int slot = s.Slot;
        if (!s.HandedOver)
        {
            _table.Remove(s.Tuple); // else the 4-tuple is a TIME-WAIT record's, or already free
        }
        s.Release();
        _appOwned[slot] = false;
        RemoveFromActive(slot);
        _freeSlots[_freeCount++] = slot;
        Counters.ConnectionsFreed++;
    }

    private static uint TimestampOffset(SeqNumber iss) => unchecked(iss.Value * 2654435761u);
}
