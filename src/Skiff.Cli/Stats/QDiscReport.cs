using System.Globalization;
using System.Text;
using Skiff.Engine.Metrics;
using Skiff.QDisc;

namespace Skiff.Cli.Stats;

/// <summary><c>skiff stats --qdisc</c>: every queue's egress qdiscs as <c>tc -s qdisc show</c> prints them.</summary>
internal static class QDiscReport
{
    public static string Format(StatsReport report)
    {
        StringBuilder text = new();
        foreach (SkiffMetricsSnapshot s in report.Queues.OrderBy(q => q.Queue))
        {
            text.Append(CultureInfo.InvariantCulture, $"queue {s.Queue} {s.Address}\n");
            if (s.QDiscs.Length == 0)
            {
                text.Append("  no qdisc: frames go straight from the TX hooks to the device (start skiff serve with --qdisc or --shape)\n");
                continue;
            }
            foreach (QDiscEntry q in s.QDiscs)
            {
                AppendEntry(text, q);
            }
        }
        return text.ToString();
    }

    /// <summary>One qdisc: tc's header line, its Sent/backlog lines, and codel's and fq_codel's extra counters.</summary>
    public static void AppendEntry(StringBuilder text, QDiscEntry q)
    {
        QDiscStatistics t = q.Statistics;
        text.Append(CultureInfo.InvariantCulture, $"{q.Header}\n");
        text.Append(CultureInfo.InvariantCulture, $" Sent {t.SentBytes} bytes {t.SentPackets} pkt (dropped {t.Dropped}, overlimits {t.Overlimits} requeues {t.Requeues})\n");
        text.Append(CultureInfo.InvariantCulture, $" backlog {t.BacklogBytes}b {t.BacklogPackets}p requeues {t.Requeues}\n");
        if (t.Kind == "fq_codel")
        {
            text.Append(CultureInfo.InvariantCulture,
                $"  drop_overlimit {t.DropOverlimit} new_flow_count {t.NewFlowCount} ecn_mark {t.EcnMarks} codel_drops {t.CodelDrops}\n");
            text.Append(CultureInfo.InvariantCulture, $"  new_flows_len {t.NewFlowsLength} old_flows_len {t.OldFlowsLength}\n");
        }
        else if (t.Kind == "codel")
        {
            text.Append(CultureInfo.InvariantCulture, $"  ecn_mark {t.EcnMarks} codel_drops {t.CodelDrops}\n");
        }
    }
}
