using System.Text.Json;
using Skiff.Stack;

namespace Skiff.Engine.Metrics;

/// <summary>
/// The counters of one loop (one device queue) at one moment of its loop time: what
/// <see cref="SkiffMetricsPublisher"/> publishes and readers copy. Counters only grow while the loop runs;
/// <see cref="TcpConnections"/> and <see cref="PoolFramesInUse"/> are current values.
/// </summary>
/// <remarks>
/// A plain mutable holder so that publishing and reading reuse one instance each and never allocate.
/// Not thread-safe: fill it through <see cref="SkiffMetricsPublisher.CopyTo"/> and read it on one thread.
/// </remarks>
public sealed class SkiffMetricsSnapshot
{
    /// <summary>How many <see cref="DropReason"/> values there are (the length of the drop table).</summary>
    public static readonly int DropReasonCount = Enum.GetValues<DropReason>().Length;

    private readonly long[] _drops = new long[DropReasonCount];
    private readonly HookStatistics[] _hooks = new HookStatistics[MaxHooks];
    private int _hookCount;
    private readonly QDiscEntry[] _qdiscs = new QDiscEntry[MaxQDiscs];
    private int _qdiscCount;

    /// <summary>Most qdiscs (all ports' trees together) a snapshot carries; those beyond are left out of it.</summary>
    public const int MaxQDiscs = 32;

    /// <summary>Every port's egress qdiscs, each tree depth first from its root (tc -s qdisc).</summary>
    public ReadOnlySpan<QDiscEntry> QDiscs => _qdiscs.AsSpan(0, _qdiscCount);

    /// <summary>Most hooks (RX and TX together) a snapshot carries; hooks beyond are left out of it (their counters still count).</summary>
    public const int MaxHooks = 32;

    /// <summary>The device queue (and core index) of the loop; the <c>skiff.queue</c> tag.</summary>
    public int Queue { get; internal set; }

    /// <summary>The interface's primary IPv4 address; the <c>skiff.address</c> tag. Empty before the first publish.</summary>
    public string Address { get; internal set; } = "";

    /// <summary>Publishes so far (1 for the first); 0 means nothing was published yet.</summary>
    public long Sequence { get; internal set; }

    /// <summary>The loop's clock when this was taken, in microseconds (per loop; differences between two snapshots of one loop give rates).</summary>
    public long PublishedAtMicros { get; internal set; }

    /// <summary>Frames received (before any drop).</summary>
    public long RxPackets { get; internal set; }

    /// <summary>Bytes of the frames received (Ethernet header included, no FCS).</summary>
    public long RxBytes { get; internal set; }

    /// <summary>Frames handed to the device.</summary>
    public long TxPackets { get; internal set; }

    /// <summary>Bytes of the frames handed to the device.</summary>
    public long TxBytes { get; internal set; }

    /// <summary>TCP connections opened actively (connect).</summary>
    public long TcpActiveOpens { get; internal set; }

    /// <summary>TCP connections opened passively (accepted SYNs and valid SYN cookies).</summary>
    public long TcpPassiveOpens { get; internal set; }

    /// <summary>TCP segments sent again, by every connection ever (see <see cref="Skiff.Stack.Tcp.TcpLayerCounters.Retransmissions"/>).</summary>
    public long TcpRetransmissions { get; internal set; }

    /// <summary>TCP connections now, in any state (TIME-WAIT included).</summary>
    public long TcpConnections { get; internal set; }

    /// <summary>Frames of the interface's packet pool not in its free list (owned by the stack, the device, the application, or a cache).</summary>
    public long PoolFramesInUse { get; internal set; }

    /// <summary>Frames in the interface's packet pool.</summary>
    public long PoolFrames { get; internal set; }

    /// <summary>Frames dropped for <paramref name="reason"/>.</summary>
    public long Drops(DropReason reason) => _drops[(int)reason];

    /// <summary>The cause name <see cref="SteeringDrops"/> is reported under (meter tag, JSON, <c>skiff stats</c>).</summary>
    public const string SteeringDropCause = "SteeringQueueFull";

    /// <summary>
    /// Frames this loop dropped while handing them to another core (software RSS or a queue mesh: that core's ring
    /// was full, or no frame was free for a copy). Counted by the engine, not the stack, so not a <see cref="DropReason"/>.
    /// </summary>
    public long SteeringDrops { get; internal set; }

    /// <summary>Most ports a snapshot reports one by one (<see cref="Ports"/>).</summary>
    public const int MaxPorts = 16;

    private readonly PortStatistics[] _ports = new PortStatistics[MaxPorts];
    private int _portCount;

    /// <summary>Frames a forwarder (<c>skiff fwd</c>) sent on towards another port.</summary>
    public long ForwardedPackets { get; internal set; }

    /// <summary>Forwarded frames copied between two ports' pools (two AF_XDP UMEMs).</summary>
    public long ForwardCopies { get; internal set; }

    /// <summary>What each port of the loop received and sent (up to <see cref="MaxPorts"/>).</summary>
    public ReadOnlySpan<PortStatistics> Ports => _ports.AsSpan(0, _portCount);

    /// <summary>The drop counters indexed by <see cref="DropReason"/>.</summary>
    public ReadOnlySpan<long> DropsByReason => _drops;

    /// <summary>All drops except <see cref="DropReason.FragmentHeld"/> (a fragment held for reassembly is not lost).</summary>
    public long TotalDrops
    {
        get
        {
            long sum = SteeringDrops;
            for (int i = 0; i < _drops.Length; i++)
            {
                if (i != (int)DropReason.FragmentHeld)
                {
                    sum += _drops[i];
                }
            }
            return sum;
        }
    }

    /// <summary>Fills this snapshot from the interface's counters. The interface's loop thread only; allocates nothing.</summary>
    /// <summary>Every hook's verdict counts, RX hooks first, each chain in its order.</summary>
    public ReadOnlySpan<HookStatistics> Hooks => _hooks.AsSpan(0, _hookCount);

    /// <summary>Frames and bytes as the engine's ports counted them: received from the devices before any hook or stack drop, and accepted by the devices for transmit.</summary>
    internal void CapturePorts(SkiffEngine engine)
    {
        long rx = 0, rxBytes = 0, tx = 0, txBytes = 0;
        for (int i = 0; i < engine.PortCount; i++)
        {
            Pipeline.PortCounters port = engine.PortCountersOf(i);
            rx += port.RxFrames;
            rxBytes += port.RxBytes;
            tx += port.TxFrames;
            txBytes += port.TxBytes;
            if (i < MaxPorts)
            {
                _ports[i] = new PortStatistics(i, port.RxFrames, port.RxBytes, port.TxFrames, port.TxBytes);
            }
        }
        _portCount = Math.Min(engine.PortCount, MaxPorts);
        RxPackets = rx;
        RxBytes = rxBytes;
        TxPackets = tx;
        TxBytes = txBytes;
    }

    /// <summary>Copies the counters of every port's qdisc tree. The loop thread; allocates nothing.</summary>
    internal void CaptureQDiscs(SkiffEngine engine)
    {
        _qdiscCount = 0;
        for (int port = 0; port < engine.PortCount; port++)
        {
            if (engine.EgressQDiscOf(port) is Skiff.QDisc.QueueDiscipline root)
            {
                int next = 0;
                AddQDisc(port, root, "root", ref next);
            }
        }
    }

    private void AddQDisc(int port, Skiff.QDisc.QueueDiscipline q, string parent, ref int next)
    {
        if (_qdiscCount == MaxQDiscs)
        {
            return;
        }
        string handle = QDiscEntry.HandleOf(next++);
        _qdiscs[_qdiscCount++] = new QDiscEntry(port, handle, parent, q.Statistics);
        for (int i = 0; i < q.ChildCount && next < MaxQDiscs; i++)
        {
            AddQDisc(port, q.Child(i), handle, ref next);
        }
    }

    internal void CaptureHooks(Skiff.Hooks.HookChain rx, Skiff.Hooks.HookChain tx)
    {
        _hookCount = 0;
        AddHooks("rx", rx);
        AddHooks("tx", tx);
    }

    private void AddHooks(string point, Skiff.Hooks.HookChain chain)
    {
        foreach (Skiff.Hooks.HookRunner r in chain.Runners)
        {
            if (_hookCount == MaxHooks)
            {
                return;
            }
            Skiff.Hooks.HookCounters c = r.Counters;
            _hooks[_hookCount++] = new HookStatistics(point, r.Name, c[Skiff.Hooks.HookVerdict.Pass], c[Skiff.Hooks.HookVerdict.Drop],
                c[Skiff.Hooks.HookVerdict.Tx], c[Skiff.Hooks.HookVerdict.Redirect], c[Skiff.Hooks.HookVerdict.Abort]);
        }
    }

    internal void Capture(Interface iface, Instant now)
    {
        InterfaceCounters c = iface.Counters;
        PublishedAtMicros = now.TotalMicros;
        RxPackets = c.RxFrames;
        RxBytes = c.RxBytes;
        TxPackets = c.TxFrames;
        TxBytes = c.TxBytes;
        for (int i = 0; i < _drops.Length; i++)
        {
            _drops[i] = c.Drops((DropReason)i);
        }
        Skiff.Stack.Tcp.TcpLayerCounters tcp = iface.Tcp.Counters;
        TcpActiveOpens = tcp.ActiveOpens;
        TcpPassiveOpens = tcp.PassiveOpens;
        TcpRetransmissions = tcp.Retransmissions;
        TcpConnections = iface.Tcp.ConnectionCount;
        PoolFramesInUse = iface.Pool.InUse;
        PoolFrames = iface.Pool.FrameCount;
        ForwardedPackets = c.ForwardedFrames;
        ForwardCopies = c.ForwardCopies;
    }

    /// <summary>Copies every value into <paramref name="destination"/>. Allocates nothing.</summary>
    public void CopyTo(SkiffMetricsSnapshot destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.Queue = Queue;
        destination.Address = Address;
        destination.Sequence = Sequence;
        destination.PublishedAtMicros = PublishedAtMicros;
        destination.RxPackets = RxPackets;
        destination.RxBytes = RxBytes;
        destination.TxPackets = TxPackets;
        destination.TxBytes = TxBytes;
        destination.TcpActiveOpens = TcpActiveOpens;
        destination.TcpPassiveOpens = TcpPassiveOpens;
        destination.TcpRetransmissions = TcpRetransmissions;
        destination.TcpConnections = TcpConnections;
        destination.PoolFramesInUse = PoolFramesInUse;
        destination.PoolFrames = PoolFrames;
        destination.SteeringDrops = SteeringDrops;
        destination.ForwardedPackets = ForwardedPackets;
        destination.ForwardCopies = ForwardCopies;
        _ports.AsSpan(0, _portCount).CopyTo(destination._ports);
        destination._portCount = _portCount;
        _drops.AsSpan().CopyTo(destination._drops);
        _hooks.AsSpan(0, _hookCount).CopyTo(destination._hooks);
        destination._hookCount = _hookCount;
        _qdiscs.AsSpan(0, _qdiscCount).CopyTo(destination._qdiscs);
        destination._qdiscCount = _qdiscCount;
    }

    /// <summary>Writes this snapshot as a JSON object (the <c>skiff stats</c> control socket's format; drops by cause name, non-zero only).</summary>
    public void WriteJson(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteNumber("queue", Queue);
        writer.WriteString("address", Address);
        writer.WriteNumber("sequence", Sequence);
        writer.WriteNumber("publishedAtMicros", PublishedAtMicros);
        writer.WriteNumber("rxPackets", RxPackets);
        writer.WriteNumber("rxBytes", RxBytes);
        writer.WriteNumber("txPackets", TxPackets);
        writer.WriteNumber("txBytes", TxBytes);
        writer.WriteNumber("tcpActiveOpens", TcpActiveOpens);
        writer.WriteNumber("tcpPassiveOpens", TcpPassiveOpens);
        writer.WriteNumber("tcpRetransmissions", TcpRetransmissions);
        writer.WriteNumber("tcpConnections", TcpConnections);
        writer.WriteNumber("poolFramesInUse", PoolFramesInUse);
        writer.WriteNumber("poolFrames", PoolFrames);
        writer.WriteNumber("forwardedPackets", ForwardedPackets);
        writer.WriteNumber("forwardCopies", ForwardCopies);
        writer.WriteStartArray("ports");
        foreach (PortStatistics p in Ports)
        {
            writer.WriteStartObject();
            writer.WriteNumber("port", p.Port);
            writer.WriteNumber("rxPackets", p.RxPackets);
            writer.WriteNumber("rxBytes", p.RxBytes);
            writer.WriteNumber("txPackets", p.TxPackets);
            writer.WriteNumber("txBytes", p.TxBytes);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartObject("drops");
        for (int i = 0; i < _drops.Length; i++)
        {
            if (_drops[i] != 0)
            {
                writer.WriteNumber(((DropReason)i).ToString(), _drops[i]);
            }
        }
        if (SteeringDrops != 0)
        {
            writer.WriteNumber(SteeringDropCause, SteeringDrops);
        }
        writer.WriteEndObject();
        writer.WriteStartArray("hooks");
        foreach (HookStatistics h in Hooks)
        {
            writer.WriteStartObject();
            writer.WriteString("point", h.Point);
            writer.WriteString("name", h.Name);
            writer.WriteNumber("pass", h.Pass);
            writer.WriteNumber("drop", h.Drop);
            writer.WriteNumber("tx", h.Tx);
            writer.WriteNumber("redirect", h.Redirect);
            writer.WriteNumber("abort", h.Abort);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("qdiscs");
        foreach (QDiscEntry q in QDiscs)
        {
            Skiff.QDisc.QDiscStatistics t = q.Statistics;
            writer.WriteStartObject();
            writer.WriteNumber("port", q.Port);
            writer.WriteString("handle", q.Handle);
            writer.WriteString("parent", q.Parent);
            writer.WriteString("kind", t.Kind);
            writer.WriteNumber("sentBytes", t.SentBytes);
            writer.WriteNumber("sentPackets", t.SentPackets);
            writer.WriteNumber("dropped", t.Dropped);
            writer.WriteNumber("overlimits", t.Overlimits);
            writer.WriteNumber("requeues", t.Requeues);
            writer.WriteNumber("backlogBytes", t.BacklogBytes);
            writer.WriteNumber("backlogPackets", t.BacklogPackets);
            writer.WriteNumber("ecnMarks", t.EcnMarks);
            writer.WriteNumber("codelDrops", t.CodelDrops);
            writer.WriteNumber("newFlowCount", t.NewFlowCount);
            writer.WriteNumber("dropOverlimit", t.DropOverlimit);
            writer.WriteNumber("newFlowsLength", t.NewFlowsLength);
            writer.WriteNumber("oldFlowsLength", t.OldFlowsLength);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Reads a snapshot written by <see cref="WriteJson"/>. Returns null when <paramref name="element"/> is not such an
    /// object (a missing or mistyped field). Drop causes this build does not know are ignored.
    /// </summary>
    public static SkiffMetricsSnapshot? ReadJson(JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        SkiffMetricsSnapshot s = new();
        if (!TryInt64(element, "queue", out long queue) || !element.TryGetProperty("address", out JsonElement address) || address.ValueKind != JsonValueKind.String
            || !TryInt64(element, "sequence", out long sequence) || !TryInt64(element, "publishedAtMicros", out long at)
            || !TryInt64(element, "rxPackets", out long rxPackets) || !TryInt64(element, "rxBytes", out long rxBytes)
            || !TryInt64(element, "txPackets", out long txPackets) || !TryInt64(element, "txBytes", out long txBytes)
            || !TryInt64(element, "tcpActiveOpens", out long active) || !TryInt64(element, "tcpPassiveOpens", out long passive)
            || !TryInt64(element, "tcpRetransmissions", out long retransmissions) || !TryInt64(element, "tcpConnections", out long connections)
            || !TryInt64(element, "poolFramesInUse", out long inUse) || !TryInt64(element, "poolFrames", out long frames)
            || !element.TryGetProperty("drops", out JsonElement drops) || drops.ValueKind != JsonValueKind.Object
            || queue is < 0 or > int.MaxValue)
        {
            return null;
        }
        s.Queue = (int)queue;
        s.Address = address.GetString()!;
        s.Sequence = sequence;
        s.PublishedAtMicros = at;
        s.RxPackets = rxPackets;
        s.RxBytes = rxBytes;
        s.TxPackets = txPackets;
        s.TxBytes = txBytes;
        s.TcpActiveOpens = active;
        s.TcpPassiveOpens = passive;
        s.TcpRetransmissions = retransmissions;
        s.TcpConnections = connections;
        s.PoolFramesInUse = inUse;
        s.PoolFrames = frames;
        foreach (JsonProperty drop in drops.EnumerateObject())
        {
            if (drop.Name == SteeringDropCause && drop.Value.TryGetInt64(out long steering))
            {
                s.SteeringDrops = steering;
            }
            else if (Enum.TryParse(drop.Name, out DropReason reason) && Enum.IsDefined(reason) && drop.Value.TryGetInt64(out long count))
            {
                s._drops[(int)reason] = count;
            }
        }
        // Fields added with forwarding (issue 17) are optional, so older servers' snapshots still read.
        s.ForwardedPackets = TryInt64(element, "forwardedPackets", out long forwarded) ? forwarded : 0;
        s.ForwardCopies = TryInt64(element, "forwardCopies", out long copies) ? copies : 0;
        if (element.TryGetProperty("ports", out JsonElement ports) && ports.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement p in ports.EnumerateArray())
            {
                if (s._portCount < MaxPorts && p.ValueKind == JsonValueKind.Object && TryInt64(p, "port", out long port) && port is >= 0 and <= ushort.MaxValue
                    && TryInt64(p, "rxPackets", out long prx) && TryInt64(p, "rxBytes", out long prxBytes)
                    && TryInt64(p, "txPackets", out long ptx) && TryInt64(p, "txBytes", out long ptxBytes))
                {
                    s._ports[s._portCount++] = new PortStatistics((int)port, prx, prxBytes, ptx, ptxBytes);
                }
            }
        }
        if (element.TryGetProperty("hooks", out JsonElement hooks) && hooks.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement h in hooks.EnumerateArray())
            {
                if (s._hookCount < MaxHooks && h.ValueKind == JsonValueKind.Object
                    && h.TryGetProperty("point", out JsonElement point) && point.ValueKind == JsonValueKind.String
                    && h.TryGetProperty("name", out JsonElement name) && name.ValueKind == JsonValueKind.String
                    && TryInt64(h, "pass", out long pass) && TryInt64(h, "drop", out long drop) && TryInt64(h, "tx", out long tx)
                    && TryInt64(h, "redirect", out long redirect) && TryInt64(h, "abort", out long abort))
                {
                    s._hooks[s._hookCount++] = new HookStatistics(point.GetString()!, name.GetString()!, pass, drop, tx, redirect, abort);
                }
            }
        }
        if (element.TryGetProperty("qdiscs", out JsonElement qdiscs) && qdiscs.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement q in qdiscs.EnumerateArray())
            {
                if (s._qdiscCount < MaxQDiscs && q.ValueKind == JsonValueKind.Object && TryInt64(q, "port", out long port)
                    && TryString(q, "handle", out string handle) && TryString(q, "parent", out string parent) && TryString(q, "kind", out string kind)
                    && TryInt64(q, "sentBytes", out long sentBytes) && TryInt64(q, "sentPackets", out long sentPackets)
                    && TryInt64(q, "dropped", out long dropped) && TryInt64(q, "overlimits", out long overlimits) && TryInt64(q, "requeues", out long requeues)
                    && TryInt64(q, "backlogBytes", out long backlogBytes) && TryInt64(q, "backlogPackets", out long backlogPackets))
                {
                    TryInt64(q, "ecnMarks", out long ecn);
                    TryInt64(q, "codelDrops", out long codelDrops);
                    TryInt64(q, "newFlowCount", out long newFlows);
                    TryInt64(q, "dropOverlimit", out long overlimit);
                    TryInt64(q, "newFlowsLength", out long newLength);
                    TryInt64(q, "oldFlowsLength", out long oldLength);
                    s._qdiscs[s._qdiscCount++] = new QDiscEntry((int)port, handle, parent,
                        new Skiff.QDisc.QDiscStatistics(kind, sentBytes, sentPackets, dropped, overlimits, requeues, backlogBytes, backlogPackets)
                        {
                            EcnMarks = ecn, CodelDrops = codelDrops, NewFlowCount = newFlows, DropOverlimit = overlimit,
                            NewFlowsLength = newLength, OldFlowsLength = oldLength,
                        });
                }
            }
        }
        return s;
    }

    private static bool TryString(JsonElement element, string name, out string value)
    {
        value = "";
        if (element.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String)
        {
            value = e.GetString()!;
            return true;
        }
        return false;
    }

    private static bool TryInt64(JsonElement element, string name, out long value)
    {
        value = 0;
        return element.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out value);
    }
}
