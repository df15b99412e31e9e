using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary>
/// The kernel's curl against <c>skiff serve --http</c> on every driver: many requests over one kept-alive connection,
/// then many with <c>Connection: close</c>, one connection each. AF_PACKET and AF_XDP own an address on a veth end
/// and curl runs in the peer namespace; TAP creates its interface in a namespace whose kernel side is the peer.
/// </summary>
public sealed class ServeHttpDriversTests
{
    private const int Requests = 40;

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Curl_gets_every_page_kept_alive_and_with_connection_close(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string server) = StartServe(pair, driver, ["--http", "80"]);
        using (serve)
        {
            string[] keptAlive = Curl(clientNs, server, close: false);
            Assert.Equal(Requests, keptAlive.Length);
            Assert.All(keptAlive, l => Assert.StartsWith("200 ", l));
            Assert.Equal(1, keptAlive.Sum(l => int.Parse(l.Split(' ')[1]))); // one connection for all of them

            string[] closed = Curl(clientNs, server, close: true);
            Assert.Equal(Requests, closed.Length);
            Assert.All(closed, l => Assert.Equal("200 1", l)); // a new connection for each

            string counters = ServeProcess.Interrupt(serve);
            Assert.Contains($"http: {2 * Requests} requests, {2 * Requests} 2xx, 0 4xx, 0 5xx", counters);
            Assert.Contains($"{Requests + 1} connections accepted", counters);
        }
    }

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Drop_icmp_stops_ping_while_http_keeps_working_and_the_drops_are_counted(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string server) = StartServe(pair, driver, ["--http", "80", "--drop", "icmp"], ready: s => Curl(pair, s, 1));
        using (serve)
        {
            ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ping", "-c", "3", "-i", "0.2", "-W", "1", server));
            Assert.NotEqual(0, ping.ExitCode);
            Assert.Contains("3 packets transmitted, 0 received", ping.Output);
            string[] pages = Curl(clientNs, server, close: false);
            Assert.All(pages, l => Assert.StartsWith("200 ", l));

            string counters = ServeProcess.Interrupt(serve);
            Assert.Contains("ping replies 0", counters);
            Assert.Matches(@"drops: .*Filter [3-9]", counters); // the 3 echo requests (and any ICMP the kernel sent on its own)
            Assert.Matches(@"hook drop: icmp \(queue 0\): pass \d+, drop [3-9]", counters);
        }
    }

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void The_echo_hook_answers_ping_before_the_stack(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string server) = StartServe(pair, driver, ["--http", "80", "--echo-hook"]);
        using (serve)
        {
            ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ping", "-c", "5", "-i", "0.2", "-W", "1", server));
            Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
            Assert.Contains("5 packets transmitted, 5 received", ping.Output);
            string counters = ServeProcess.Interrupt(serve);
            Assert.Contains("ping replies 0", counters); // the stack's ICMP never answered
            Assert.Matches(@"hook echo-responder \(queue 0\): pass \d+, drop 0, tx ([6-9]|\d\d)", counters); // the start-up probe's pings too
        }
    }

    /// <summary>
    /// Two cores on every driver, each with its own device queue where the driver has them (an AF_PACKET fanout group;
    /// AF_XDP queues 0 and 1 of a two-queue veth, over which the kernel peer spreads its flows by its transmit hash), software RSS on TAP. A filter that drops nothing counts what each
    /// core's RX hooks saw: forty short connections from forty source ports reach both cores.
    /// </summary>
    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool")]
    [InlineData("afpacket", "an AF_PACKET fanout group")]
    [InlineData("afxdp", "AF_XDP queues 0-1")]
    [InlineData("tap", "software RSS")]
    public void Two_cores_serve_kept_alive_and_short_connections(string driver, string spreading)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false, queues: 2);
        (Process serve, string clientNs, string server) = StartServe(pair, driver, ["--http", "80", "--cores", "2", "--drop", "udp port 9"]);
        using (serve)
        {
            Assert.All(Curl(clientNs, server, close: false), l => Assert.StartsWith("200 ", l));
            Assert.All(Curl(clientNs, server, close: true), l => Assert.Equal("200 1", l));
            string counters = ServeProcess.Interrupt(serve);
            Assert.Contains($"2 cores ({spreading}", counters);
            Assert.Contains($"http: {2 * Requests} requests, {2 * Requests} 2xx", counters);
            for (int queue = 0; queue < 2; queue++)
            {
                Assert.Matches($@"hook drop: udp port 9 \(queue {queue}\): pass [1-9]\d*, drop 0", counters);
            }
        }
    }

    /// <summary>
    /// Starts serve on <paramref name="driver"/> with <paramref name="services"/> (run by <paramref name="wrapper"/>, if given);
    /// returns it, the client namespace and the server address.
    /// </summary>
    internal static (Process Serve, string ClientNs, string Server) StartServe(NetnsPair pair, string driver, string[] services, Func<string, bool>? ready = null,
        string[]? wrapper = null)
    {
        if (driver == "tap")
        {
            // Skiff owns .1 behind the TAP; the kernel side of the TAP, in namespace A, gets .2 and runs curl.
            string subnet = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')].Replace("10.99.", "10.97.", StringComparison.Ordinal);
            string link = $"{pair.LinkA}t";
            string tapServer = subnet + ".1";
            Process tap = ServeProcess.Start("tap", pair.NamespaceA, link, tapServer + "/24", pair.NamespaceA, tapServer, services, onStarted: () =>
                ExternalTools.Run("ip", ["-n", pair.NamespaceA, "addr", "add", subnet + ".2/24", "dev", link]).ExitCode == 0
                && ExternalTools.Run("ip", ["-n", pair.NamespaceA, "link", "set", link, "up"]).ExitCode == 0,
                ready: ready is null ? null : () => ready(tapServer), wrapper: wrapper);
            return (tap, pair.NamespaceA, tapServer);
        }
        // AF_XDP on veth cannot see unfinished checksums: the kernel peer finishes them (docs/drivers.md).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, "ethtool", "-K", pair.LinkB, "tx", "off"));
        Process serve = ServeProcess.Start(driver, pair.NamespaceA, pair.LinkA, pair.Ipv4A + "/24", pair.NamespaceB, pair.Ipv4A, services,
            ready: ready is null ? null : () => ready(pair.Ipv4A), wrapper: wrapper);
        return (serve, pair.NamespaceB, pair.Ipv4A);
    }

    /// <summary>True when one GET of / from the client side answers 200 within a second (a readiness probe without ping).</summary>
    private static bool Curl(NetnsPair pair, string server, int seconds)
    {
        string ns = server.StartsWith("10.97.", StringComparison.Ordinal) ? pair.NamespaceA : pair.NamespaceB;
        return ExternalTools.Run("ip", NetnsPair.In(ns, "curl", "-s", "-m", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "/dev/null", "-w", "%{http_code}", $"http://{server}/")).Output == "200";
    }

    /// <summary>One curl fetching <see cref="Requests"/> pages; a line "status connects" per page.</summary>
    internal static string[] Curl(string netns, string server, bool close)
    {
        List<string> args = ["curl", "-s", "-m", "60", "-w", "%{http_code} %{num_connects}\\n"];
        if (close)
        {
            args.AddRange(["-H", "Connection: close"]);
        }
        for (int i = 0; i < Requests; i++)
        {
            args.AddRange(["-o", "/dev/null", $"http://{server}/?n={i}"]);
        }
        ExternalTools.Result r = ExternalTools.Run("ip", NetnsPair.In(netns, [.. args]), timeoutSeconds: 90);
        Assert.True(r.ExitCode == 0, $"curl exited {r.ExitCode}: {r.Error}");
        return r.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
