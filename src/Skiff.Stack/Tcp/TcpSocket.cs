using Skiff.Stack.Tcp.Internal;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// One TCP connection (RFC 9293), sans-I/O: segments come in through <see cref="Process"/>, go out
/// through <see cref="Dispatch{TEmitter}"/>, and time only moves when the caller passes <c>now</c>.
/// Window scaling, timestamps and PAWS (RFC 7323), SACK (RFC 2018) with RFC 6675 recovery, NewReno
/// (RFC 6582) or CUBIC (RFC 9438), RFC 5961 defences, delayed ACKs, Nagle, persist and keepalive.
/// </summary>
/// <remarks>
/// <para>Sockets are pooled by their <see cref="TcpLayer"/> and reused: hold a <see cref="SocketHandle"/>,
/// not the object, across a close; <see cref="Generation"/> changes at every reuse.</para>
/// <para>Received payload stays in the <see cref="PacketBuffer"/> it arrived in until the application
/// consumes it (<see cref="TryPeek"/>/<see cref="Consume"/>, or <see cref="Receive"/> which copies).</para>
/// <para>Not thread-safe: one engine loop owns the socket; the application talks to it on that loop.</para>
/// </remarks>
public sealed partial class TcpSocket
{
    /// <summary>A window update after a read waits for the next segment while the sender has at least this many MSS of window left.</summary>
    private const int WindowUpdateSlackSegments = 4;

    // Identity and configuration.
    private TcpConfig _config = TcpConfig.Default;
    private TcpTuple _tuple;

    // Send sequence space (RFC 9293 3.3.1). _sndMax is the highest sequence sent + 1; after a timeout
    // _sndNxt goes back to _sndUna while _sndMax remembers how far we had gone.
    private SeqNumber _iss;
    private SeqNumber _sndUna;
    private SeqNumber _sndNxt;
    private SeqNumber _sndMax;
    private long _sndWnd;         // peer's window, scaled, in bytes
    private long _maxSndWnd;      // largest window the peer offered (RFC 5961 5.2 ACK range)
    private SeqNumber _sndWl1;
    private SeqNumber _sndWl2;

    // Receive sequence space.
    private SeqNumber _irs;
    private SeqNumber _rcvNxt;
    private SeqNumber _rcvEdge;    // RCV.NXT + RCV.WND as last advertised; never moves left (RFC 9293 3.8.6.2.2)

    // Negotiated options.
    private byte _sndWscale;       // shift applied to the peer's window field
    private byte _rcvWscale;       // shift we apply to our window field
    private bool _wscaleOk;
    private bool _sackOk;
    private bool _tsOk;
    private uint _tsRecent;
    private SeqNumber _lastAckSent;
    private uint _tsOffset;
    private int _peerMss;          // the peer's MSS option, clamped to the floor
    private int _localMss;         // the MSS we offer (MTU - 40)

    // FIN bookkeeping.
    private bool _closeRequested;
    private bool _finSent;
    private SeqNumber _finSeq;
    private bool _finReceived;

    // Buffers.
    private ByteRing? _sendBuffer;
    private ReceiveQueue? _rx;
    private OutOfOrderQueue? _ooo;

    // ACK state.
    private bool _ackNow;
    private int _segmentsSinceAck;
    private Instant _delayedAckAt = Instant.Never;
    private bool _windowUpdateDeferred; // a read opened the window; the update may ride on the next segment
    private int _readSinceAdvertised;   // bytes the application took since a segment last carried our window
    private bool _dsackPending;         // a duplicate arrived: the next segment reports it first (RFC 2883)
    private SackBlock _dsack;

    // Timers. _lastNow is the latest instant the caller passed in (for timestamps on emitted segments).
    private Instant _lastNow;
    private Instant _rtoAt = Instant.Never;
    private Instant _persistAt = Instant.Never;
    private Instant _keepAliveAt = Instant.Never;
    private Instant _lastProgressAt;   // last time SND.UNA advanced (user timeout)
    private int _retransmits;          // consecutive timeouts of the same data
    private int _keepAliveProbes;
    private bool _persistProbe;        // the next dispatch sends a zero-window probe
    private bool _keepAliveProbe;      // the next dispatch sends a keepalive probe
    private Duration _persistBackoff;

    // Round trip and congestion.
    private RttEstimator _rtt = null!;
    private CongestionControl _cc = null!;
    private CubicCongestionControl? _cubic;       // pooled instances behind _cc and _scoreboard
    private NewRenoCongestionControl? _newReno;
    private SackScoreboard? _sackBoard;
    private SackScoreboard? _scoreboard;
    private bool _rttTiming;
    private uint _retransmitTs;        // our TSval when we last retransmitted; older echoes give no RTT sample
    private bool _retransmitTsValid;
    private SeqNumber _rttSeq;
    private Instant _rttSentAt;
    private bool _retransmitHead;
    private int _limitedTransmitSegments; // RFC 3042: new segments allowed beyond cwnd by the first two duplicate ACKs      // the next dispatch retransmits the segment at SND.UNA (fast retransmit, partial ACK)

    // Abort, resets owed and challenge ACK limits.
    private bool _sendRst;
    private bool _pendingReset;        // a <SEQ=_pendingResetSeq><CTL=RST> is owed for an unacceptable ACK
    private SeqNumber _pendingResetSeq;
    private bool _passiveOpen;
    private TcpError _softError;       // an ICMP error seen during connect, reported if the connect times out
    private TcpRateLimiter? _challengeAcks;

    // The owning layer's counters: totals that outlive this connection (retransmissions).
    private readonly TcpLayerCounters _layerCounters;

    internal TcpSocket(int slot, TcpLayerCounters layerCounters, TcpLayer? layer = null)
    {
        Slot = slot;
        _layerCounters = layerCounters;
        _layer = layer;
    }

    // The layer, told when the application touches the socket (so its next dispatch visits it). Null in unit tests of a bare socket.
    private readonly TcpLayer? _layer;

    /// <summary>Index of this socket in its layer's pool.</summary>
    internal int Slot { get; }

    /// <summary>Changes each time the pooled socket is reused; handles carry it to catch stale use.</summary>
    public int Generation { get; private set; }

    /// <summary>The listener that created this connection and has not yet handed it out, if any.</summary>
    internal TcpListener? PendingListener { get; set; }

    /// <summary>True while the socket holds a connection (or, handed over to a TIME-WAIT record, the application still holds it).</summary>
    internal bool InUse { get; private set; }

    /// <summary>
    /// True once the connection entered TIME-WAIT and handed its 4-tuple to a TIME-WAIT record
    /// (<see cref="HandOverTimeWait"/>): the socket stays only because the application still holds it, off the
    /// layer's tables and lists.
    /// </summary>
    internal bool HandedOver { get; set; }

    /// <summary>True while the slot is on the layer's list of sockets to visit at the next dispatch; kept across a reuse of the slot, as the entry is.</summary>
    internal bool PendingQueued { get; set; }

    /// <summary>The deadline of the socket's live entry in the layer's timer heap; <see cref="Instant.Never"/> when none.</summary>
    internal Instant ArmedAt { get; set; } = Instant.Never;

    /// <summary>True while the slot is on the layer's ready list (<see cref="TcpLayer.TakeReady"/>); kept across a reuse of the slot, as the entry is.</summary>
    internal bool ReadyQueued { get; set; }

    /// <summary>True when a dispatch now would send something.</summary>
    internal bool HasWorkNow => HasImmediateWork();

    /// <summary>True once the listener queued this connection for accept.</summary>
    internal bool QueuedForAccept { get; set; }

    /// <summary>True when a RST is still owed and must go out before the slot is freed.</summary>
    internal bool HasPendingReset => _pendingReset;

    /// <summary>Set when the connection came from a SYN cookie (no SYN-RECEIVED state was kept).</summary>
    internal bool FromCookie { get; private set; }

    /// <summary>Where the connection is in RFC 9293's state machine (section 3.3.2); <see cref="TcpState.Closed"/> once it ended, with <see cref="Error"/> saying why if not by an orderly close.</summary>
    public TcpState State { get; private set; }

    /// <summary>Why the connection ended abnormally; <see cref="TcpError.None"/> otherwise.</summary>
    public TcpError Error { get; private set; }

    /// <summary>The connection's local and remote address and port.</summary>
    public TcpTuple Tuple => _tuple;

    /// <summary>The settings the connection was opened with (a listener's config for an accepted one).</summary>
    public TcpConfig Config => _config;

    /// <summary>Counters of this connection.</summary>
    public TcpConnectionCounters Counters { get; } = new();

    /// <summary>The MSS used for data segments (the peer's MSS, clamped, minus the timestamp option when on).</summary>
    public int SendMss => Math.Max(1, Math.Min(_peerMss, _localMss) - (_tsOk ? 12 : 0));

    /// <summary>The congestion window in bytes.</summary>
    public long CongestionWindowBytes => _cc?.CongestionWindowBytes ?? 0;

    /// <summary>The current retransmission timeout.</summary>
    public Duration RetransmissionTimeout => _rtt?.Rto ?? _config.InitialRto;

    /// <summary>Bytes the application may still queue with <see cref="Send"/>.</summary>
    public int SendBufferFree => _sendBuffer is null || !CanQueueData ? 0 : _sendBuffer.Free;

    /// <summary>Bytes queued and not yet acknowledged.</summary>
    public int SendBufferUsed => _sendBuffer?.Count ?? 0;

    /// <summary>Bytes received in order and not yet consumed by the application.</summary>
    public int ReceiveQueued => _rx?.Bytes ?? 0;

    /// <summary>True when <see cref="Send"/> would accept at least one byte.</summary>
    public bool CanSend => SendBufferFree > 0;

    /// <summary>True when <see cref="Receive"/> would return at least one byte.</summary>
    public bool CanReceive => ReceiveQueued > 0;

    /// <summary>True when the peer has closed its side (FIN received) and every byte before it has been consumed: a read returns end of stream.</summary>
    public bool IsReceiveFinished => _finReceived && ReceiveQueued == 0 || State == TcpState.Closed && ReceiveQueued == 0;

    /// <summary>True once the handshake has completed (in any later state).</summary>
    public bool IsConnected => State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2 or TcpState.CloseWait
        or TcpState.Closing or TcpState.LastAck or TcpState.TimeWait;

    /// <summary>True while the connection can still carry data in either direction.</summary>
    public bool IsOpen => State is not (TcpState.Closed or TcpState.TimeWait);

    private bool CanQueueData => !_closeRequested && State is TcpState.Established or TcpState.CloseWait or TcpState.SynSent or TcpState.SynReceived;

    /// <summary>
    /// Queues bytes for sending; returns how many fit (0 when the buffer is full). Throws
    /// <see cref="InvalidOperationException"/> if the connection can no longer send (closed, or
    /// <see cref="Close"/> already called).
    /// </summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        if (!CanQueueData || _sendBuffer is null)
        {
            throw new InvalidOperationException($"Cannot send on a TCP connection in state {State}{(_closeRequested ? " after Close()" : "")}.");
        }
        _layer?.MarkPending(this);
        return _sendBuffer.Write(data);
    }

    /// <summary>Copies received bytes out and consumes them; returns the count (0 when nothing is queued: check <see cref="IsReceiveFinished"/>).</summary>
    public int Receive(Span<byte> destination)
    {
        if (_rx is null)
        {
            return 0;
        }
        int n = _rx.Read(destination);
        if (n > 0)
        {
            OnApplicationRead(n);
        }
        return n;
    }

    /// <summary>Zero-copy read: the first queued bytes (one segment's payload, in its packet buffer). Valid until <see cref="Consume"/> or the next poll.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> data)
    {
        if (_rx is null)
        {
            data = default;
            return false;
        }
        return _rx.TryPeek(out data);
    }

    /// <summary>Marks <paramref name="count"/> peeked bytes as read; their buffers return to the pool.</summary>
    public void Consume(int count)
    {
        if (_rx is null)
        {
            if (count != 0)
            {
                throw new ArgumentOutOfRangeException(nameof(count));
            }
            return;
        }
        _rx.Consume(count);
        if (count > 0)
        {
            OnApplicationRead(count);
        }
    }

    /// <summary>
    /// Zero-copy hand-off: takes the first received buffer out of the receive queue, its data window exactly the
    /// unread payload, and counts those bytes as read (the window reopens). The caller owns and frees the buffer.
    /// </summary>
    public bool TryTakeReceived([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PacketBuffer? buffer)
    {
        if (_rx is null || !_rx.TryDequeue(out buffer))
        {
            buffer = null;
            return false;
        }
        OnApplicationRead(buffer.Length);
        return true;
    }

    /// <summary>Number of buffers in the in-order receive queue (for zero-copy readers that walk them).</summary>
    public int ReceiveSegments => _rx?.Segments ?? 0;

    /// <summary>The <paramref name="index"/>-th received buffer; its data window is unconsumed payload. Ownership stays with the socket.</summary>
    public PacketBuffer PeekReceiveBuffer(int index) =>
        _rx is null ? throw new ArgumentOutOfRangeException(nameof(index)) : _rx.PeekBuffer(index);

    /// <summary>
    /// Closes the sending side gracefully: queued data goes out, then a FIN (RFC 9293 3.10.4). Reading
    /// continues until the peer's FIN. A socket still connecting or listening is simply closed.
    /// </summary>
    public void Close()
    {
        _layer?.MarkPending(this);
        switch (State)
        {
            case TcpState.SynSent:
            case TcpState.Listen:
                EnterClosed(TcpError.None);
                break;
            case TcpState.SynReceived:
            case TcpState.Established:
            case TcpState.CloseWait:
                _closeRequested = true;
                break;
            default:
                break; // already closing or closed
        }
    }

    /// <summary>Aborts: a RST goes out and every buffer is dropped (RFC 9293 3.10.5).</summary>
    public void Abort()
    {
        _layer?.MarkPending(this);
        if (State is TcpState.Closed or TcpState.TimeWait or TcpState.Listen or TcpState.SynSent)
        {
            EnterClosed(TcpError.Aborted);
            return;
        }
        _sendRst = true;
        Error = TcpError.Aborted;
        _rx?.Clear();
        _ooo?.Clear();
    }

    private void OnApplicationRead(int bytes)
    {
        _layer?.MarkPending(this);
        _readSinceAdvertised += bytes;
        // A window update is due when reading opened the window by at least min(buffer/2, MSS)
        // beyond what was last advertised (receiver-side SWS avoidance, RFC 9293 3.8.6.2.2).
        int free = ReceiveFree();
        int advertised = Math.Max(0, _rcvEdge - _rcvNxt);
        if (free - advertised < Math.Min(_config.ReceiveBufferBytes / 2, _localMss))
        {
            return;
        }
        if (_config.DelayedAck && _segmentsSinceAck == 0 && _readSinceAdvertised < _localMss / 2
            && advertised >= WindowUpdateSlackSegments * _localMss)
        {
            // A small request read (less than half a segment since our last segment, none full-sized unacknowledged)
            // while the sender still has room: RFC 1122 4.2.3.2 lets the update be delayed like an ACK, so it rides on
            // the reply instead of costing a segment of its own. The first read after the handshake always opens the
            // 64 KiB SYN-ACK window this far; Linux sends no ACK there either. A bulk reader keeps its prompt updates,
            // which a sender that sees the window only through them needs. Dispatch turns this into a delayed-ACK
            // deadline, since a read has no clock.
            _windowUpdateDeferred = true;
            return;
        }
        _ackNow = true;
    }

    /// <summary>
    /// Receive room: free buffer bytes, but never more than the in-order queue is sure to take however the peer
    /// cuts the bytes into segments (its segment cap). A window offered beyond that would make us drop in-window,
    /// perhaps SACKed, data: reneging.
    /// </summary>
    private int ReceiveFree()
    {
        long free = _config.ReceiveBufferBytes - (_rx?.Bytes ?? 0) - (_ooo?.Bytes ?? 0);
        return (int)Math.Max(0, Math.Min(free, SegmentRoom()));
    }

    /// <summary>Bytes beyond RCV.NXT the in-order queue is sure to take, however they are cut into segments.</summary>
    private long SegmentRoom() => _rx?.GuaranteedBytes(MinFrameBytes) ?? long.MaxValue;

    /// <summary>The smallest frame a received segment can sit in: a pool's frames are powers of two that hold a full-sized frame.</summary>
    private int MinFrameBytes => (int)Math.Max(512u, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(_localMss + 54)));

    /// <summary>Prepares a pooled socket for a new connection.</summary>
    internal void Open(TcpConfig config, TcpTuple tuple, int localMss, SeqNumber iss, uint tsOffset, Instant now)
    {
        config.Validate();
        _config = config;
        _tuple = tuple;
        Generation++;
        InUse = true;
        FromCookie = false;
        Error = TcpError.None;
        if (_sendBuffer is null || _sendBuffer.Capacity != config.SendBufferBytes)
        {
            _sendBuffer = new ByteRing(config.SendBufferBytes);
        }
        _sendBuffer.Clear();
        // A pooled socket may last have served another config: its queues must take this one's bounds
        // (TESTING.md, bounds a hostile peer must not break), not keep the first connection's.
        if (_rx is null || _rx.MaxSegments != config.MaxReceiveSegments)
        {
            _rx = new ReceiveQueue(config.MaxReceiveSegments);
        }
        if (_ooo is null || _ooo.MaxSegments != Math.Max(1, config.MaxOutOfOrderSegments) || _ooo.MaxBytes != config.ReceiveBufferBytes)
        {
            _ooo = new OutOfOrderQueue(config.MaxOutOfOrderSegments, config.ReceiveBufferBytes);
        }
        _iss = iss;
        _sndUna = iss;
        _sndNxt = iss;
        _sndMax = iss;
        _sndWnd = 0;
        _maxSndWnd = 0;
        _sndWl1 = default;
        _sndWl2 = default;
        _irs = default;
        _rcvNxt = default;
        _rcvEdge = default;
        _sndWscale = 0;
        _rcvWscale = config.WindowScaling ? ReceiveWindowShift(config) : (byte)0;
        _wscaleOk = false;
        _sackOk = false;
        _tsOk = false;
        _tsRecent = 0;
        _lastAckSent = default;
        _tsOffset = tsOffset;
        _localMss = localMss;
        _peerMss = Math.Max(config.MinMssBytes, 536);
        _closeRequested = false;
        _finSent = false;
        _finSeq = default;
        _finReceived = false;
        _ackNow = false;
        _segmentsSinceAck = 0;
        _delayedAckAt = Instant.Never;
        _windowUpdateDeferred = false;
        _readSinceAdvertised = 0;
        _dsackPending = false;
        _rtoAt = Instant.Never;
        _persistAt = Instant.Never;
        _keepAliveAt = Instant.Never;
        _lastProgressAt = now;
        _retransmits = 0;
        _keepAliveProbes = 0;
        _persistProbe = false;
        _keepAliveProbe = false;
        _persistBackoff = Duration.Zero;
        // The algorithm objects are pooled with the socket: a short connection allocates nothing.
        if (_rtt is null || !_rtt.HasBounds(config.MinRto, config.MaxRto, config.InitialRto))
        {
            _rtt = new RttEstimator(RttEstimator.DefaultClockGranularity, config.MinRto, config.MaxRto, config.InitialRto);
        }
        else
        {
            _rtt.Restart();
        }
        _scoreboard = null;
        ResetRecoveryState();
        _rttTiming = false;
        _retransmitTsValid = false;
        _retransmitHead = false;
        _limitedTransmitSegments = 0;
        _sendRst = false;
        _pendingReset = false;
        _pendingResetSeq = default;
        _passiveOpen = false;
        _softError = TcpError.None;
        if (_challengeAcks is null || _challengeAcks.CountPerWindow != config.ChallengeAcksPerSecond)
        {
            _challengeAcks = new TcpRateLimiter(config.ChallengeAcksPerSecond, Duration.FromSeconds(1));
        }
        else
        {
            _challengeAcks.Restart();
        }
        Counters.Reset();
    }

    /// <summary>The window scale we offer: the smallest shift that lets the receive buffer be advertised (RFC 7323 2.3).</summary>
    internal static byte ReceiveWindowShift(TcpConfig config)
    {
        byte shift = 0;
        while (shift < 14 && (config.ReceiveBufferBytes >> shift) > 65535)
        {
            shift++;
        }
        return shift;
    }

    /// <summary>Starts an active open: the SYN goes out at the next dispatch (RFC 9293 3.10.1).</summary>
    internal void StartConnect()
    {
        State = TcpState.SynSent;
        _sndNxt = _iss;
    }

    /// <summary>
    /// The connection has just entered TIME-WAIT: hands what TIME-WAIT still needs to <paramref name="record"/>
    /// (whose list links are left alone), which answers the connection's segments from now on, as Linux's
    /// tcp_time_wait hands a socket to an inet_timewait_sock. The socket sends nothing more; it keeps only what the
    /// application has not read. Returns true when an ACK is owed (usually the one for the peer's FIN): the caller
    /// sends it from the record.
    /// </summary>
    internal bool HandOverTimeWait(ref TimeWaitRecord record, Instant now)
    {
        record.Tuple = _tuple;
        record.WindowField = AdvertiseWindow();
        record.RcvNxt = _rcvNxt;
        record.RcvWindow = Math.Max(0, _rcvEdge - _rcvNxt);
        record.SndNxt = AcceptableSeq;
        record.MaxSndWnd = (int)Math.Min(_maxSndWnd, int.MaxValue);
        record.TsOk = _tsOk;
        record.TsRecent = _tsRecent;
        record.TsOffset = _tsOffset;
        record.Length = _config.TimeWait;
        record.Deadline = now + _config.TimeWait;
        record.ChallengeInterval = Duration.FromSeconds(1) / _config.ChallengeAcksPerSecond;
        record.NextChallengeAck = default;
        bool ackOwed = _ackNow || _delayedAckAt != Instant.Never || _windowUpdateDeferred;
        _ackNow = false;
        _delayedAckAt = Instant.Never;
        _windowUpdateDeferred = false;
        _lastAckSent = _rcvNxt;
        HandedOver = true;
        return ackOwed;
    }

    /// <summary>Ends the connection at once without a RST (TIME-WAIT recycling).</summary>
    internal void ForceClose() => EnterClosed(TcpError.None);

    /// <summary>Drops everything and marks the socket closed; the layer frees the slot at its next poll.</summary>
    private void EnterClosed(TcpError error)
    {
        if (error != TcpError.None && Error == TcpError.None)
        {
            Error = error;
        }
        State = TcpState.Closed;
        _ooo?.Clear();
        _sendBuffer?.Clear();
        _rtoAt = Instant.Never;
        _persistAt = Instant.Never;
        _keepAliveAt = Instant.Never;
        _delayedAckAt = Instant.Never;
        _rackAt = Instant.Never;
        _tlpAt = Instant.Never;
        _tlpProbe = false;
        _windowUpdateDeferred = false;
        _sendRst = false;
        // The in-order receive queue is kept so the application can read what arrived before a FIN or
        // RST; Release() frees it when the slot is reused.
    }

    /// <summary>Returns every buffer to its pool and makes the slot reusable. Called by the layer.</summary>
    internal void Release()
    {
        EnterClosed(TcpError.None);
        _rx?.Clear();
        InUse = false;
        PendingListener = null;
        QueuedForAccept = false;
        HandedOver = false;
        ArmedAt = Instant.Never;
        Generation++;
    }

    /// <summary>The 4-tuple and state, e.g. <c>TCP 10.0.0.1:80 &lt;-&gt; 10.0.0.2:50000 Established</c>, for logs.</summary>
    public override string ToString() => $"TCP {_tuple} {State}";

}
