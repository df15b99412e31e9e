using System.Buffers.Binary;
using Skiff.Engine.Internal;
using Skiff.Rings;
using Skiff.Wire;

namespace Skiff.Engine.Rss;

/// <summary>
/// Cores over a device with several hardware queues (an AF_PACKET fanout group, TAP multi-queue; AF_XDP once it
/// shares one XDP attachment between queues), one
/// queue per core, where the NIC or the kernel picks the queue with a hash Skiff cannot compute (a secret key,
/// jhash). Flows a peer opens stay where that hash puts them. For flows Skiff opens, ephemeral ports are
/// partitioned between cores (core <c>k</c> uses ports with <c>port % cores == k</c>, as mTCP does) and a core
/// that receives a segment for another core's ephemeral port passes it on through a single-producer ring.
/// </summary>
/// <remarks>
/// <para>ARP replies are copied to every core (each keeps its own ARP cache). IPv4 fragments stay on the core
/// they arrive at: only the first carries the ports.</para>
/// <para>Threading: queue <c>k</c>'s device is used by core <c>k</c>'s thread alone; ring <c>j→k</c> has one
/// producer (core j) and one consumer (core k). A core that queues frames for another wakes it if it parks.</para>
/// </remarks>
public sealed class QueueMesh
{
    private const int RingCapacity = 1024;

    /// <summary>What <see cref="Destination"/> returns for a frame that stays on the core it arrived at.</summary>
    private const int Stay = -2;

    private readonly IDevice[] _devices;
    private readonly SpscRing<PacketBuffer>?[] _rings; // [from * n + to]
    private readonly Action?[] _wakers;
    private readonly MeshDevice[] _views;
    private readonly ushort _ephemeralFirst;
    private readonly ushort _ephemeralLast;
    // Counters per core, each written by its core alone (no atomic per frame, no shared line): Redirected, Copies,
    // Drops at [core * CounterStride + k]; the stride keeps cores 128 bytes apart.
    private const int CounterStride = 16;
    private const int Redirected = 0;
    private const int Copies = 1;
    private const int Dropped = 2;
    private readonly long[] _counters;
    // Per core (its thread only): where first fragments went, later ones waiting for theirs, and held fragments
    // released to the core itself (handed out before its device is read again).
    private readonly FragmentSteering[] _fragments;
    private readonly PacketBuffer[][] _local;
    private readonly int[] _localCount;
    private readonly PacketBuffer[][] _released;
    private readonly (PacketBuffer Frame, int Queue)[][] _expired;

    /// <summary>A mesh over <paramref name="devices"/>, one per core; ports <paramref name="ephemeralFirst"/>..<paramref name="ephemeralLast"/> are partitioned.</summary>
    public QueueMesh(IReadOnlyList<IDevice> devices, ushort ephemeralFirst, ushort ephemeralLast)
    {
        ArgumentNullException.ThrowIfNull(devices);
        if (devices.Count is < 1 or > 64)
        {
            throw new ArgumentException($"{devices.Count} queue devices: give one per core, 1 to 64.", nameof(devices));
        }
        int n = devices.Count;
        _devices = [.. devices];
        _rings = new SpscRing<PacketBuffer>?[n * n];
        _counters = new long[n * CounterStride];
        _wakers = new Action?[n];
        _views = new MeshDevice[n];
        _fragments = new FragmentSteering[n];
        _local = new PacketBuffer[n][];
        _localCount = new int[n];
        _released = new PacketBuffer[n][];
        _expired = new (PacketBuffer, int)[n][];
        _ephemeralFirst = ephemeralFirst;
        _ephemeralLast = ephemeralLast;
        for (int from = 0; from < n; from++)
        {
            for (int to = 0; to < n; to++)
            {
                if (from != to)
                {
                    _rings[(from * n) + to] = new SpscRing<PacketBuffer>(RingCapacity);
                }
            }
            _views[from] = new MeshDevice(this, from);
            _fragments[from] = new FragmentSteering();
            _local[from] = new PacketBuffer[FragmentSteering.MaxHeld];
            _released[from] = new PacketBuffer[FragmentSteering.MaxHeld];
            _expired[from] = new (PacketBuffer, int)[FragmentSteering.MaxHeld];
        }
    }

    /// <summary>Cores (queues) in the mesh.</summary>
    public int Cores => _devices.Length;

    /// <summary>Frames a core passed to the core owning their destination port.</summary>
    public long RedirectedFrames => Sum(Redirected);

    /// <summary>Copies made of ARP replies for the other cores.</summary>
    public long BroadcastCopies => Sum(Copies);

    /// <summary>Frames dropped because a ring was full or the pool had no frame for a copy.</summary>
    public long Drops => Sum(Dropped);

    /// <summary>The part of <see cref="Drops"/> core <paramref name="core"/> dropped (while passing frames on).</summary>
    public long DropsOn(int core) => Volatile.Read(ref _counters[core * CounterStride + Dropped]);

    /// <summary>Core <paramref name="core"/>'s device: its own queue, plus the frames other cores pass to it.</summary>
    public IDevice Queue(int core) => _views[core];

    /// <summary>Registers how to wake core <paramref name="core"/>'s engine when another core queued frames for it.</summary>
    public void SetWaker(int core, Action wake) => _wakers[core] = wake;

    /// <summary>The core that opens connections from local port <paramref name="port"/>, or -1 for a port outside the partitioned range.</summary>
    public int OwnerOfPort(ushort port) => port >= _ephemeralFirst && port <= _ephemeralLast ? port % _devices.Length : -1;

    /// <summary>Fragments of connections Skiff opened that followed their first fragment to the core owning the port.</summary>
    public long FragmentsFollowed
    {
        get
        {
            long total = 0;
            foreach (FragmentSteering f in _fragments)
            {
                total += f.Followed;
            }
            return total;
        }
    }

    /// <summary>Frees every frame left in the rings. Call only after every core's engine has stopped.</summary>
    public void DrainAll()
    {
        for (int core = 0; core < _devices.Length; core++)
        {
            int held = _fragments[core].TakeAll(_released[core]);
            for (int i = 0; i < held; i++)
            {
                _released[core][i].Free();
                _released[core][i] = null!;
            }
            for (int i = 0; i < _localCount[core]; i++)
            {
                _local[core][i].Free();
                _local[core][i] = null!;
            }
            _localCount[core] = 0;
        }
        foreach (SpscRing<PacketBuffer>? ring in _rings)
        {
            while (ring is not null && ring.TryDequeue(out PacketBuffer frame))
            {
                frame.Free();
            }
        }
    }

    /// <summary>Adds one to a counter of <paramref name="core"/>; that core's thread only.</summary>
    private void Count(int core, int counter)
    {
        ref long c = ref _counters[(core * CounterStride) + counter];
        Volatile.Write(ref c, c + 1);
    }

    private long Sum(int counter)
    {
        long total = 0;
        for (int core = 0; core < _devices.Length; core++)
        {
            total += Volatile.Read(ref _counters[(core * CounterStride) + counter]);
        }
        return total;
    }

    private SpscRing<PacketBuffer> Ring(int from, int to) => _rings[(from * _devices.Length) + to]!;

    /// <summary>Where a frame received on some core belongs: a core, <see cref="FlowSteering.AllQueues"/> (an ARP reply), or <see cref="Stay"/>.</summary>
    private int Destination(ReadOnlySpan<byte> frame)
    {
        if (frame.Length < 14)
        {
            return Stay;
        }
        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (etherType == (ushort)EtherType.Arp)
        {
            return frame.Length >= 22 && BinaryPrimitives.ReadUInt16BigEndian(frame[20..]) == 2 ? FlowSteering.AllQueues : Stay;
        }
        if (etherType != (ushort)EtherType.Ipv4 || frame.Length < 34)
        {
            return Stay;
        }
        ReadOnlySpan<byte> ip = frame[14..];
        int headerLength = (ip[0] & 0x0F) * 4;
        bool fragment = (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x3FFF) != 0;
        if (ip[0] >> 4 != 4 || headerLength < 20 || fragment || ip.Length < headerLength + 4
            || (ip[9] != (byte)IpProtocol.Tcp && ip[9] != (byte)IpProtocol.Udp))
        {
            return Stay;
        }
        int owner = OwnerOfPort(BinaryPrimitives.ReadUInt16BigEndian(ip[(headerLength + 2)..]));
        return owner < 0 ? Stay : owner;
    }

    private int Receive(int core, Span<PacketBuffer> buffers, Instant now, ref bool activity)
    {
        int n = _devices.Length;
        int count = 0;
        Span<bool> touched = stackalloc bool[n];
        FragmentSteering fragments = _fragments[core];
        if (fragments.Holding > 0)
        {
            (PacketBuffer Frame, int Queue)[] expired = _expired[core];
            int e = fragments.TakeExpired(now, expired);
            for (int i = 0; i < e; i++)
            {
                Route(core, expired[i].Frame, expired[i].Queue, touched);
                expired[i] = default;
            }
        }
        PacketBuffer[] local = _local[core];
        while (_localCount[core] > 0 && count < buffers.Length)
        {
            buffers[count++] = local[--_localCount[core]];
            local[_localCount[core]] = null!;
        }
        // Frames other cores passed here first: they waited longest.
        for (int from = 0; from < n && count < buffers.Length; from++)
        {
            if (from != core)
            {
                count += Ring(from, core).DequeueBurst(buffers[count..]);
            }
        }
        if (count == buffers.Length)
        {
            Wake(touched);
            return count;
        }
        int received = _devices[core].ReceiveBurst(buffers[count..], now);
        int kept = count;
        for (int i = count; i < count + received; i++)
        {
            PacketBuffer frame = buffers[i];
            int to = Destination(frame.Data);
            if (to == Stay && !SteerFragment(core, frame, ref to, now, touched))
            {
                continue; // held until its first fragment shows where it goes
            }
            if (to == FlowSteering.AllQueues)
            {
                CopyToOthers(core, frame, touched);
                to = core;
            }
            if (to == Stay || to == core)
            {
                buffers[kept++] = frame;
                continue;
            }
            activity = true;
            PassOn(core, frame, to, touched);
        }
        for (int i = kept; i < count + received; i++)
        {
            buffers[i] = null!;
        }
        Wake(touched);
        return kept;
    }

    /// <summary>
    /// A fragment of TCP or UDP (<see cref="FragmentSteering"/>): the kernel or NIC hashed it on addresses, so it
    /// may sit on another core than a connection Skiff opened; a first fragment goes to the core owning its
    /// destination port and the later ones follow it (held until it comes, if they come first). Flows a peer opened
    /// keep the core the hash gave them, which Skiff cannot compute. False when the frame is held.
    /// </summary>
    private bool SteerFragment(int core, PacketBuffer frame, ref int to, Instant now, Span<bool> touched)
    {
        FragmentSteering fragments = _fragments[core];
        FragmentSteering.Kind kind = FragmentSteering.Classify(frame.Data, out FragmentSteering.Key key, out _, out ushort destinationPort);
        if (kind == FragmentSteering.Kind.First)
        {
            int owner = OwnerOfPort(destinationPort);
            owner = owner < 0 ? core : owner;
            fragments.Remember(key, owner);
            PacketBuffer[] released = _released[core];
            int r = fragments.TakeHeld(key, released);
            for (int i = 0; i < r; i++)
            {
                Route(core, released[i], owner, touched);
                released[i] = null!;
            }
            to = owner == core ? Stay : owner;
            return true;
        }
        if (kind == FragmentSteering.Kind.Later)
        {
            if (fragments.TryRecall(key, out int owner))
            {
                to = owner == core ? Stay : owner;
                return true;
            }
            return !fragments.TryHold(frame, key, core, now);
        }
        return true;
    }

    /// <summary>A frame steered outside a device burst (a held fragment): to another core's ring, or kept for this core's next receive.</summary>
    private void Route(int core, PacketBuffer frame, int to, Span<bool> touched)
    {
        if (to == core)
        {
            if (_localCount[core] < _local[core].Length)
            {
                _local[core][_localCount[core]++] = frame;
            }
            else
            {
                frame.Free();
                Count(core, Dropped);
            }
            return;
        }
        PassOn(core, frame, to, touched);
    }

    /// <summary>Hands <paramref name="frame"/> to core <paramref name="to"/>'s ring (dropped and counted when it is full).</summary>
    private void PassOn(int core, PacketBuffer frame, int to, Span<bool> touched)
    {
        if (Ring(core, to).TryEnqueue(frame))
        {
            touched[to] = true;
            Count(core, Redirected);
        }
        else
        {
            frame.Free();
            Count(core, Dropped);
        }
    }

    private void CopyToOthers(int core, PacketBuffer frame, Span<bool> touched)
    {
        for (int to = 0; to < _devices.Length; to++)
        {
            if (to == core)
            {
                continue;
            }
            if (frame.Pool.TryAllocate(out PacketBuffer? copy))
            {
                if (frame.TryCopyTo(copy) && Ring(core, to).TryEnqueue(copy))
                {
                    touched[to] = true;
                    Count(core, Copies);
                    continue;
                }
                copy.Free();
            }
            Count(core, Dropped);
        }
    }

    private void Wake(ReadOnlySpan<bool> touched)
    {
        if (!touched.Contains(true))
        {
            return;
        }
        // Full fence: the rings' tail stores become visible before we read whether their consumers parked (pairs
        // with the exchange of the parked flag in SkiffEngine's back-off, made before it checks for pending work).
        Interlocked.MemoryBarrier();
        for (int to = 0; to < touched.Length; to++)
        {
            if (touched[to])
            {
                _wakers[to]?.Invoke();
            }
        }
    }

    private bool HasIncoming(int core)
    {
        if (_localCount[core] > 0)
        {
            return true;
        }
        for (int from = 0; from < _devices.Length; from++)
        {
            if (from != core && Ring(from, core).Count > 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>One core's view: its own queue's device, plus what the other cores pass to it.</summary>
    private sealed class MeshDevice(QueueMesh mesh, int core) : IDevice, IEngineDeviceSignals, IWaitableDevice, IQueueRedirect
    {
        private bool _activity;

        public DeviceCapabilities Capabilities => mesh._devices[core].Capabilities;

        public PacketPool Pool => mesh._devices[core].Pool;

        public int ReceiveWaitDescriptor => mesh._devices[core] is IWaitableDevice w ? w.ReceiveWaitDescriptor : -1;

        public bool HasBufferedReceive => mesh.HasIncoming(core) || (mesh._devices[core] is IWaitableDevice w && w.HasBufferedReceive);

        public bool TryRedirect(PacketBuffer frame, int target)
        {
            if (target < 0 || target >= mesh.Cores || target == core)
            {
                return false;
            }
            Span<bool> touched = stackalloc bool[mesh.Cores];
            mesh.PassOn(core, frame, target, touched);
            mesh.Wake(touched);
            return true;
        }

        public int ReceiveBurst(Span<PacketBuffer> buffers, Instant now) => mesh.Receive(core, buffers, now, ref _activity);

        public int TransmitBurst(ReadOnlySpan<PacketBuffer> buffers, Instant now) => mesh._devices[core].TransmitBurst(buffers, now);

        public long SteeringDrops => mesh.DropsOn(core) + (mesh._devices[core] is IEngineDeviceSignals inner ? inner.SteeringDrops : 0);

        // A queue device that is itself fed by other threads (a SoftwareRss queue standing in for a NIC) keeps its signals.
        public bool HasPendingWork() =>
            mesh.HasIncoming(core) || (mesh._devices[core] is IEngineDeviceSignals inner && inner.HasPendingWork());

        public bool TakeActivity()
        {
            bool was = _activity;
            _activity = false;
            return (mesh._devices[core] is IEngineDeviceSignals inner && inner.TakeActivity()) | was;
        }

        public override string ToString() => $"core {core} of a {mesh.Cores}-queue device ({mesh._devices[core]})";
    }
}
