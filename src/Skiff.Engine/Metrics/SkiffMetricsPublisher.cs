using System.Diagnostics;
using Skiff.Stack;

namespace Skiff.Engine.Metrics;

/// <summary>
/// Publishes the counters of one loop's <see cref="Interface"/> for other threads. The stack's counters are plain
/// fields that only the loop thread may read; the loop calls <see cref="Publish"/> every iteration, which copies
/// them into a preallocated <see cref="SkiffMetricsSnapshot"/> at most every <see cref="Interval"/> of loop time
/// (or at once when a reader asked through <see cref="Refresh"/>). Readers copy that snapshot out under a lock.
/// </summary>
/// <remarks>
/// <para>Cost on the loop: one comparison per iteration; a publish copies about 45 longs under an uncontended
/// <see cref="Lock"/> and allocates nothing.</para>
/// <para>Thread-safety: <see cref="Publish"/> on the interface's loop thread only; every other member on any thread.</para>
/// </remarks>
public sealed class SkiffMetricsPublisher
{
    /// <summary>The default most time between publishes: 100 ms of loop time.</summary>
    public static readonly Duration DefaultInterval = Duration.FromMillis(100);

    private readonly Interface _iface;
    private Internal.IEngineDeviceSignals? _steering;
    private readonly Lock _lock = new();
    private readonly SkiffMetricsSnapshot _published = new();
    private Instant _nextAt = Instant.Zero;
    private long _sequence;
    private long _requested; // tickets handed out by Refresh
    private long _served;    // the highest ticket a publish has covered
    private readonly Action? _wake;

    /// <summary>
    /// A publisher of <paramref name="iface"/>'s counters, tagged with <paramref name="queue"/>. <paramref name="wake"/>, if
    /// given, is called by <see cref="Refresh"/> after asking, to wake a loop that blocks while idle (any thread).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="queue"/> is negative or <paramref name="interval"/> is not positive.</exception>
    public SkiffMetricsPublisher(Interface iface, int queue, Duration? interval = null, Action? wake = null)
    {
        ArgumentNullException.ThrowIfNull(iface);
        ArgumentOutOfRangeException.ThrowIfNegative(queue);
        Interval = interval ?? DefaultInterval;
        if (Interval.TotalMicros <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interval), "The publish interval must be positive.");
        }
        _iface = iface;
        _wake = wake;
        Queue = queue;
        Address = iface.Addresses.Count > 0 ? iface.PrimaryAddress.ToString() : "";
        _published.Queue = queue;
        _published.Address = Address;
        _published.PoolFrames = iface.Pool.FrameCount;
    }

    /// <summary>Where the loop's steering drops are counted (a software-RSS or queue-mesh view); set by the engine before it starts.</summary>
    internal void SetSteeringSource(Internal.IEngineDeviceSignals? steering) => _steering = steering;

    /// <summary>The engine whose hook chains are published with the interface's counters; set by the engine before it starts.</summary>
    internal void SetPipeline(SkiffEngine engine) => _engine = engine;

    private SkiffEngine? _engine;

    /// <summary>The queue tag of every snapshot.</summary>
    public int Queue { get; }

    /// <summary>The interface's primary address, as a tag.</summary>
    public string Address { get; }

    /// <summary>The most loop time between two publishes.</summary>
    public Duration Interval { get; }

    /// <summary>True while a <see cref="Refresh"/> waits for a publish: the loop must not park. The loop thread.</summary>
    internal bool HasPendingRequest => Volatile.Read(ref _requested) != _served;

    /// <summary>Publishes so far. Any thread.</summary>
    public long Sequence => Volatile.Read(ref _sequence);

    /// <summary>
    /// Publishes when <see cref="Interval"/> has passed since the last publish or a reader is waiting in
    /// <see cref="Refresh"/>; otherwise returns at once. Returns true if it published. The loop thread only;
    /// allocates nothing.
    /// </summary>
    public bool Publish(Instant now)
    {
        long requested = Volatile.Read(ref _requested);
        if (now < _nextAt && requested == _served)
        {
            return false;
        }
        PublishTicket(now, requested);
        return true;
    }

    /// <summary>Publishes now, whatever the interval says. The loop thread only; allocates nothing.</summary>
    public void PublishNow(Instant now) => PublishTicket(now, Volatile.Read(ref _requested));

    private void PublishTicket(Instant now, long requested)
    {
        _nextAt = now + Interval;
        lock (_lock)
        {
            _published.Capture(_iface, now);
            _published.SteeringDrops = _steering?.SteeringDrops ?? 0;
            if (_engine is not null)
            {
                _published.CapturePorts(_engine);
                _published.CaptureHooks(_engine.RxHooks.Current, _engine.TxHooks.Current);
                _published.CaptureQDiscs(_engine);
            }
            _published.Sequence = ++_sequence;
        }
        // Read before the capture, so the capture saw everything that happened before the reader asked.
        Volatile.Write(ref _served, requested);
    }

    /// <summary>Copies the latest published snapshot into <paramref name="destination"/> (Sequence 0: nothing published yet). Any thread; allocates nothing.</summary>
    public void CopyTo(SkiffMetricsSnapshot destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        lock (_lock)
        {
            _published.CopyTo(destination);
        }
    }

    /// <summary>A copy of the latest published snapshot (allocates; <see cref="CopyTo"/> does not).</summary>
    public SkiffMetricsSnapshot Read()
    {
        SkiffMetricsSnapshot s = new();
        CopyTo(s);
        return s;
    }

    /// <summary>
    /// Asks the loop to publish at its next iteration and waits for that publish, up to <paramref name="timeout"/>.
    /// Returns false when the loop did not publish in time (stopped, stuck, or this is the loop thread itself, which
    /// must call <see cref="PublishNow"/> instead); the last snapshot is then still readable. Any other thread.
    /// </summary>
    public bool Refresh(TimeSpan timeout)
    {
        long ticket = Interlocked.Increment(ref _requested);
        // The increment above is a full fence; the loop sets its parked flag (also a full fence) before it looks at
        // HasPendingRequest, so either it sees this request and does not park, or the wake below finds it parked.
        _wake?.Invoke();
        long start = Stopwatch.GetTimestamp();
        SpinWait spin = default;
        while (Volatile.Read(ref _served) < ticket)
        {
            if (Stopwatch.GetElapsedTime(start) > timeout)
            {
                return false;
            }
            if (spin.NextSpinWillYield)
            {
                Thread.Sleep(1);
            }
            else
            {
                spin.SpinOnce();
            }
        }
        return true;
    }

    /// <summary>"Skiff metrics of queue Q (ADDRESS)", for logs and the debugger.</summary>
    public override string ToString() => $"Skiff metrics of queue {Queue} ({Address})";
}
