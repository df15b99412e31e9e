using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary>
/// IPv6 phase 1 (issue 16) against the kernel on every driver: <c>skiff serve --ip6</c> passes DAD, the kernel's
/// <c>ping -6</c> reaches its global and link-local addresses, the kernel's neighbour table holds Skiff REACHABLE (a
/// solicited advertisement with the right flags), and ndisc6 gets Skiff's MAC in a Neighbor Advertisement.
/// </summary>
public sealed class ServeIpv6DriversTests
{
    private const string SkiffMac = "02:00:00:5e:01:01"; // TAP: Skiff's own MAC behind the TAP, so its link-local is known

    [PrivilegedTheory("ip", "ping", "kill", "ethtool", "ndisc6", "sysctl")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Ping6_reaches_both_addresses_the_kernel_marks_skiff_reachable_and_ndisc6_gets_an_advertisement(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string clientLink, string global, string mac) = StartServe(pair, driver);
        using (serve)
        {
            // DAD takes a second; then the kernel resolves Skiff with a multicast solicitation and pings.
            Assert.True(WaitForPing(clientNs, global), "ping -6 to Skiff's global address never succeeded within 20 s");
            ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", global));
            Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
            Assert.Contains("3 packets transmitted, 3 received", ping.Output);

            string neigh = ExternalTools.Check("ip", ["-n", clientNs, "-6", "neigh", "show", "dev", clientLink]).Output;
            Assert.Matches($@"(?im)^{global.Replace(".", "\\.", StringComparison.Ordinal)} lladdr {mac} (router )?(REACHABLE|DELAY|PROBE)", neigh);
            Assert.Contains("REACHABLE", neigh, StringComparison.Ordinal);

            string linkLocal = LinkLocalOf(mac);
            ExternalTools.Result ll = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ping", "-6", "-c", "3", "-i", "0.2", "-W", "2", $"{linkLocal}%{clientLink}"));
            Assert.True(ll.ExitCode == 0, ll.Output + ll.Error);
            Assert.Contains("3 packets transmitted, 3 received", ll.Output);

            ExternalTools.Result nd = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ndisc6", "-1", "-r", "3", "-w", "1000", global, clientLink));
            Assert.True(nd.ExitCode == 0, nd.Output + nd.Error);
            Assert.Contains($"Target link-layer address: {mac}", nd.Output, StringComparison.OrdinalIgnoreCase);

            string counters = ServeProcess.Interrupt(serve);
            Assert.DoesNotContain("duplicate address", counters, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>fe80::/64 with the modified EUI-64 of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    private static string LinkLocalOf(string mac)
    {
        byte[] m = Convert.FromHexString(mac.Replace(":", "", StringComparison.Ordinal));
        return $"fe80::{m[0] ^ 2:x2}{m[1]:x2}:{m[2]:x2}ff:fe{m[3]:x2}:{m[4]:x2}{m[5]:x2}";
    }

    private static bool WaitForPing(string ns, string address)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (ExternalTools.Run("ip", NetnsPair.In(ns, "ping", "-6", "-c", "1", "-W", "1", address)).ExitCode == 0)
            {
                return true;
            }
            Thread.Sleep(200);
        }
        return false;
    }

    private static (Process Serve, string ClientNs, string ClientLink, string Global, string Mac) StartServe(NetnsPair pair, string driver)
    {
        if (driver == "tap")
        {
            // Skiff owns .1 and fd00:97::1 behind the TAP; the kernel side of the TAP, in namespace A, is the peer.
            string subnet = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')].Replace("10.99.", "10.97.", StringComparison.Ordinal);
            string link = $"{pair.LinkA}t";
            string global = "fd00:97::1";
            Process tap = ServeProcess.Start("tap", pair.NamespaceA, link, subnet + ".1/24", pair.NamespaceA, subnet + ".1", ["--ip6", global + "/64", "--mac", SkiffMac],
                onStarted: () =>
                    ExternalTools.Run("ip", ["-n", pair.NamespaceA, "addr", "add", subnet + ".2/24", "dev", link]).ExitCode == 0
                    && ExternalTools.Run("ip", ["-n", pair.NamespaceA, "addr", "add", "fd00:97::2/64", "dev", link, "nodad"]).ExitCode == 0
                    && ExternalTools.Run("ip", ["-n", pair.NamespaceA, "link", "set", link, "up"]).ExitCode == 0);
            return (tap, pair.NamespaceA, link, global, SkiffMac);
        }
        // The kernel keeps no IPv6 on Skiff's end: it would answer for the same link-local address (the same MAC).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "sysctl", "-qw", $"net.ipv6.conf.{pair.LinkA}.disable_ipv6=1"));
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, "ethtool", "-K", pair.LinkB, "tx", "off"));
        Process serve = ServeProcess.Start(driver, pair.NamespaceA, pair.LinkA, pair.Ipv4A + "/24", pair.NamespaceB, pair.Ipv4A, ["--ip6", pair.Ipv6A + "/64"]);
        return (serve, pair.NamespaceB, pair.LinkB, pair.Ipv6A, NetnsPair.MacOf(pair.NamespaceA, pair.LinkA));
    }
}
