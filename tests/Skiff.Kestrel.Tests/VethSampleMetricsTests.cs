using System.Text.RegularExpressions;

namespace Skiff.Kestrel.Tests;

/// <summary>
/// The sample's metrics, wired as ASP.NET Core users wire them: OpenTelemetry collects the <c>Skiff</c> meter beside
/// ASP.NET Core's and Kestrel's, and Prometheus scrapes them from <c>GET /metrics</c> while traffic flows over Skiff.
/// </summary>
public sealed partial class VethSampleTests
{
    [PrivilegedFact("ip", "ethtool", "curl", "kill")]
    public void The_sample_exports_the_Skiff_meter_and_aspnetcore_meters_to_prometheus()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off", "tso", "off", "gso", "off"));
        string root = $"http://{pair.Ipv4A}:{Port}";
        using SampleProcess sample = SampleProcess.StartIn(pair.NamespaceA, "--driver", "afpacket", "--iface", pair.LinkA, "--ip", $"{pair.Ipv4A}/24", "--port", Port);
        sample.WaitUntil(() => Curl(pair, 5, ["-m", "1", "-o", "/dev/null", "-w", "%{http_code}", root + "/"]).Output == "200", TimeSpan.FromSeconds(60),
            $"the sample answering {root}/");
        Assert.Equal(0, Curl(pair, 30, ["-m", "20", "-s", "-o", "/dev/null", .. Enumerable.Repeat(root + "/", 20)]).ExitCode);

        // The Skiff meter's observable counters are read at scrape time from the loop's last published snapshot.
        string metrics = "";
        sample.WaitUntil(() =>
        {
            metrics = Curl(pair, 10, ["-m", "5", "-s", root + "/metrics"]).Output;
            return Value(metrics, "skiff_rx_packets") > 20 && Value(metrics, "skiff_tcp_opens") > 0;
        }, TimeSpan.FromSeconds(30), "skiff_rx_packets and skiff_tcp_opens counting in /metrics");
        Assert.True(Value(metrics, "skiff_tx_packets") > 20, metrics);
        Assert.True(Value(metrics, "http_server_request_duration_seconds_count") >= 20, metrics); // ASP.NET Core's hosting meter
        Assert.Matches(new Regex(@"^kestrel_\w+", RegexOptions.Multiline), metrics); // Kestrel's own meter
        sample.Interrupt();
    }

    /// <summary>The sum of every sample of <paramref name="name"/> (with or without Prometheus's _total suffix) in an exposition; -1 when absent.</summary>
    private static double Value(string exposition, string name)
    {
        double sum = -1;
        foreach (Match m in Regex.Matches(exposition, $@"^{name}(?:_total)?(?:\{{[^}}]*\}})? ([0-9.eE+-]+)", RegexOptions.Multiline))
        {
            sum = Math.Max(sum, 0) + double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        }
        return sum;
    }
}
