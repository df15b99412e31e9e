using System.Diagnostics.Metrics;
using Skiff.Engine.Metrics;
using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Server;

/// <summary>
/// The server's own instruments in Skiff's meter (<see cref="SkiffMetrics.Meter"/>), next to the engine's: what
/// OpenTelemetry, dotnet-counters and <c>skiff stats</c> (its "app" rows) show of the DNS side. Observable: read when a
/// listener collects, from the counters the loops keep (UDP on every core and TCP, summed).
/// </summary>
public static class DnsMetrics
{
    public const string Queries = "skiff.dns.queries";
    public const string Responses = "skiff.dns.responses";
    public const string Truncated = "skiff.dns.truncated";
    public const string Dropped = "skiff.dns.dropped";
    public const string ResultTag = "skiff.dns.result";

    /// <summary>Creates the instruments for <paramref name="host"/>'s counters.</summary>
    public static void Register(DnsServerHost host)
    {
        Meter meter = SkiffMetrics.Meter;
        meter.CreateObservableCounter(Queries, () => host.Counters().Queries, "{query}", "DNS messages looked at, over UDP and TCP.");
        meter.CreateObservableCounter(Responses, () =>
        {
            DnsCounters c = host.Counters();
            return new[]
            {
                Result(c.Answers, "answer"), Result(c.NoData, "nodata"), Result(c.NxDomain, "nxdomain"), Result(c.Refused, "refused"),
                Result(c.NotImp, "notimp"), Result(c.BadVers, "badvers"), Result(c.FormErr, "formerr"),
            };
        }, "{response}", "Responses by outcome: answer (NOERROR with records), nodata, nxdomain, refused, notimp, badvers, formerr.");
        meter.CreateObservableCounter(Truncated, () => host.Counters().Truncated, "{response}", "UDP answers sent with TC because they did not fit.");
        meter.CreateObservableCounter(Dropped, () => host.Counters().Dropped, "{query}", "Messages dropped without an answer (malformed, a response, ...).");
    }

    private static Measurement<long> Result(long value, string result) => new(value, new KeyValuePair<string, object?>(ResultTag, result));
}
