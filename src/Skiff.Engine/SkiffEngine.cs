using System.Diagnostics;
using Skiff.Engine.Internal;
using Skiff.Engine.Pipeline;
using Skiff.Hooks;
using Skiff.Engine.Metrics;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine;

/// <summary>
/// One poll loop on its own thread over one <see cref="Skiff.Stack.Interface"/> and its <see cref="IDevice"/>.
/// Each iteration runs to completion: it runs the requests application threads queued, polls the
/// interface, then lets every connection, listener and UDP socket move data and complete operations.
/// Under load it busy-polls; when idle it backs off as <see cref="SkiffEngineOptions.Idle"/> says.
/// </summary>
/// <remarks>
/// <para>Thread-safety: the interface and device belong to the loop thread alone. Every public member of
/// this type is safe from any thread; application requests reach the loop through a lock-free
/// multi-producer queue and are completed by the loop.</para>
/// <para>Ownership: the engine does not own the interface, device or pool, but <see cref="Stop"/> returns
/// every packet buffer the stack and the device's receive side hold to their pools.</para>
/// </remarks>
public sealed partial class SkiffEngine : IDisposable
{
    private static readonly double s_microsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly IEngineDeviceSignals? _signals;
    private readonly IWaitableDevice? _waitable;
    private readonly IWaitableDevice[] _moreWaitables; // the other ports' (a forwarder's): the idle loop wakes for any of them
    private readonly int[] _moreWaitFds;
    private int _eventFd = -1;      // the idle loop sleeps in ppoll(2) on the devices and this; -1 off Linux
    private int _signalers;         // threads inside WakeParked's write, so the eventfd is not closed under them
    private readonly MpscWorkQueue _queue = new();
    private readonly ManualResetEventSlim _wake = new(false, 0);
    private readonly List<EngineParticipant> _participants = [];  // visited after every poll (listeners, UDP sockets)
    private readonly List<EngineParticipant> _connections = [];   // visited on news only (VisitedEveryPoll false)
    private ConnectionCore?[]? _connectionBySlot;                 // by TCP socket slot, for the stack's ready list
    private readonly SocketHandle[] _readyBatch = new SocketHandle[64];
    private List<ConnectionCore> _revisit = [];                  // visit again next iteration: the last visit did work
    private List<ConnectionCore> _revisiting = [];
    private readonly HashSet<Ipv4Address> _peers = [];
    private readonly Lock _drainLock = new();
    private readonly Lock _lifecycleLock = new();
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly IClock? _clock;
    private Thread? _thread;
    private volatile bool _stopRequested;
    private volatile bool _stopped;
    private int _parked;
    private Exception? _failure;
    private long _iterations;
    private long _parks;
    private long _idleSince; // Stopwatch timestamp of the first idle iteration since the last work (SkiffIdlePolicy.YieldMicros)

    /// <summary>Creates a stopped engine over <paramref name="iface"/> and <paramref name="device"/>; call <see cref="Start"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public SkiffEngine(Interface iface, IDevice device, SkiffEngineOptions? options = null)
        : this(iface, [device ?? throw new ArgumentNullException(nameof(device))], options)
    {
    }

    /// <summary>
    /// Creates a stopped engine whose loop serves one queue of each of <paramref name="ports"/> (an l2fwd lcore's ports):
    /// frames received on any port go through the RX hooks to <paramref name="consumer"/>, by default the stack
    /// <paramref name="iface"/>, which sends out of port 0. With another consumer (a forwarder, a receive-and-drop sink)
    /// the stack only counts drops and answers control calls. Call <see cref="Start"/>, or drive it with <see cref="RunOnce"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or no port was given.</exception>
    public SkiffEngine(Interface iface, IReadOnlyList<IDevice> ports, SkiffEngineOptions? options = null, IPacketConsumer? consumer = null)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentNullException.ThrowIfNull(ports);
        if (ports.Count is 0 or > ushort.MaxValue)
        {
            throw new ArgumentException($"An engine loop serves 1 to {ushort.MaxValue} ports; {ports.Count} were given.", nameof(ports));
        }
        Options = options ?? new SkiffEngineOptions();
        Options.Validate();
        Interface = iface;
        _clock = Options.Clock;
        _consumer = consumer ?? iface;
        _stackConsumes = ReferenceEquals(_consumer, iface);
        _rxBurst = new PacketBuffer[iface.Options.RxBurst];
        _rxResults = new HookResult[iface.Options.RxBurst];
        _rxBurstsPerPoll = iface.Options.MaxRxBurstsPerPoll;
        _ports = new EnginePort[ports.Count];
        _captures = new Capture.EngineCaptures(this);
        for (int i = 0; i < ports.Count; i++)
        {
            IDevice device = ports[i] ?? throw new ArgumentNullException(nameof(ports), $"Port {i} is null.");
            _ports[i] = new EnginePort(i, device, iface.Options.TxQueueFrames, TxHooks, iface, _captures);
        }
        foreach (EnginePort port in _ports)
        {
            port.SetPorts(_ports);
        }
        _signals = ports[0] as IEngineDeviceSignals;
        _waitable = ports[0] as IWaitableDevice;
        _moreWaitables = [.. ports.Skip(1).OfType<IWaitableDevice>()];
        _moreWaitFds = new int[_moreWaitables.Length];
        Metrics = new SkiffMetricsPublisher(iface, Options.Queue, wake: Wake);
        Metrics.SetSteeringSource(_signals);
        Metrics.SetPipeline(this);
    }

    /// <summary>The engine's settings.</summary>
    public SkiffEngineOptions Options { get; }

    /// <summary>The loop's counters for other threads; registered with the <c>Skiff</c> meter (<see cref="SkiffMetrics"/>) while the loop runs.</summary>
    public SkiffMetricsPublisher Metrics { get; }

    /// <summary>The interface the loop polls. Touch it only on the loop thread, through <see cref="InvokeAsync{T}"/>.</summary>
    public Interface Interface { get; }

    /// <summary>True from <see cref="Start"/> until the loop has stopped.</summary>
    public bool IsRunning => _thread is not null && !_stopped;

    /// <summary>True once the loop has stopped and released the stack's buffers.</summary>
    public bool IsStopped => _stopped;

    /// <summary>The CPU the loop thread was pinned to, or null (not asked, not Linux, or the call failed: see <see cref="PinningError"/>).</summary>
    public int? PinnedCpu { get; private set; }

    /// <summary>The errno of a failed pinning request, or 0.</summary>
    public int PinningError { get; private set; }

    /// <summary>The exception that stopped the loop, if it failed; the engine then stops as by <see cref="Stop"/>.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Loop iterations so far.</summary>
    public long Iterations => Interlocked.Read(ref _iterations);

    /// <summary>Times the idle loop parked (slept) so far.</summary>
    public long Parks => Interlocked.Read(ref _parks);

    /// <summary>The loop's time: <see cref="SkiffEngineOptions.Clock"/>, or monotonic microseconds since the engine was created.</summary>
    public Instant Now => _clock?.Now ?? new((long)((Stopwatch.GetTimestamp() - _startTimestamp) * s_microsPerTick));

    internal bool IsLoopThread => Thread.CurrentThread == _thread;

    /// <summary>Starts the loop thread. Throws <see cref="InvalidOperationException"/> if it was started before.</summary>
    public void Start()
    {
        lock (_lifecycleLock)
        {
            if (_thread is not null || _stopRequested)
            {
                throw new InvalidOperationException("The engine was already started or stopped; create a new engine instead.");
            }
            _thread = new Thread(Run) { IsBackground = true, Name = Options.ThreadName };
            SkiffMetrics.Register(Metrics);
            _thread.Start();
        }
    }

    /// <summary>
    /// Stops the loop and waits for it: connections are aborted (RST), listeners and UDP sockets closed,
    /// outstanding operations fail with <see cref="ObjectDisposedException"/>, and every packet buffer the
    /// stack holds returns to its pool. Idempotent. Must not be called on the loop thread.
    /// </summary>
    public void Stop()
    {
        if (IsLoopThread)
        {
            throw new InvalidOperationException("Stop cannot be called on the engine's own loop thread; call it from an application thread.");
        }
        Thread? thread;
        lock (_lifecycleLock)
        {
            _stopRequested = true;
            thread = _thread;
        }
        WakeParked();
        if (thread is null)
        {
            lock (_drainLock)
            {
                if (!_stopped)
                {
                    Shutdown();
                }
            }
            CloseEventFd(); // RunOnCallingThread may have made one
            return;
        }
        thread.Join();
    }

    /// <summary>Same as <see cref="Stop"/>.</summary>
    public void Dispose() => Stop();

    /// <summary>
    /// Runs <paramref name="func"/> on the loop thread between polls and returns its result: the way to read
    /// the stack's counters or use the low-level API from another thread. Allocates; not for the data path.
    /// Fails with <see cref="ObjectDisposedException"/> once the engine has stopped.
    /// </summary>
    public Task<T> InvokeAsync<T>(Func<Interface, T> func)
    {
        ArgumentNullException.ThrowIfNull(func);
        EngineCommand<T> command = new(this, func);
        if (IsLoopThread)
        {
            command.Execute();
        }
        else
        {
            Schedule(command);
        }
        return command.Task;
    }

    /// <summary>Runs <paramref name="func"/> on the loop and waits for it (control calls only).</summary>
    internal T Invoke<T>(Func<Interface, T> func) => InvokeAsync(func).GetAwaiter().GetResult();

    /// <summary>Queues <paramref name="item"/> for the loop (once, until it runs). Any thread.</summary>
    internal void Schedule(EngineWorkItem item)
    {
        if (!item.TrySchedule())
        {
            return;
        }
        // Interlocked.Exchange inside Enqueue is a full fence; it pairs with the exchange of _parked in Park,
        // so either the loop sees the item before parking or we see _parked == 1 and wake it.
        _queue.Enqueue(item);
        if (Volatile.Read(ref _parked) == 1)
        {
            WakeParked();
        }
        if (_stopped)
        {
            DrainStopped();
        }
    }

    /// <summary>Wakes the loop if it is parked (another core queued frames for it, a stage has news). Any thread; the caller fences after publishing what the loop must see.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _parked) == 1)
        {
            WakeParked();
        }
    }

    /// <summary>Ends a park: signals the eventfd the loop may block on in poll(2), and the event it may wait on.</summary>
    private void WakeParked()
    {
        if (Volatile.Read(ref _eventFd) >= 0)
        {
            Interlocked.Increment(ref _signalers);
            int fd = Volatile.Read(ref _eventFd); // CloseEventFd sets it to -1 before waiting for signalers
            if (fd >= 0)
            {
                Interop.PollWait.Signal(fd);
            }
            Interlocked.Decrement(ref _signalers);
        }
        _wake.Set();
    }

    /// <summary>Adds a participant visited after every poll. Loop only.</summary>
    internal void Register(EngineParticipant participant)
    {
        if (participant.ParticipantIndex >= 0)
        {
            return;
        }
        List<EngineParticipant> list = participant.VisitedEveryPoll ? _participants : _connections;
        participant.ParticipantIndex = list.Count;
        list.Add(participant);
    }

    internal void Unregister(EngineParticipant participant)
    {
        int i = participant.ParticipantIndex;
        if (i < 0)
        {
            return;
        }
        List<EngineParticipant> list = participant.VisitedEveryPoll ? _participants : _connections;
        int last = list.Count - 1;
        EngineParticipant moved = list[last];
        list[i] = moved;
        moved.ParticipantIndex = i;
        list.RemoveAt(last);
        participant.ParticipantIndex = -1;
    }

    /// <summary>Loop side: registers a connection and the socket whose readiness wakes it.</summary>
    internal void RegisterConnection(ConnectionCore connection, SocketHandle handle)
    {
        Register(connection);
        _connectionBySlot ??= new ConnectionCore?[Interface.Tcp.Capacity];
        _connectionBySlot[handle.Slot] = connection;
    }

    /// <summary>Loop side: the connection released its socket.</summary>
    internal void UnregisterConnection(ConnectionCore connection, SocketHandle handle)
    {
        Unregister(connection);
        if (_connectionBySlot is not null && _connectionBySlot[handle.Slot] == connection)
        {
            _connectionBySlot[handle.Slot] = null;
        }
    }

    /// <summary>Loop side: visits <paramref name="connection"/> again in the next iteration (its last visit did work).</summary>
    internal void Revisit(ConnectionCore connection)
    {
        if (!connection.RevisitQueued)
        {
            connection.RevisitQueued = true;
            _revisit.Add(connection);
        }
    }

    internal void NotePeer(Ipv4Address address)
    {
        // Bounded by the ARP cache's size: beyond it the cache evicts (and frees) entries itself.
        if (_peers.Count < Interface.Arp.Options.MaxEntries)
        {
            _peers.Add(address);
        }
    }

    internal ObjectDisposedException StoppedException() =>
        new(nameof(SkiffEngine), Failure is null
            ? "The Skiff engine has stopped; build a new stack to continue."
            : $"The Skiff engine stopped after a failure ({Failure.Message}); build a new stack to continue.");
}
