using Skiff.Engine.Metrics;

namespace Skiff.Cli.Stats;

/// <summary>One answer of the stats control socket: the serving process and a snapshot per queue, and the JSON line it came as.</summary>
internal sealed record StatsReport(int Pid, IReadOnlyList<SkiffMetricsSnapshot> Queues, string Json);
