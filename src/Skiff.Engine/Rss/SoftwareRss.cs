using Skiff.Engine.Internal;
using Skiff.Rings;
using Skiff.Wire;

namespace Skiff.Engine.Rss;

/// <summary>
/// Receive packet steering (Linux's RPS) for a device with one queue: splits it into
/// <see cref="FlowSteering.Queues"/> queue devices, one per engine core. Queue 0's core does the device's I/O:
/// its receive reads the device, hashes every frame (<see cref="FlowSteering"/>) and hands frames of other
/// cores' flows to them through single-producer rings; its transmit also forwards what the other cores queued
/// for the wire. The other queues only touch their two rings, so every flow's TCP state stays on one core.
/// </summary>
/// <remarks>
/// <para>Threading: queue <c>i</c>'s device is used by one thread (its engine); the rings between queue 0 and
/// queue <c>i</c> are SPSC. A core that queues frames for another wakes it if it parks (see
/// <see cref="SetWaker"/>). The counters are written by queue 0's thread and safe to read from any.</para>
/// <para>Ownership: a frame in a ring belongs to the ring; <see cref="DrainAll"/> frees whatever is left once
/// every engine has stopped. A full ring drops (and counts) the frame, like a NIC queue overflowing.</para>
/// </remarks>
public sealed class SoftwareRss
{
    private const int Burst = 64;

    private readonly IDevice _device;
    private readonly QueueDevice[] _queues;
    private readonly SpscRing<PacketBuffer>[] _rx; // queue 0 -> queue i (index 0 unused)
    private readonly SpscRing<PacketBuffer>[] _tx; // queue i -> queue 0 (index 0 unused)
    private readonly PacketBuffer[][] _txStage;    // frames taken from _tx[i] that the device has not accepted yet
    private readonly int[] _txStageCount;
    private readonly int[] _txStageStart;
    private readonly Action?[] _wakers;
    private readonly bool[] _rxTouched;
    private readonly PacketBuffer[][] _rxStage;    // queue 0's thread: frames for queue i, enqueued once per burst
    private readonly int[] _rxStageCount;
    private long _steered;
    private long _broadcastCopies;
    private long _drops;
    private long _forwarded;
    private bool _activity; // queue 0's thread: frames moved since the engine last asked
    // Queue 0's thread: where first fragments went, later fragments waiting for theirs, and held fragments released
    // to queue 0 itself (handed out before the device is read again).
    private readonly FragmentSteering _fragments = new();
    private readonly bool _followFragments;
    private readonly PacketBuffer[] _released = new PacketBuffer[FragmentSteering.MaxHeld];
    private readonly (PacketBuffer Frame, int Queue)[] _expired = new (PacketBuffer, int)[FragmentSteering.MaxHeld];
    private readonly PacketBuffer[] _local = new PacketBuffer[FragmentSteering.MaxHeld];
    private int _localCount;

    /// <summary>Splits <paramref name="device"/> over <paramref name="steering"/>'s queues.</summary>
    /// <param name="device">The single-queue device; queue 0's loop reads it and transmits for every queue.</param>
    /// <param name="steering">The hash and redirection table that pick each frame's queue.</param>
    /// <param name="ringCapacity">Frames each ring between queue 0 and another queue holds (a power of two).</param>
    /// <param name="followFragments">
    /// Send fragments after their datagram's first fragment, to the flow's queue (default). False leaves them where
    /// the address hash puts them, as a NIC's RSS does (for tests that stand this in for one).
    /// </param>
    public SoftwareRss(IDevice device, FlowSteering steering, int ringCapacity = 4096, bool followFragments = true)
    {
        _followFragments = followFragments;
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(steering);
        _device = device;
        Steering = steering;
        int n = steering.Queues;
        _queues = new QueueDevice[n];
        _rx = new SpscRing<PacketBuffer>[n];
        _tx = new SpscRing<PacketBuffer>[n];
        _txStage = new PacketBuffer[n][];
        _txStageCount = new int[n];
        _txStageStart = new int[n];
        _wakers = new Action?[n];
        _rxTouched = new bool[n];
        _rxStage = new PacketBuffer[n][];
        _rxStageCount = new int[n];
        for (int i = 0; i < n; i++)
        {
            _queues[i] = new QueueDevice(this, i);
            if (i > 0)
            {
                _rx[i] = new SpscRing<PacketBuffer>(ringCapacity);
                _tx[i] = new SpscRing<PacketBuffer>(ringCapacity);
                _txStage[i] = new PacketBuffer[Burst];
                _rxStage[i] = new PacketBuffer[Burst];
            }
        }
    }

    /// <summary>How frames are assigned to queues.</summary>
    public FlowSteering Steering { get; }

    /// <summary>Frames queue 0 handed to another queue (broadcast copies included).</summary>
    public long SteeredFrames => Volatile.Read(ref _steered);

    /// <summary>Copies made of frames every queue must see (ARP replies).</summary>
    public long BroadcastCopies => Volatile.Read(ref _broadcastCopies);

    /// <summary>Frames dropped because a queue's ring was full or the pool had no frame for a broadcast copy.</summary>
    public long Drops => Volatile.Read(ref _drops);

    /// <summary>Frames other queues transmitted through queue 0.</summary>
    public long ForwardedFrames => Volatile.Read(ref _forwarded);

    /// <summary>The device of queue <paramref name="queue"/>; give each to the engine of that core.</summary>
    public IDevice Queue(int queue) => _queues[queue];

    /// <summary>Registers how to wake queue <paramref name="queue"/>'s engine when another core queued frames for it.</summary>
    public void SetWaker(int queue, Action wake) => _wakers[queue] = wake;

    /// <summary>True when frames wait for queue <paramref name="queue"/>'s thread: received frames for it, or (queue 0) frames to forward.</summary>
    public bool HasPendingWork(int queue)
    {
        if (queue != 0)
        {
            return _rx[queue].Count > 0;
        }
        if (_localCount > 0)
        {
            return true;
        }
        for (int i = 1; i < _tx.Length; i++)
        {
            if (_tx[i].Count > 0 || _txStageCount[i] > 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Fragments that followed their datagram's first fragment to its queue (<see cref="FragmentSteering"/>).</summary>
    public long FragmentsFollowed => _fragments.Followed;

    /// <summary>Fragments that arrived before their first and waited for it.</summary>
    public long FragmentsHeld => _fragments.HeldCount;

    /// <summary>Frees every frame left in the rings. Call only after every queue's engine has stopped.</summary>
    public void DrainAll()
    {
        int held = _fragments.TakeAll(_released);
        for (int i = 0; i < held; i++)
        {
            _released[i].Free();
            _released[i] = null!;
        }
        for (int i = 0; i < _localCount; i++)
        {
            _local[i].Free();
            _local[i] = null!;
        }
        _localCount = 0;
        for (int i = 1; i < _rx.Length; i++)
        {
            while (_rx[i].TryDequeue(out PacketBuffer frame))
            {
                frame.Free();
            }
            while (_tx[i].TryDequeue(out PacketBuffer frame))
            {
                frame.Free();
            }
            for (int k = 0; k < _txStageCount[i]; k++)
            {
                _txStage[i][_txStageStart[i] + k].Free();
            }
            Array.Clear(_txStage[i]);
            _txStageCount[i] = 0;
            _txStageStart[i] = 0;
        }
    }

    /// <summary>Queue 0: reads the device and keeps this core's frames in <paramref name="buffers"/>; the rest go to their queues.</summary>
    private int ReceiveOnQueue0(Span<PacketBuffer> buffers, Instant now)
    {
        Forward(now);
        if (_fragments.Holding > 0)
        {
            int expired = _fragments.TakeExpired(now, _expired);
            for (int i = 0; i < expired; i++)
            {
                Route(_expired[i].Frame, _expired[i].Queue);
                _expired[i] = default;
            }
            for (int q = 1; q < _rxStage.Length; q++)
            {
                FlushStage(q); // a poll that reads no device burst below still hands them on
            }
        }
        int kept = 0;
        // Held fragments released to this queue first: they waited longest.
        while (_localCount > 0 && kept < buffers.Length)
        {
            buffers[kept++] = _local[--_localCount];
            _local[_localCount] = null!;
        }
        // A burst may hold only other cores' frames; read on (boundedly) so a poll that moved frames still returns some when there are.
        for (int round = 0; round < 4 && kept == 0; round++)
        {
            int n = _device.ReceiveBurst(buffers, now);
            if (n == 0)
            {
                break;
            }
            for (int i = 0; i < n; i++)
            {
                PacketBuffer frame = buffers[i];
                int queue = Steering.QueueOf(frame.Data, out uint hash);
                if (_followFragments && !SteerFragment(frame, ref queue, ref hash, now))
                {
                    continue; // held until its first fragment shows where it goes
                }
                frame.RssHash = hash;
                if (queue == FlowSteering.AllQueues)
                {
                    Broadcast(frame);
                    queue = 0;
                }
                if (queue == 0)
                {
                    frame.Queue = 0;
                    buffers[kept++] = frame;
                    continue;
                }
                Stage(frame, queue);
            }
            for (int i = kept; i < n; i++)
            {
                buffers[i] = null!;
            }
            for (int q = 1; q < _rxStage.Length; q++)
            {
                FlushStage(q);
            }
        }
        WakeTouched();
        return kept;
    }

    /// <summary>
    /// Puts a fragment of TCP or UDP on its flow's queue (<see cref="FragmentSteering"/>): a first fragment by its
    /// ports, releasing the later ones that waited for it; a later one after its first. False when the frame is held.
    /// </summary>
    private bool SteerFragment(PacketBuffer frame, ref int queue, ref uint hash, Instant now)
    {
        FragmentSteering.Kind kind = FragmentSteering.Classify(frame.Data, out FragmentSteering.Key key, out ushort sourcePort, out ushort destinationPort);
        if (kind == FragmentSteering.Kind.First)
        {
            queue = Steering.QueueOfFlow(new Ipv4Address(key.Source), new Ipv4Address(key.Destination), sourcePort, destinationPort, out hash);
            _fragments.Remember(key, queue);
            int released = _fragments.TakeHeld(key, _released);
            for (int i = 0; i < released; i++)
            {
                Route(_released[i], queue);
                _released[i] = null!;
            }
            return true;
        }
        if (kind == FragmentSteering.Kind.Later)
        {
            if (_fragments.TryRecall(key, out int first))
            {
                queue = first;
                return true;
            }
            if (_fragments.TryHold(frame, key, queue, now))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A frame steered outside a device burst (a held fragment): staged for its queue, or kept for queue 0's next receive.</summary>
    private void Route(PacketBuffer frame, int queue)
    {
        if (queue <= 0)
        {
            frame.Queue = 0;
            if (_localCount < _local.Length)
            {
                _local[_localCount++] = frame;
                _activity = true;
            }
            else
            {
                frame.Free();
                _drops++;
            }
            return;
        }
        Stage(frame, queue);
    }

    private void Stage(PacketBuffer frame, int queue)
    {
        frame.Queue = (ushort)queue;
        _activity = true;
        PacketBuffer[] stage = _rxStage[queue];
        stage[_rxStageCount[queue]++] = frame;
        if (_rxStageCount[queue] == stage.Length)
        {
            FlushStage(queue);
        }
    }

    /// <summary>Hands the frames staged for <paramref name="queue"/> to its ring in one burst; what does not fit is dropped.</summary>
    private void FlushStage(int queue)
    {
        int count = _rxStageCount[queue];
        if (count == 0)
        {
            return;
        }
        Span<PacketBuffer> staged = _rxStage[queue].AsSpan(0, count);
        int accepted = _rx[queue].EnqueueBurst(staged);
        if (accepted > 0)
        {
            _rxTouched[queue] = true;
            _steered += accepted;
        }
        for (int i = accepted; i < count; i++)
        {
            staged[i].Free();
            _drops++;
        }
        staged.Clear();
        _rxStageCount[queue] = 0;
    }

    private void Broadcast(PacketBuffer frame)
    {
        for (int q = 1; q < _rx.Length; q++)
        {
            if (frame.Pool.TryAllocate(out PacketBuffer? copy) && frame.TryCopyTo(copy))
            {
                copy.Queue = (ushort)q;
                if (_rx[q].TryEnqueue(copy))
                {
                    _rxTouched[q] = true;
                    _broadcastCopies++;
                    _steered++;
                    continue;
                }
                copy.Free();
            }
            else
            {
                copy?.Free();
            }
            _drops++;
        }
    }

    private void WakeTouched()
    {
        bool any = false;
        for (int q = 1; q < _rxTouched.Length; q++)
        {
            any |= _rxTouched[q];
        }
        if (!any)
        {
            return;
        }
        // Full fence: the ring's tail stores above become visible before we read whether the consumer parked
        // (pairs with the exchange of the parked flag in SkiffEngine.Backoff, made before it checks the ring).
        Interlocked.MemoryBarrier();
        for (int q = 1; q < _rxTouched.Length; q++)
        {
            if (_rxTouched[q])
            {
                _rxTouched[q] = false;
                _wakers[q]?.Invoke();
            }
        }
    }

    /// <summary>Queue 0: hands the frames other queues transmitted to the device, in order per queue.</summary>
    private bool Forward(Instant now)
    {
        bool moved = false;
        for (int q = 1; q < _tx.Length; q++)
        {
            PacketBuffer[] stage = _txStage[q];
            for (int round = 0; round < 4; round++)
            {
                if (_txStageCount[q] == 0)
                {
                    _txStageStart[q] = 0;
                    _txStageCount[q] = _tx[q].DequeueBurst(stage);
                    if (_txStageCount[q] == 0)
                    {
                        break;
                    }
                }
                int start = _txStageStart[q];
                int sent = _device.TransmitBurst(stage.AsSpan(start, _txStageCount[q]), now);
                Array.Clear(stage, start, sent);
                _txStageStart[q] = start + sent;
                _txStageCount[q] -= sent;
                _forwarded += sent;
                moved |= sent > 0;
                _activity |= sent > 0;
                if (_txStageCount[q] > 0)
                {
                    break; // the device is full; keep the rest for the next poll
                }
            }
        }
        return moved;
    }

    private int TransmitFromQueue(int queue, ReadOnlySpan<PacketBuffer> buffers)
    {
        if (buffers.IsEmpty)
        {
            return 0;
        }
        int accepted = _tx[queue].EnqueueBurst(buffers);
        if (accepted > 0)
        {
            Interlocked.MemoryBarrier(); // as in WakeTouched: publish the ring before reading queue 0's parked flag
            _wakers[0]?.Invoke();
        }
        return accepted;
    }

    /// <summary>One queue's view of the device.</summary>
    private sealed class QueueDevice(SoftwareRss owner, int queue) : IDevice, IEngineDeviceSignals, IWaitableDevice, IQueueRedirect
    {
        // Only queue 0 has rings to the other queues (queue i's ring leads to queue 0's transmit): it alone can redirect.
        // Staged frames reach their ring at queue 0's next receive, within the next iteration.
        public bool TryRedirect(PacketBuffer frame, int target)
        {
            if (queue != 0 || target <= 0 || target >= owner._queues.Length)
            {
                return false;
            }
            owner.Stage(frame, target);
            return true;
        }

        // Queue 0 blocks on the device itself; the other queues are woken by queue 0 (SetWaker), so they have no descriptor.
        public int ReceiveWaitDescriptor => queue == 0 && owner._device is IWaitableDevice w ? w.ReceiveWaitDescriptor : -1;

        public bool HasBufferedReceive => queue == 0 && owner._device is IWaitableDevice w && w.HasBufferedReceive;

        public bool HasPendingWork() => owner.HasPendingWork(queue);

        // Queue 0's thread does all the steering, so it owns every drop.
        public long SteeringDrops => queue == 0 ? owner.Drops : 0;

        public bool TakeActivity()
        {
            if (queue != 0 || !owner._activity)
            {
                return false;
            }
            owner._activity = false;
            return true;
        }

        public DeviceCapabilities Capabilities => owner._device.Capabilities;

        public PacketPool Pool => owner._device.Pool;

        public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now) =>
            queue == 0 ? owner.ReceiveOnQueue0(buffers, now) : owner._rx[queue].DequeueBurst(buffers);

        public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now)
        {
            if (queue != 0)
            {
                return owner.TransmitFromQueue(queue, buffers);
            }
            owner.Forward(now);
            return owner._device.TransmitBurst(buffers, now);
        }

        public override string ToString() => $"queue {queue} of {owner._device} (software RSS)";
    }
}
