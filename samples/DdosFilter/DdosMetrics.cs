using System.Diagnostics.Metrics;
using Skiff.Engine.Metrics;

namespace DdosFilter;

/// <summary>
/// The filter's own instruments in Skiff's meter (<see cref="SkiffMetrics.Meter"/>, named <c>Skiff</c>), next to the
/// engine's: the hooks' verdicts (<c>skiff.hook.verdicts</c>, one series per rule, the rate limit and the SYN proxy) are
/// already there and in <c>skiff stats</c>; these add what a verdict cannot say. Observable: read when a listener
/// collects, from counters the loop keeps (a plain 64-bit read of a field the loop writes).
/// </summary>
public static class DdosMetrics
{
    public const string SourcesTracked = "skiff.ddos.sources.tracked";
    public const string SourcesCapacity = "skiff.ddos.sources.capacity";
    public const string SourceEvictions = "skiff.ddos.sources.evictions";
    public const string RateLimited = "skiff.ddos.rate_limited";
    public const string SynCookies = "skiff.ddos.syncookies";
    public const string SynProxyFlows = "skiff.ddos.synproxy.flows";
    public const string SynProxyEvents = "skiff.ddos.synproxy.events";
    public const string ResultTag = "skiff.ddos.result";

    /// <summary>Creates the instruments for this process's table and proxy (either may be null: not configured).</summary>
    public static void Register(SourceRateTable? table, SynProxy? proxy)
    {
        Meter meter = SkiffMetrics.Meter;
        if (table is not null)
        {
            meter.CreateObservableGauge(SourcesTracked, () => table.Count, "{source}", "Sources with a token bucket now.");
            meter.CreateObservableGauge(SourcesCapacity, () => (long)table.Capacity, "{source}", "The token-bucket table's fixed size.");
            meter.CreateObservableCounter(SourceEvictions, () => table.Evicted, "{source}", "Sources whose entry went to a new source.");
            meter.CreateObservableCounter(RateLimited, () => table.Limited, "{packet}", "Packets dropped for a source over its rate.");
        }
        if (proxy is not null)
        {
            meter.CreateObservableCounter(SynCookies, () => new[]
            {
                new Measurement<long>(proxy.CookiesSent, new KeyValuePair<string, object?>(ResultTag, "sent")),
                new Measurement<long>(proxy.CookiesAccepted, new KeyValuePair<string, object?>(ResultTag, "accepted")),
                new Measurement<long>(proxy.CookiesRejected, new KeyValuePair<string, object?>(ResultTag, "rejected")),
            }, "{segment}", "SYN cookies sent, and final ACKs accepted or rejected.");
            meter.CreateObservableGauge(SynProxyFlows, () => proxy.Flows, "{flow}", "Proxied connections in the flow table.");
            meter.CreateObservableCounter(SynProxyEvents, () => new[]
            {
                new Measurement<long>(proxy.Handshakes, new KeyValuePair<string, object?>(ResultTag, "handshake")),
                new Measurement<long>(proxy.NoFlow, new KeyValuePair<string, object?>(ResultTag, "no_flow")),
                new Measurement<long>(proxy.Early, new KeyValuePair<string, object?>(ResultTag, "early")),
                new Measurement<long>(proxy.FlowsEvicted, new KeyValuePair<string, object?>(ResultTag, "evicted")),
                new Measurement<long>(proxy.WindowUpdates, new KeyValuePair<string, object?>(ResultTag, "window_update")),
                new Measurement<long>(proxy.WindowUpdatesLost, new KeyValuePair<string, object?>(ResultTag, "window_update_lost")),
            }, "{segment}", "The SYN proxy's handshakes and drops.");
        }
    }
}
