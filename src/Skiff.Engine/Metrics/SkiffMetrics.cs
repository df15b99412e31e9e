using System.Diagnostics.Metrics;
using Skiff.Stack;

namespace Skiff.Engine.Metrics;

/// <summary>
/// The <c>Skiff</c> <see cref="Meter"/> (System.Diagnostics.Metrics: dotnet-counters, OpenTelemetry) and the registry of
/// the loops it reports. Every instrument is observable: when a listener collects, it reads the latest snapshot of each
/// registered <see cref="SkiffMetricsPublisher"/> and reports one measurement per loop, tagged with
/// <see cref="QueueTag"/> and <see cref="AddressTag"/>. <see cref="SkiffEngine"/> registers itself while it runs.
/// </summary>
/// <remarks>Thread-safety: every member is safe from any thread. Collection allocates (on the listener's thread, never the loop's).</remarks>
public static class SkiffMetrics
{
    /// <summary>The meter's name: <c>Skiff</c> (for example <c>dotnet-counters monitor --counters Skiff</c>).</summary>
    public const string MeterName = "Skiff";

    /// <summary>Tag: the device queue (and core index) a loop serves, an int.</summary>
    public const string QueueTag = "skiff.queue";

    /// <summary>Tag: the primary IPv4 address of the loop's interface, a string.</summary>
    public const string AddressTag = "skiff.address";

    /// <summary>Tag of <see cref="Drops"/>: the <see cref="DropReason"/> name, or <see cref="SkiffMetricsSnapshot.SteeringDropCause"/> for frames dropped between cores.</summary>
    public const string DropCauseTag = "skiff.drop.cause";

    /// <summary>Tag of <see cref="TcpOpens"/>: <c>active</c> (connect) or <c>passive</c> (accepted).</summary>
    public const string TcpOpenTag = "skiff.tcp.open";

    /// <summary>Counter, {packet}: frames received.</summary>
    public const string RxPackets = "skiff.rx.packets";

    /// <summary>Counter, By: bytes of the frames received.</summary>
    public const string RxBytes = "skiff.rx.bytes";

    /// <summary>Counter, {packet}: frames transmitted.</summary>
    public const string TxPackets = "skiff.tx.packets";

    /// <summary>Counter, By: bytes of the frames transmitted.</summary>
    public const string TxBytes = "skiff.tx.bytes";

    /// <summary>Counter, {packet}: frames dropped, by <see cref="DropCauseTag"/> (causes with no drop yet are not reported).</summary>
    public const string Drops = "skiff.drops";

    /// <summary>Counter, {connection}: TCP connections opened, by <see cref="TcpOpenTag"/>.</summary>
    public const string TcpOpens = "skiff.tcp.opens";

    /// <summary>Counter, {segment}: TCP segments sent again.</summary>
    public const string TcpRetransmissions = "skiff.tcp.retransmissions";

    /// <summary>UpDownCounter, {connection}: TCP connections now, TIME-WAIT included.</summary>
    public const string TcpConnections = "skiff.tcp.connections";

    /// <summary>UpDownCounter, {frame}: packet pool frames in use.</summary>
    public const string PoolFramesInUse = "skiff.pool.frames.in_use";

    /// <summary>UpDownCounter, {frame}: packet pool frames in all.</summary>
    public const string PoolFramesLimit = "skiff.pool.frames.limit";

    /// <summary>Tag of <see cref="HookVerdicts"/>: "rx" or "tx".</summary>
    public const string HookPointTag = "skiff.hook.point";

    /// <summary>Tag of <see cref="HookVerdicts"/>: the hook's name.</summary>
    public const string HookNameTag = "skiff.hook.name";

    /// <summary>Tag of <see cref="HookVerdicts"/>: pass, drop, tx, redirect or abort.</summary>
    public const string HookVerdictTag = "skiff.hook.verdict";

    /// <summary>Frames each hook gave each verdict (counter).</summary>
    public const string HookVerdicts = "skiff.hook.verdicts";

    /// <summary>Tag of the qdisc instruments: the engine port.</summary>
    public const string QDiscPortTag = "skiff.qdisc.port";

    /// <summary>Tag of the qdisc instruments: the qdisc's handle ("1:" is a port's root).</summary>
    public const string QDiscHandleTag = "skiff.qdisc.handle";

    /// <summary>Tag of the qdisc instruments: the qdisc's kind (pfifo, tbf, fq_codel...).</summary>
    public const string QDiscKindTag = "skiff.qdisc.kind";

    /// <summary>Counter, By: bytes each egress qdisc sent towards the device.</summary>
    public const string QDiscSentBytes = "skiff.qdisc.sent.bytes";

    /// <summary>Counter, {packet}: frames each egress qdisc sent towards the device.</summary>
    public const string QDiscSentPackets = "skiff.qdisc.sent.packets";

    /// <summary>Counter, {packet}: frames each qdisc dropped (limits, AQM).</summary>
    public const string QDiscDropped = "skiff.qdisc.dropped";

    /// <summary>Counter: times a shaper held a frame back for want of tokens.</summary>
    public const string QDiscOverlimits = "skiff.qdisc.overlimits";

    /// <summary>Counter, {packet}: dequeued frames the device refused, kept for the next burst.</summary>
    public const string QDiscRequeues = "skiff.qdisc.requeues";

    /// <summary>UpDownCounter, By: bytes queued in each qdisc.</summary>
    public const string QDiscBacklogBytes = "skiff.qdisc.backlog.bytes";

    /// <summary>UpDownCounter, {packet}: frames queued in each qdisc.</summary>
    public const string QDiscBacklogPackets = "skiff.qdisc.backlog.packets";

    /// <summary>Counter, {packet}: frames codel or fq_codel marked CE instead of dropping.</summary>
    public const string QDiscEcnMarks = "skiff.qdisc.ecn_marks";
    /// <summary>Tag: the port of a loop (<see cref="PortPackets"/>).</summary>
    public const string PortTag = "skiff.port";

    /// <summary>Tag: "rx" or "tx".</summary>
    public const string DirectionTag = "skiff.direction";

    /// <summary>Frames each port of a loop received (rx) and sent (tx).</summary>
    public const string PortPackets = "skiff.port.packets";

    /// <summary>Frames a forwarder sent on towards another port.</summary>
    public const string ForwardedPackets = "skiff.forward.packets";

    /// <summary>Forwarded frames copied between two ports' pools.</summary>
    public const string ForwardCopies = "skiff.forward.copies";

    private static readonly Lock s_registryLock = new();
    private static SkiffMetricsPublisher[] s_publishers = [];
    private static readonly Meter s_meter = CreateMeter();

    // Every instrument CreateMeter made, before an application could add its own to the meter.
    private static readonly HashSet<Instrument> s_engineInstruments = InstrumentsOf(s_meter);

    /// <summary>True for the engine's own instruments; false for those an application created on <see cref="Meter"/>.</summary>
    internal static bool IsEngineInstrument(Instrument instrument) => s_engineInstruments.Contains(instrument);

    private static HashSet<Instrument> InstrumentsOf(Meter meter)
    {
        HashSet<Instrument> found = [];
        using MeterListener listener = new();
        listener.InstrumentPublished = (instrument, _) =>
        {
            if (instrument.Meter == meter)
            {
                found.Add(instrument);
            }
        };
        listener.Start(); // reports every instrument that exists now, synchronously
        return found;
    }

    /// <summary>The meter (created on first use of this type).</summary>
    public static Meter Meter => s_meter;

    /// <summary>The publishers reported now. Any thread.</summary>
    public static IReadOnlyList<SkiffMetricsPublisher> Publishers => Volatile.Read(ref s_publishers);

    /// <summary>Reports <paramref name="publisher"/> until <see cref="Unregister"/>. Registering twice has no effect.</summary>
    public static void Register(SkiffMetricsPublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        _ = s_meter;
        lock (s_registryLock)
        {
            if (Array.IndexOf(s_publishers, publisher) < 0)
            {
                Volatile.Write(ref s_publishers, [.. s_publishers, publisher]);
            }
        }
    }

    /// <summary>Stops reporting <paramref name="publisher"/>. Unregistering one not registered has no effect.</summary>
    public static void Unregister(SkiffMetricsPublisher publisher)
    {
        ArgumentNullException.ThrowIfNull(publisher);
        lock (s_registryLock)
        {
            if (Array.IndexOf(s_publishers, publisher) >= 0)
            {
                Volatile.Write(ref s_publishers, s_publishers.Where(p => p != publisher).ToArray());
            }
        }
    }

    private static Meter CreateMeter()
    {
        Meter meter = new(MeterName, typeof(SkiffMetrics).Assembly.GetName().Version?.ToString());
        meter.CreateObservableCounter(RxPackets, () => Observe(s => s.RxPackets), "{packet}", "Frames received.");
        meter.CreateObservableCounter(RxBytes, () => Observe(s => s.RxBytes), "By", "Bytes of the frames received.");
        meter.CreateObservableCounter(TxPackets, () => Observe(s => s.TxPackets), "{packet}", "Frames transmitted.");
        meter.CreateObservableCounter(TxBytes, () => Observe(s => s.TxBytes), "By", "Bytes of the frames transmitted.");
        meter.CreateObservableCounter(Drops, ObserveDrops, "{packet}", "Frames dropped, by cause.");
        meter.CreateObservableCounter(TcpOpens, ObserveOpens, "{connection}", "TCP connections opened, active (connect) or passive (accepted).");
        meter.CreateObservableCounter(TcpRetransmissions, () => Observe(s => s.TcpRetransmissions), "{segment}", "TCP segments sent again.");
        meter.CreateObservableUpDownCounter(TcpConnections, () => Observe(s => s.TcpConnections), "{connection}", "TCP connections now, TIME-WAIT included.");
        meter.CreateObservableUpDownCounter(PoolFramesInUse, () => Observe(s => s.PoolFramesInUse), "{frame}", "Packet pool frames in use.");
        meter.CreateObservableUpDownCounter(PoolFramesLimit, () => Observe(s => s.PoolFrames), "{frame}", "Packet pool frames in all.");
        meter.CreateObservableCounter(HookVerdicts, ObserveHooks, "{packet}", "Frames each RX or TX hook gave each verdict.");
        meter.CreateObservableCounter(QDiscSentBytes, () => ObserveQDiscs(q => q.SentBytes), "By", "Bytes each egress qdisc sent towards the device.");
        meter.CreateObservableCounter(QDiscSentPackets, () => ObserveQDiscs(q => q.SentPackets), "{packet}", "Frames each egress qdisc sent towards the device.");
        meter.CreateObservableCounter(QDiscDropped, () => ObserveQDiscs(q => q.Dropped), "{packet}", "Frames each qdisc dropped.");
        meter.CreateObservableCounter(QDiscOverlimits, () => ObserveQDiscs(q => q.Overlimits), "{event}", "Times a shaper held a frame back for want of tokens.");
        meter.CreateObservableCounter(QDiscRequeues, () => ObserveQDiscs(q => q.Requeues), "{packet}", "Dequeued frames the device refused.");
        meter.CreateObservableUpDownCounter(QDiscBacklogBytes, () => ObserveQDiscs(q => q.BacklogBytes), "By", "Bytes queued in each qdisc.");
        meter.CreateObservableUpDownCounter(QDiscBacklogPackets, () => ObserveQDiscs(q => q.BacklogPackets), "{packet}", "Frames queued in each qdisc.");
        meter.CreateObservableCounter(QDiscEcnMarks, () => ObserveQDiscs(q => q.EcnMarks), "{packet}", "Frames codel or fq_codel marked CE instead of dropping.");
        meter.CreateObservableCounter(PortPackets, ObservePorts, "{packet}", "Frames each port of a loop received and sent.");
        meter.CreateObservableCounter(ForwardedPackets, () => Observe(s => s.ForwardedPackets), "{packet}", "Frames forwarded towards another port.");
        meter.CreateObservableCounter(ForwardCopies, () => Observe(s => s.ForwardCopies), "{packet}", "Forwarded frames copied between two ports' pools.");
        return meter;
    }

    /// <summary>The latest snapshot of every registered loop that has published at least once.</summary>
    private static List<SkiffMetricsSnapshot> Snapshots()
    {
        SkiffMetricsPublisher[] publishers = Volatile.Read(ref s_publishers);
        List<SkiffMetricsSnapshot> snapshots = new(publishers.Length);
        foreach (SkiffMetricsPublisher p in publishers)
        {
            SkiffMetricsSnapshot s = p.Read();
            if (s.Sequence > 0)
            {
                snapshots.Add(s);
            }
        }
        return snapshots;
    }

    private static KeyValuePair<string, object?>[] Tags(SkiffMetricsSnapshot s, string? name = null, string? value = null) =>
        name is null
            ? [new(QueueTag, s.Queue), new(AddressTag, s.Address)]
            : [new(QueueTag, s.Queue), new(AddressTag, s.Address), new(name, value)];

    private static IEnumerable<Measurement<long>> Observe(Func<SkiffMetricsSnapshot, long> value)
    {
        List<SkiffMetricsSnapshot> snapshots = Snapshots();
        Measurement<long>[] measurements = new Measurement<long>[snapshots.Count];
        for (int i = 0; i < snapshots.Count; i++)
        {
            measurements[i] = new Measurement<long>(value(snapshots[i]), Tags(snapshots[i]));
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveDrops()
    {
        List<Measurement<long>> measurements = [];
        foreach (SkiffMetricsSnapshot s in Snapshots())
        {
            ReadOnlySpan<long> drops = s.DropsByReason;
            for (int i = 0; i < drops.Length; i++)
            {
                if (drops[i] != 0)
                {
                    measurements.Add(new Measurement<long>(drops[i], Tags(s, DropCauseTag, ((DropReason)i).ToString())));
                }
            }
            if (s.SteeringDrops != 0)
            {
                measurements.Add(new Measurement<long>(s.SteeringDrops, Tags(s, DropCauseTag, SkiffMetricsSnapshot.SteeringDropCause)));
            }
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveHooks()
    {
        List<Measurement<long>> measurements = [];
        foreach (SkiffMetricsSnapshot s in Snapshots())
        {
            foreach (HookStatistics h in s.Hooks)
            {
                Add(h, "pass", h.Pass);
                Add(h, "drop", h.Drop);
                Add(h, "tx", h.Tx);
                Add(h, "redirect", h.Redirect);
                Add(h, "abort", h.Abort);
            }

            void Add(HookStatistics h, string verdict, long value) => measurements.Add(new Measurement<long>(value,
                [new(QueueTag, s.Queue), new(AddressTag, s.Address), new(HookPointTag, h.Point), new(HookNameTag, h.Name), new(HookVerdictTag, verdict)]));
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveQDiscs(Func<Skiff.QDisc.QDiscStatistics, long> value)
    {
        List<Measurement<long>> measurements = [];
        foreach (SkiffMetricsSnapshot s in Snapshots())
        {
            foreach (QDiscEntry q in s.QDiscs)
            {
                measurements.Add(new Measurement<long>(value(q.Statistics),
                    [new(QueueTag, s.Queue), new(AddressTag, s.Address), new(QDiscPortTag, q.Port), new(QDiscHandleTag, q.Handle), new(QDiscKindTag, q.Statistics.Kind)]));
            }
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObservePorts()
    {
        List<Measurement<long>> measurements = [];
        foreach (SkiffMetricsSnapshot s in Snapshots())
        {
            foreach (PortStatistics p in s.Ports)
            {
                measurements.Add(new Measurement<long>(p.RxPackets, [new(QueueTag, s.Queue), new(AddressTag, s.Address), new(PortTag, p.Port), new(DirectionTag, "rx")]));
                measurements.Add(new Measurement<long>(p.TxPackets, [new(QueueTag, s.Queue), new(AddressTag, s.Address), new(PortTag, p.Port), new(DirectionTag, "tx")]));
            }
        }
        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveOpens()
    {
        List<Measurement<long>> measurements = [];
        foreach (SkiffMetricsSnapshot s in Snapshots())
        {
            measurements.Add(new Measurement<long>(s.TcpActiveOpens, Tags(s, TcpOpenTag, "active")));
            measurements.Add(new Measurement<long>(s.TcpPassiveOpens, Tags(s, TcpOpenTag, "passive")));
        }
        return measurements;
    }
}
