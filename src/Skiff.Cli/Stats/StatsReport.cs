using Skiff.Engine.Metrics;

namespace Skiff.Cli.Stats;

/// <summary>
/// One answer of the stats control socket: the serving process, a snapshot per queue, the application's own
/// instruments (a sample's counters in the Skiff meter), and the JSON line it came as.
/// </summary>
internal sealed record StatsReport(int Pid, IReadOnlyList<SkiffMetricsSnapshot> Queues, string Json)
{
    /// <summary>The application's observable instruments, as the process read them for this answer; empty for none.</summary>
    public IReadOnlyList<AppValue> App { get; init; } = [];
}

/// <summary>One value of an application instrument: its name, its tags (<c>k=v,k=v</c>, may be empty), value and unit.</summary>
internal sealed record AppValue(string Name, string Tags, double Value, string? Unit)
{
    /// <summary>The row label: <c>name{tags}</c>, or the name alone.</summary>
    public string Label => Tags.Length == 0 ? Name : $"{Name}{{{Tags}}}";
}
