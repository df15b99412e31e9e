using System.Diagnostics.Metrics;
using Skiff.Engine.Metrics;

namespace Skiff.Samples.LoadBalancer;

/// <summary>
/// The balancer's own instruments in Skiff's meter (<see cref="SkiffMetrics.Meter"/>), next to the engine's: what
/// OpenTelemetry, dotnet-counters and <c>skiff stats</c> (its "app" rows) show of the data path. Observable: read when
/// a listener collects, from the counters the loop keeps (a plain 64-bit read of a field the loop writes).
/// </summary>
public static class LoadBalancerMetrics
{
    public const string Forwarded = "skiff.lb.forwarded";
    public const string ForwardedBytes = "skiff.lb.forwarded.bytes";
    public const string NewFlows = "skiff.lb.flows.new";
    public const string Rescheduled = "skiff.lb.flows.rescheduled";
    public const string Dropped = "skiff.lb.dropped";
    public const string UsableBackends = "skiff.lb.backends.usable";
    public const string BackendTag = "skiff.lb.backend";
    public const string CauseTag = "skiff.lb.cause";

    /// <summary>Creates the instruments for <paramref name="balancer"/>.</summary>
    public static void Register(Balancer balancer)
    {
        ArgumentNullException.ThrowIfNull(balancer);
        Meter meter = SkiffMetrics.Meter;
        BalancerCounters c = balancer.Counters;
        string[] names = [.. balancer.Options.Backends.Select(b => b.ToString())];
        meter.CreateObservableCounter(Forwarded, () => PerBackend(names, c.Forwarded), "{packet}", "Frames sent on to each backend.");
        meter.CreateObservableCounter(ForwardedBytes, () => PerBackend(names, c.ForwardedBytes), "By", "Bytes sent on to each backend, encapsulation included.");
        meter.CreateObservableCounter(NewFlows, () => c.NewFlows, "{flow}", "Flows looked up in the Maglev table.");
        meter.CreateObservableCounter(Rescheduled, () => c.Rescheduled, "{flow}", "Flows moved because their backend was no longer usable.");
        meter.CreateObservableCounter(Dropped, () => new[]
        {
            Cause(c.NoBackend, "no_backend"), Cause(c.Fragments, "fragment"), Cause(c.TooBig, "too_big"),
            Cause(c.Malformed, "malformed"), Cause(c.NoHeadroom, "no_headroom"),
        }, "{packet}", "Frames for the VIP dropped, by cause.");
        meter.CreateObservableGauge(UsableBackends, () => Enumerable.Range(0, names.Length).Count(balancer.IsUsable), "{backend}", "Backends the Maglev table uses now.");
    }

    private static Measurement<long>[] PerBackend(string[] names, long[] values) =>
        [.. names.Select((name, i) => new Measurement<long>(values[i], new KeyValuePair<string, object?>(BackendTag, name)))];

    private static Measurement<long> Cause(long value, string cause) => new(value, new KeyValuePair<string, object?>(CauseTag, cause));
}
