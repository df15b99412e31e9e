using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Cli.Demo;
using Skiff.Cli.Serve;

namespace Skiff.Cli.Tests;

/// <summary>
/// TCP and UDP over IPv6 (issue 16 phase 2) against the kernel over veth: <c>skiff serve --ip V4/24 --ip V6/64</c>
/// (dual-stack) echoes a kernel UDP client's datagrams over IPv6, serves curl -6 many short connections and a large
/// body whose SHA-256 matches, and curl over IPv4 at the same time; <c>skiff fetch http://[V6]/</c> from a second Skiff
/// stack gets the same bytes.
/// </summary>
public sealed class ServeIpv6TransportTests
{
    private const int LargeBytes = 16 << 20;

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool", "sysctl", "python3")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    public void Curl6_udp6_and_skiff_fetch_reach_a_dual_stack_serve(string driver)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        // The kernel keeps no IPv6 on Skiff's end: it would answer for the same link-local address (the same MAC).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "sysctl", "-qw", $"net.ipv6.conf.{pair.LinkA}.disable_ipv6=1"));
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, "ethtool", "-K", pair.LinkB, "tx", "off"));
        using Process serve = ServeProcess.Start(driver, pair.NamespaceA, pair.LinkA, pair.Ipv4A + "/24", pair.NamespaceB, pair.Ipv4A,
            ["--ip", pair.Ipv6A + "/64", "--http", "80", "--udp-echo", "7"]);
        string url = $"http://[{pair.Ipv6A}]";
        Assert.True(WaitFor(() => ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "ping", "-6", "-c", "1", "-W", "1", pair.Ipv6A)).ExitCode == 0),
            "ping -6 to Skiff never succeeded within 20 s (DAD takes a second)");

        // UDP echo from the kernel's socket over IPv6: each datagram comes back whole from Skiff's address and port.
        const string udpClient = """
            import socket, sys
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.settimeout(2)
            ok = 0
            for i in range(20):
                data = (b"skiff-v6-%d-" % i) * 50
                for attempt in range(3):
                    s.sendto(data, (sys.argv[1], 7))
                    try:
                        got, peer = s.recvfrom(4096)
                    except socket.timeout:
                        continue
                    if got == data and peer[0] == sys.argv[1] and peer[1] == 7:
                        ok += 1
                    break
            print("echoed", ok)
            """;
        ExternalTools.Result udp = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "python3", "-c", udpClient, pair.Ipv6A), timeoutSeconds: 60);
        Assert.True(udp.ExitCode == 0, udp.Output + udp.Error);
        Assert.Equal("echoed 20", udp.Output.Trim());

        // Twenty short connections over IPv6 (one each), then one over IPv4 to the same listener.
        List<string> args = ["curl", "-6", "-g", "-s", "-m", "60", "-w", "%{http_code} %{num_connects}\\n", "-H", "Connection: close"];
        for (int i = 0; i < 20; i++)
        {
            args.AddRange(["-o", "/dev/null", $"{url}/?n={i}"]);
        }
        ExternalTools.Result pages = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, [.. args]), timeoutSeconds: 90);
        Assert.True(pages.ExitCode == 0, $"curl -6 exited {pages.ExitCode}: {pages.Error}");
        string[] lines = pages.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.All(lines, l => Assert.Equal("200 1", l));
        ExternalTools.Result v4 = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "curl", "-s", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", $"http://{pair.Ipv4A}/"));
        Assert.Equal("200", v4.Output);

        // A large body over IPv6, checked by SHA-256.
        byte[] expected = new byte[LargeBytes];
        new SeededStream(HttpConnection.BytesSeed).Fill(expected);
        string expectedHash = Convert.ToHexStringLower(SHA256.HashData(expected));
        string body = Path.GetTempFileName();
        try
        {
            ExternalTools.Result large = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "curl", "-6", "-g", "-s", "-m", "120", "-w", "%{http_code} %{size_download}",
                "-o", body, $"{url}/bytes/{LargeBytes}"), timeoutSeconds: 150);
            Assert.True(large.ExitCode == 0, $"curl -6 exited {large.ExitCode}: {large.Error}");
            Assert.Equal($"200 {LargeBytes}", large.Output);
            Assert.Equal(expectedHash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(body))));
        }
        finally
        {
            File.Delete(body);
        }

        // skiff fetch from a second stack on B's end, once the kernel there has no IPv6 (it would own the same link-local).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, "sysctl", "-qw", $"net.ipv6.conf.{pair.LinkB}.disable_ipv6=1"));
        string clientIp = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')] + ".3/24";
        CliRunner.Result fetch = NamespaceThread.Run(pair.NamespaceB, () => CliRunner.Run(
            "fetch", "--driver", "afpacket", "--iface", pair.LinkB, "--ip", clientIp, "--ip", "fd00:99::3/64", $"{url}/bytes/1048576"));
        Assert.True(fetch.ExitCode == 0, fetch.Output + fetch.Error);
        Assert.Contains($"sha256: {Convert.ToHexStringLower(SHA256.HashData(expected.AsSpan(0, 1 << 20)))}", fetch.Output);

        string counters = ServeProcess.Interrupt(serve);
        Assert.Contains("http: 23 requests, 23 2xx", counters);
        Assert.DoesNotContain("duplicate address", counters, StringComparison.OrdinalIgnoreCase);
    }

    private static bool WaitFor(Func<bool> condition)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (condition())
            {
                return true;
            }
            Thread.Sleep(200);
        }
        return false;
    }
}
