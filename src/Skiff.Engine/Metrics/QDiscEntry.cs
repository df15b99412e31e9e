using Skiff.QDisc;

namespace Skiff.Engine.Metrics;

/// <summary>One qdisc's counters in a <see cref="SkiffMetricsSnapshot"/>, as <c>tc -s qdisc</c> lists them.</summary>
/// <param name="Port">The engine port whose egress stage it belongs to.</param>
/// <param name="Handle">Its handle, tc style: "1:" for the root, then "2:", "3:"... depth first.</param>
/// <param name="Parent">Its parent's handle, or "root".</param>
/// <param name="Statistics">Its counters.</param>
public readonly record struct QDiscEntry(int Port, string Handle, string Parent, QDiscStatistics Statistics)
{
    private static readonly string[] s_handles = [.. Enumerable.Range(1, SkiffMetricsSnapshot.MaxQDiscs).Select(i => $"{i}:")];

    /// <summary>The handle of the <paramref name="index"/>-th qdisc of a port (0: the root), without allocating.</summary>
    internal static string HandleOf(int index) => s_handles[index];

    /// <summary>tc's header line: "qdisc fq_codel 1: root" or "qdisc pfifo 2: parent 1:".</summary>
    public string Header => $"qdisc {Statistics.Kind} {Handle} {(Parent == "root" ? "root" : $"parent {Parent}")} (port {Port})";
}
