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
        string clientNs, server;
        Process serve;
        if (driver == "tap")
        {
            // Skiff owns .1 behind the TAP; the kernel side of the TAP, in namespace A, gets .2 and runs curl.
            string subnet = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')].Replace("10.99.", "10.97.", StringComparison.Ordinal);
            string link = $"{pair.LinkA}t";
            server = subnet + ".1";
            clientNs = pair.NamespaceA;
            serve = ServeProcess.Start("tap", pair.NamespaceA, link, server + "/24", clientNs, server, ["--http", "80"], onStarted: () =>
                ExternalTools.Run("ip", ["-n", pair.NamespaceA, "addr", "add", subnet + ".2/24", "dev", link]).ExitCode == 0
                && ExternalTools.Run("ip", ["-n", pair.NamespaceA, "link", "set", link, "up"]).ExitCode == 0);
        }
        else
        {
            // AF_XDP on veth cannot see unfinished checksums: the kernel peer finishes them (docs/drivers.md).
            ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, "ethtool", "-K", pair.LinkB, "tx", "off"));
            server = pair.Ipv4A;
            clientNs = pair.NamespaceB;
            serve = ServeProcess.Start(driver, pair.NamespaceA, pair.LinkA, server + "/24", clientNs, server, ["--http", "80"]);
        }
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

    /// <summary>One curl fetching <see cref="Requests"/> pages; a line "status connects" per page.</summary>
    private static string[] Curl(string netns, string server, bool close)
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
