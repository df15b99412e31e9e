using System.Buffers;
using System.IO.Pipelines;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Engine.Internal;

/// <summary>
/// The loop's side of one <see cref="SkiffConnection"/>: owns the socket handle and moves bytes between
/// the socket and the application's pipes. Input, zero-copy: the loop takes whole packet buffers off the
/// socket's receive queue and hands them to a <see cref="ReceivePipeReader"/>, whose reads are sequences over
/// those buffers, while its pause threshold allows (the reader's progress reschedules it). Output: the loop
/// reads the output pipe and queues bytes with <see cref="TcpSocket.Send"/> as the send buffer frees,
/// leaving the rest in the pipe.
/// </summary>
/// <remarks>
/// Every field below is touched by the loop only, except the request flags (Interlocked) and the pipes
/// (thread-safe).
/// </remarks>
internal sealed class ConnectionCore : EngineParticipant
{
    private enum Phase : byte
    {
        ConnectRequested,
        Connecting,
        Open,
        Released,
    }

    private readonly SkiffEngine _engine;
    private readonly int _maxReceivePerIteration;
    private readonly ReceivePipeReader _input; // loop pushes packet buffers, application reads them in place
    private readonly PacketBuffer[] _rxBurst = new PacketBuffer[32];
    private readonly Pipe _output; // application writes, loop reads
    private readonly Action _schedule;
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Phase _phase;
    private SocketHandle _handle;
    private TcpSocket? _socket;
    private string _remoteText = "";

    // Connect (active open).
    private TaskCompletionSource<SkiffConnection>? _connect;
    private CancellationToken _connectToken;
    private CancellationTokenRegistration _connectRegistration;
    private IpAddress _connectAddress;
    private ushort _connectPort;
    private TcpConfig? _connectConfig;

    // Requests from application threads.
    private int _disposeRequested;
    private int _abortRequested;
    private int _shutdownRequested;
    private Exception? _shutdownReason;
    private bool _shutDown;

    // Loop state of the pipes.
    private bool _inputDone;
    private bool _outputDone;
    private bool _outputWaiting;
    private ValueTask<ReadResult> _pendingRead;
    private bool _aborted;

    /// <summary>A connection living on <paramref name="engine"/>'s core (the one its flow hashes to).</summary>
    public ConnectionCore(SkiffStack stack, SkiffEngine engine)
    {
        _engine = engine;
        LingerTimeout = stack.Options.LingerTimeout;
        _maxReceivePerIteration = _engine.Options.MaxReceiveBytesPerIteration;
        SkiffStackOptions o = stack.Options;
        _schedule = () => _engine.Schedule(this);
        // Input: read continuations go to the thread pool (never inline on the loop); the reader's progress only
        // reschedules this item, so that callback may run inline on the reader's thread.
        _input = new ReceivePipeReader(o.InputPauseThresholdBytes, _schedule);
        _output = new Pipe(new PipeOptions(
            readerScheduler: PipeScheduler.Inline,
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: o.OutputPauseThresholdBytes,
            resumeWriterThreshold: o.OutputPauseThresholdBytes / 2,
            useSynchronizationContext: false));
        Transport = new DuplexPipe(_input, _output.Writer);
        Connection = new SkiffConnection(this);
    }

    public SkiffConnection Connection { get; }

    /// <summary>The core (queue index) whose loop owns the connection.</summary>
    public int Core => _engine.Options.Queue;

    public IDuplexPipe Transport { get; }

    public Task Disposed => _disposed.Task;

    /// <summary><see cref="SkiffStackOptions.LingerTimeout"/>: how long a graceful disposal may wait for the drain.</summary>
    public TimeSpan? LingerTimeout { get; }

    public TcpTuple Tuple { get; private set; }

    /// <summary>True when the connection's socket runs without Nagle (TCP_NODELAY); set when it is adopted or connected.</summary>
    public bool NoDelay { get; private set; }

    /// <summary>The socket the loop watches for this connection (default before the connect starts). Loop side.</summary>
    internal SocketHandle Handle => _handle;

    /// <summary>True while on the engine's revisit list. Loop side.</summary>
    internal bool RevisitQueued;

    /// <summary>Connections are visited on news only: their socket is ready, a thread scheduled them, or their last visit did work.</summary>
    internal override bool VisitedEveryPoll => false;

    /// <summary>Application side: asks the loop to open a connection; the task completes when it is established.</summary>
    public Task<SkiffConnection> StartConnect(IpAddress address, ushort port, TcpConfig? config, CancellationToken cancellationToken)
    {
        _phase = Phase.ConnectRequested;
        TaskCompletionSource<SkiffConnection> connect = new(TaskCreationOptions.RunContinuationsAsynchronously);
        _connect = connect;
        _connectAddress = address;
        _connectPort = port;
        _connectConfig = config;
        _connectToken = cancellationToken;
        _remoteText = $"{address.ToUriHost()}:{port}";
        if (cancellationToken.CanBeCanceled)
        {
            _connectRegistration = cancellationToken.UnsafeRegister(static s => ((ConnectionCore)s!)._schedule(), this);
        }
        _engine.Schedule(this);
        // Not _connect: once scheduled, the loop may finish the connect (and clear _connect) before this line runs.
        return connect.Task;
    }

    /// <summary>Loop side: adopts a connection taken from a listener's accept queue.</summary>
    public void Adopt(SocketHandle handle, TcpSocket socket)
    {
        _handle = handle;
        _socket = socket;
        Tuple = socket.Tuple;
        NoDelay = !socket.Config.Nagle;
        _remoteText = $"{socket.Tuple.RemoteIp.ToUriHost()}:{socket.Tuple.RemotePort}";
        _phase = Phase.Open;
        _engine.RegisterConnection(this, handle);
        _engine.Revisit(this); // data, or even the FIN, may have arrived while it waited in the accept queue
    }

    /// <summary>Application side: graceful close once the output pipe is drained (the caller has completed the app ends).</summary>
    public void RequestDispose()
    {
        Volatile.Write(ref _disposeRequested, 1);
        _engine.Schedule(this);
    }

    /// <summary>Application side: shuts both directions at once (see <see cref="SkiffConnection.Shutdown"/>).</summary>
    public void RequestShutdown(Exception? reason)
    {
        _shutdownReason = reason;
        Volatile.Write(ref _shutdownRequested, 1); // publishes the reason
        _engine.Schedule(this);
    }

    /// <summary>Application side: abortive close (RST).</summary>
    public void RequestAbort()
    {
        Volatile.Write(ref _abortRequested, 1);
        _engine.Schedule(this);
    }

    internal override void Execute()
    {
        if (_engine.IsStopped)
        {
            FailAfterStop();
            return;
        }
        Visit();
    }

    internal override bool AfterPoll() => Step();

    /// <summary>Loop side: one step, and another next iteration if this one did work (until the connection is quiet).</summary>
    internal void Visit()
    {
        if (Step())
        {
            _engine.Revisit(this);
        }
    }

    private bool Step()
    {
        switch (_phase)
        {
            case Phase.ConnectRequested:
                StartConnectOnLoop();
                return true;
            case Phase.Connecting:
                return StepConnecting();
            case Phase.Open:
                return StepOpen();
            default:
                return false;
        }
    }

    private void StartConnectOnLoop()
    {
        if (_connectToken.IsCancellationRequested)
        {
            _phase = Phase.Released;
            FinishConnect(null, new OperationCanceledException("The connect was cancelled.", _connectToken));
            return;
        }
        Interface iface = _engine.Interface;
        try
        {
            IpAddress source = _connectAddress.IsIpv4 ? iface.SourceFor(_connectAddress.Ipv4) : iface.SourceFor(_connectAddress.Ipv6);
            if (source.IsUnspecified)
            {
                throw new InvalidOperationException($"No usable IPv6 address to connect to {_remoteText} from; give the stack one (SkiffStackOptions.Ipv6) and let duplicate address detection finish.");
            }
            _handle = iface.Tcp.Connect(_engine.Now, source, _connectAddress, _connectPort, _connectConfig);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            _phase = Phase.Released;
            FinishConnect(null, e);
            return;
        }
        if (_connectAddress.IsIpv4)
        {
            _engine.NotePeer(_connectAddress.Ipv4);
        }
        _socket = iface.Tcp.Get(_handle);
        Tuple = _socket.Tuple;
        NoDelay = !_socket.Config.Nagle;
        _phase = Phase.Connecting;
        _engine.RegisterConnection(this, _handle);
    }

    private bool StepConnecting()
    {
        TcpSocket socket = _socket!;
        if (_connectToken.IsCancellationRequested)
        {
            socket.Abort();
            Release();
            FinishConnect(null, new OperationCanceledException("The connect was cancelled.", _connectToken));
            return true;
        }
        if (socket.IsConnected)
        {
            _phase = Phase.Open;
            FinishConnect(Connection, null);
            return true;
        }
        if (socket.State == TcpState.Closed)
        {
            TcpError error = socket.Error == TcpError.None ? TcpError.Refused : socket.Error;
            Release();
            FinishConnect(null, SkiffSocketException.For(error, _remoteText));
            return true;
        }
        return false;
    }

    private void FinishConnect(SkiffConnection? connection, Exception? error)
    {
        _connectRegistration.Unregister();
        _connectRegistration = default;
        TaskCompletionSource<SkiffConnection>? tcs = _connect;
        _connect = null;
        if (error is not null)
        {
            CompleteApplicationEnds(error);
            tcs?.TrySetException(error);
        }
        else
        {
            tcs?.TrySetResult(connection!);
        }
    }

    private bool StepOpen()
    {
        TcpSocket socket = _socket!;
        if (Volatile.Read(ref _abortRequested) == 1 && !_aborted)
        {
            _aborted = true;
            socket.Abort();
            CompleteLoopEnds(SkiffSocketException.For(TcpError.Aborted, _remoteText));
        }
        if (_aborted)
        {
            // Release once the RST has gone out (the stack enters CLOSED at the dispatch that sends it).
            if (socket.State is TcpState.Closed or TcpState.TimeWait)
            {
                Release();
                return true;
            }
            return true; // visit again until the dispatch has sent the RST
        }
        bool work = PumpInput(socket);
        work |= PumpOutput(socket);
        if (!_shutDown && Volatile.Read(ref _shutdownRequested) == 1)
        {
            ShutdownBoth(socket); // after the pump: what was flushed before goes out as far as the send buffer takes it
            work = true;
        }
        CheckClosed(socket);
        if (Volatile.Read(ref _disposeRequested) == 1 && _outputDone)
        {
            DiscardReceived(socket);
            CompleteLoopEnds(null);
            Release();
            return true;
        }
        return work;
    }

    /// <summary>
    /// Socket.Shutdown(Both), as Kestrel's socket transport aborts: what the output pipe holds beyond what the send buffer
    /// took is dropped, what the socket holds goes out before a FIN, and reads end (with the reason, if any; received
    /// data is discarded from now).
    /// </summary>
    private void ShutdownBoth(TcpSocket socket)
    {
        _shutDown = true;
        if (!_outputDone)
        {
            _outputDone = true;
            _output.Reader.Complete();
            if (socket.State is TcpState.Established or TcpState.CloseWait)
            {
                socket.Close();
            }
        }
        if (!_inputDone)
        {
            _inputDone = true;
            if (_shutdownReason is null)
            {
                _input.CompleteWriter(null);
            }
            else
            {
                _input.Reclaim(_shutdownReason);
            }
        }
        Connection.SignalClosed();
    }

    private bool PumpInput(TcpSocket socket)
    {
        if (_inputDone || Volatile.Read(ref _disposeRequested) == 1)
        {
            // Nobody reads any more: drop what arrives, so the window stays open and the close stays graceful.
            return DiscardReceived(socket);
        }
        if (_input.IsReaderCompleted)
        {
            _inputDone = true;
            return DiscardReceived(socket);
        }
        if (_input.IsWriterPaused)
        {
            // Past the pause threshold: data stays in the socket (the TCP window closes) until the reader catches up.
            return false;
        }
        int moved = 0;
        bool pause = false;
        while (!pause && moved < _maxReceivePerIteration)
        {
            // A burst of buffers off the socket, handed to the reader under one lock.
            int count = 0;
            while (count < _rxBurst.Length && moved < _maxReceivePerIteration && socket.TryTakeReceived(out PacketBuffer? buffer))
            {
                _rxBurst[count++] = buffer;
                moved += buffer.Length;
            }
            if (count == 0)
            {
                break;
            }
            Span<PacketBuffer> burst = _rxBurst.AsSpan(0, count);
            // Low on frames: copy the payloads out and give the frames back, so unread data cannot starve the device.
            PacketPool pool = burst[0].Pool;
            bool copy = pool.Available < pool.FrameCount / 4;
            int taken = _input.PushBurst(burst, copy, out pause);
            if (copy || taken == 0)
            {
                foreach (PacketBuffer buffer in burst)
                {
                    buffer.Free();
                }
            }
            burst.Clear();
            if (taken == 0)
            {
                _inputDone = true; // the reader completed meanwhile
                DiscardReceived(socket);
                return true;
            }
        }
        if (!_inputDone && socket.IsReceiveFinished)
        {
            _inputDone = true;
            _input.CompleteWriter(socket.Error == TcpError.None ? null : SkiffSocketException.For(socket.Error, _remoteText));
            Connection.SignalClosed();
        }
        return moved > 0;
    }

    private static bool DiscardReceived(TcpSocket socket)
    {
        int queued = socket.ReceiveQueued;
        if (queued > 0)
        {
            socket.Consume(queued);
            return true;
        }
        return false;
    }

    private bool PumpOutput(TcpSocket socket)
    {
        bool work = false;
        PipeReader reader = _output.Reader;
        while (!_outputDone)
        {
            if (socket.State is not (TcpState.Established or TcpState.CloseWait))
            {
                return work; // not yet connected, or closing: CheckClosed settles the pipe
            }
            ReadResult result;
            if (_outputWaiting)
            {
                if (!_pendingRead.IsCompleted)
                {
                    return work;
                }
                _outputWaiting = false;
                result = _pendingRead.GetAwaiter().GetResult();
                _pendingRead = default;
            }
            else
            {
                if (socket.SendBufferFree == 0)
                {
                    return work; // the send buffer frees as ACKs arrive; AfterPoll comes back every iteration
                }
                ValueTask<ReadResult> read = reader.ReadAsync();
                if (!read.IsCompleted)
                {
                    _outputWaiting = true;
                    _pendingRead = read;
                    read.GetAwaiter().UnsafeOnCompleted(_schedule);
                    return work;
                }
                result = read.GetAwaiter().GetResult();
            }
            ReadOnlySequence<byte> buffer = result.Buffer;
            long sent = 0;
            bool full = false;
            foreach (ReadOnlyMemory<byte> segment in buffer)
            {
                int n = socket.Send(segment.Span);
                sent += n;
                if (n < segment.Length)
                {
                    full = true;
                    break;
                }
            }
            work |= sent > 0;
            if (full)
            {
                // Examined = consumed, so the next read returns the rest at once.
                reader.AdvanceTo(buffer.GetPosition(sent));
                return work;
            }
            reader.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                // The application completed its output: FIN after the queued data (RFC 9293 3.10.4).
                _outputDone = true;
                reader.Complete();
                socket.Close();
                return true;
            }
        }
        return work;
    }

    private void CheckClosed(TcpSocket socket)
    {
        if (socket.State is not (TcpState.Closed or TcpState.TimeWait))
        {
            return;
        }
        if (socket.Error != TcpError.None)
        {
            CompleteLoopEnds(SkiffSocketException.For(socket.Error, _remoteText));
        }
        else if (!_outputDone)
        {
            _outputDone = true;
            _output.Reader.Complete(new SkiffSocketException(TcpError.None, $"The connection to {_remoteText} is closed; no more data can be sent."));
        }
    }

    /// <summary>Completes the loop's ends of both pipes (the application sees end of stream, or <paramref name="error"/>).</summary>
    private void CompleteLoopEnds(Exception? error)
    {
        if (!_inputDone)
        {
            _inputDone = true;
            if (error is null)
            {
                _input.CompleteWriter(null);
            }
            else
            {
                _input.Reclaim(error); // nobody reads the data after an error: frames go back now, or at the reader's AdvanceTo
            }
        }
        Connection.SignalClosed();
        if (!_outputDone)
        {
            _outputDone = true;
            _output.Reader.Complete(error);
        }
    }

    /// <summary>For a connection never handed out: completes every end so the pipes hold no buffers.</summary>
    private void CompleteApplicationEnds(Exception error)
    {
        CompleteLoopEnds(error);
        _input.Complete();
        _output.Writer.Complete();
    }

    private void Release()
    {
        if (_phase == Phase.Released)
        {
            return;
        }
        _phase = Phase.Released;
        _engine.Interface.Tcp.Release(_handle);
        _socket = null;
        _engine.UnregisterConnection(this, _handle);
        Connection.SignalClosed();
        _disposed.TrySetResult();
    }

    internal override void OnEngineStopping()
    {
        ObjectDisposedException stopped = _engine.StoppedException();
        switch (_phase)
        {
            case Phase.ConnectRequested:
                _phase = Phase.Released;
                FinishConnect(null, stopped);
                break;
            case Phase.Connecting:
                _socket!.Abort();
                Release();
                FinishConnect(null, stopped);
                break;
            case Phase.Open:
                if (_socket!.IsOpen)
                {
                    _socket.Abort();
                }
                else
                {
                    DiscardReceived(_socket);
                }
                CompleteLoopEnds(stopped);
                _input.Reclaim(stopped); // also data after a clean end of stream: a stopped engine returns every frame
                Release();
                break;
            default:
                break;
        }
        Connection.SignalClosed();
        _disposed.TrySetResult();
    }

    private void FailAfterStop()
    {
        if (_phase == Phase.ConnectRequested)
        {
            _phase = Phase.Released;
            FinishConnect(null, _engine.StoppedException());
        }
        Connection.SignalClosed();
        _disposed.TrySetResult();
    }
}
