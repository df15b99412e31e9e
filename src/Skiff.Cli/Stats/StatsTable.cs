using System.Globalization;
using System.Text;
using Skiff.Engine.Metrics;
using Skiff.Stack;

namespace Skiff.Cli.Stats;

/// <summary>
/// The table <c>skiff stats</c> prints: a row per counter, per queue a column of totals and one of per-second
/// rates (from the previous report, over the loops' own publish times), and an "all" column when there are
/// several queues.
/// </summary>
internal static class StatsTable
{
    private const int LabelWidth = 26;
    private const int TotalWidth = 16;
    private const int RateWidth = 13;

    private sealed record Row(string Label, Func<SkiffMetricsSnapshot, long> Value, bool HasRate);

    private static readonly Row[] s_traffic =
    [
        new("rx packets", s => s.RxPackets, true),
        new("rx bytes", s => s.RxBytes, true),
        new("tx packets", s => s.TxPackets, true),
        new("tx bytes", s => s.TxBytes, true),
        new("tcp opens active", s => s.TcpActiveOpens, true),
        new("tcp opens passive", s => s.TcpPassiveOpens, true),
        new("tcp retransmissions", s => s.TcpRetransmissions, true),
        new("tcp connections", s => s.TcpConnections, false),
    ];

    /// <summary>The verdict rows of a hook, in <see cref="Skiff.Hooks.HookVerdict"/> order.</summary>
    private static readonly (string Verdict, Func<HookStatistics, long> Value)[] s_verdicts =
        [("pass", h => h.Pass), ("drop", h => h.Drop), ("tx", h => h.Tx), ("redirect", h => h.Redirect), ("abort", h => h.Abort)];

    private static HookStatistics? Hook(SkiffMetricsSnapshot s, string point, string name)
    {
        foreach (HookStatistics h in s.Hooks)
        {
            if (h.Point == point && h.Name == name)
            {
                return h;
            }
        }
        return null;
    }

    /// <summary>Formats <paramref name="current"/>; rates come from <paramref name="previous"/> (null: rates are "-").</summary>
    public static string Format(StatsReport current, StatsReport? previous, string path, DateTimeOffset at)
    {
        List<SkiffMetricsSnapshot> columns = [.. current.Queues.OrderBy(q => q.Queue).ThenBy(q => q.Address, StringComparer.Ordinal)];
        List<SkiffMetricsSnapshot?> before = [.. columns.Select(c => previous?.Queues.FirstOrDefault(p => p.Queue == c.Queue && p.Address == c.Address))];
        bool all = columns.Count > 1;
        StringBuilder text = new();
        text.Append(CultureInfo.InvariantCulture, $"skiff stats: pid {current.Pid}, {path}, {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC\n");
        if (columns.Count == 0)
        {
            text.Append("  no queues are publishing yet\n");
            return text.ToString();
        }
        text.Append(' ', LabelWidth);
        foreach (SkiffMetricsSnapshot c in columns)
        {
            text.Append(Fit($"queue {c.Queue} {c.Address}", TotalWidth + RateWidth));
        }
        if (all)
        {
            text.Append(Fit("all queues", TotalWidth + RateWidth));
        }
        text.Append('\n').Append(' ', LabelWidth);
        for (int i = 0; i < columns.Count + (all ? 1 : 0); i++)
        {
            text.Append("total".PadLeft(TotalWidth)).Append("per s".PadLeft(RateWidth));
        }
        text.Append('\n');
        foreach (Row row in s_traffic)
        {
            AppendRow(text, row.Label, columns, before, row.Value, row.HasRate, all);
        }
        AppendPool(text, columns, all);
        if (columns.Any(c => c.ForwardedPackets != 0 || c.Ports.Length > 1))
        {
            // A forwarder's loop (skiff fwd): what it forwarded and copied, and each port's traffic.
            AppendRow(text, "forwarded", columns, before, s => s.ForwardedPackets, true, all);
            AppendRow(text, "  copied", columns, before, s => s.ForwardCopies, true, all);
            int ports = columns.Max(c => c.Ports.Length);
            for (int p = 0; p < ports; p++)
            {
                int port = p;
                AppendRow(text, $"port {port} rx", columns, before, s => port < s.Ports.Length ? s.Ports[port].RxPackets : 0, true, all);
                AppendRow(text, $"port {port} tx", columns, before, s => port < s.Ports.Length ? s.Ports[port].TxPackets : 0, true, all);
            }
        }
        AppendRow(text, "drops", columns, before, s => s.TotalDrops, true, all);
        for (int reason = 0; reason < SkiffMetricsSnapshot.DropReasonCount; reason++)
        {
            DropReason r = (DropReason)reason;
            if (columns.Any(c => c.Drops(r) != 0))
            {
                string label = r == DropReason.FragmentHeld ? "  FragmentHeld (not lost)" : "  " + r;
                AppendRow(text, label, columns, before, s => s.Drops(r), true, all);
            }
        }
        if (columns.Any(c => c.SteeringDrops != 0))
        {
            AppendRow(text, "  " + SkiffMetricsSnapshot.SteeringDropCause, columns, before, s => s.SteeringDrops, true, all);
        }
        // Hooks, by point and name as every queue runs the same chain; one row per verdict a hook has given.
        foreach ((string point, string name) in columns.SelectMany(c => c.Hooks.ToArray()).Select(h => (h.Point, h.Name)).Distinct())
        {
            text.Append(CultureInfo.InvariantCulture, $"{point} hook {name}\n");
            foreach ((string verdict, Func<HookStatistics, long> value) in s_verdicts)
            {
                if (columns.Any(c => Hook(c, point, name) is HookStatistics h && value(h) != 0))
                {
                    AppendRow(text, "  " + verdict, columns, before, s => Hook(s, point, name) is HookStatistics h ? value(h) : 0, true, all);
                }
            }
        }
        AppendQDiscs(text, columns, before, all);
        AppendApp(text, current.App);
        return text.ToString();
    }

    /// <summary>The application's own instruments (a sample's counters in the Skiff meter): one row each, the process's value.</summary>
    private static void AppendApp(StringBuilder text, IReadOnlyList<AppValue> app)
    {
        if (app.Count == 0)
        {
            return;
        }
        text.Append("app (the process's own instruments in the Skiff meter)\n");
        foreach (AppValue v in app)
        {
            string value = v.Value == Math.Floor(v.Value) && Math.Abs(v.Value) < 1e15
                ? Number((long)v.Value)
                : v.Value.ToString("G6", CultureInfo.InvariantCulture);
            string label = "  " + v.Label;
            text.Append(label.Length < LabelWidth ? label.PadRight(LabelWidth) : label + " ").Append(value.PadLeft(TotalWidth));
            if (v.Unit is { Length: > 0 } unit)
            {
                text.Append(' ').Append(unit);
            }
            text.Append('\n');
        }
    }

    /// <summary>Each egress qdisc (by port and handle, as every queue runs the same tree): tc's counters.</summary>
    private static void AppendQDiscs(StringBuilder text, List<SkiffMetricsSnapshot> columns, List<SkiffMetricsSnapshot?> before, bool all)
    {
        foreach ((int port, string handle, string kind) in columns.SelectMany(c => c.QDiscs.ToArray()).Select(q => (q.Port, q.Handle, q.Statistics.Kind)).Distinct())
        {
            text.Append(CultureInfo.InvariantCulture, $"qdisc {kind} {handle} port {port}\n");
            foreach ((string label, Func<Skiff.QDisc.QDiscStatistics, long> value, bool rate) in s_qdiscRows)
            {
                AppendRow(text, "  " + label, columns, before,
                    s => s.QDiscs.ToArray().FirstOrDefault(q => q.Port == port && q.Handle == handle) is { Statistics.Kind: not null } q ? value(q.Statistics) : 0, rate, all);
            }
        }
    }

    private static readonly (string Label, Func<Skiff.QDisc.QDiscStatistics, long> Value, bool Rate)[] s_qdiscRows =
    [
        ("sent bytes", q => q.SentBytes, true), ("sent packets", q => q.SentPackets, true), ("dropped", q => q.Dropped, true),
        ("overlimits", q => q.Overlimits, true), ("requeues", q => q.Requeues, true), ("backlog bytes", q => q.BacklogBytes, false),
        ("backlog packets", q => q.BacklogPackets, false),
    ];

    private static void AppendRow(StringBuilder text, string label, List<SkiffMetricsSnapshot> columns, List<SkiffMetricsSnapshot?> before,
        Func<SkiffMetricsSnapshot, long> value, bool hasRate, bool all)
    {
        text.Append(label.PadRight(LabelWidth));
        long sum = 0;
        double rateSum = 0;
        bool ratesKnown = hasRate;
        for (int i = 0; i < columns.Count; i++)
        {
            long v = value(columns[i]);
            sum += v;
            text.Append(Number(v).PadLeft(TotalWidth));
            double? rate = hasRate ? Rate(columns[i], before[i], value) : null;
            ratesKnown &= rate.HasValue;
            rateSum += rate ?? 0;
            text.Append((hasRate ? rate is double r ? Number((long)Math.Round(r)) : "-" : "").PadLeft(RateWidth));
        }
        if (all)
        {
            text.Append(Number(sum).PadLeft(TotalWidth));
            text.Append((hasRate ? ratesKnown ? Number((long)Math.Round(rateSum)) : "-" : "").PadLeft(RateWidth));
        }
        text.Append('\n');
    }

    private static void AppendPool(StringBuilder text, List<SkiffMetricsSnapshot> columns, bool all)
    {
        text.Append("pool frames in use".PadRight(LabelWidth));
        foreach (SkiffMetricsSnapshot c in columns)
        {
            text.Append($"{Number(c.PoolFramesInUse)} / {Number(c.PoolFrames)}".PadLeft(TotalWidth)).Append(' ', RateWidth);
        }
        if (all)
        {
            // Loops may share one pool, so the pools are not summed.
            text.Append("".PadLeft(TotalWidth + RateWidth));
        }
        text.Append('\n');
    }

    /// <summary>Per second over the loop's own publish times; null when there is no earlier snapshot of that loop or no time passed.</summary>
    private static double? Rate(SkiffMetricsSnapshot current, SkiffMetricsSnapshot? previous, Func<SkiffMetricsSnapshot, long> value)
    {
        if (previous is null || current.PublishedAtMicros <= previous.PublishedAtMicros)
        {
            return null;
        }
        return (value(current) - value(previous)) * 1e6 / (current.PublishedAtMicros - previous.PublishedAtMicros);
    }

    private static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static string Fit(string s, int width) => (s.Length >= width - 1 ? s[..(width - 2)] : s).PadLeft(width);
}
