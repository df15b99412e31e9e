using System.Text.RegularExpressions;

namespace Skiff.Kestrel.Tests;

/// <summary>
/// The sample (KestrelHello) on a real driver: Kestrel over Skiff over AF_PACKET or AF_XDP on end A of a veth pair in
/// namespaces the test creates (no kernel address on A), and the kernel's curl in namespace B as the client.
/// </summary>
public sealed partial class VethSampleTests
{
    private const string Port = "8080";
    private const string HelloBody = "Hello, World! (ASP.NET Core on Kestrel over Skiff)\n";
    private const string JsonBody = "{\"message\":\"Hello, World!\",\"server\":\"Kestrel over Skiff\"}";

    [PrivilegedFact("ip", "ethtool", "curl", "kill")]
    public void The_sample_over_AF_PACKET_serves_curl() => ServeCurl("afpacket", "af_packet:");

    [PrivilegedFact("ip", "ethtool", "curl", "kill")]
    public void The_sample_over_AF_XDP_serves_curl() => ServeCurl("afxdp", "af_xdp:");

    private static void ServeCurl(string driver, string banner)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        // The veth checksum trap (TESTING.md): the kernel peer must finish its checksums; no GSO super-frames either.
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off", "tso", "off", "gso", "off"));
        string root = $"http://{pair.Ipv4A}:{Port}";
        using SampleProcess sample = SampleProcess.StartIn(pair.NamespaceA, "--driver", driver, "--iface", pair.LinkA, "--ip", $"{pair.Ipv4A}/24", "--port", Port);
        sample.WaitUntil(() => Curl(pair, 5, ["-m", "1", "-o", "/dev/null", "-w", "%{http_code}", root + "/"]).Output == "200", TimeSpan.FromSeconds(60),
            $"the sample answering {root}/");

        // Keep-alive: 200 requests, / and /json in turn, over one connection.
        const int keepAlive = 200;
        string[] urls = [.. Enumerable.Range(0, keepAlive).Select(i => i % 2 == 0 ? root + "/" : root + "/json")];
        IReadOnlyList<Transfer> kept = Transfers(Curl(pair, 60, ["-m", "50", "-w", "|%{http_code} %{num_connects} %{size_download}|\n", .. urls]));
        Assert.Equal(keepAlive, kept.Count);
        Assert.All(kept, t => Assert.Equal(200, t.Status));
        Assert.Equal(1, kept.Sum(t => t.Connects)); // one connection for all
        Assert.All(kept.Where((_, i) => i % 2 == 0), t => Assert.Equal(HelloBody, t.Body));
        Assert.All(kept.Where((_, i) => i % 2 == 1), t => Assert.Equal(JsonBody, t.Body));

        // Connection: close: Kestrel closes after each response, so every request opens its own connection.
        const int closing = 50;
        IReadOnlyList<Transfer> closed = Transfers(Curl(pair, 60, ["-m", "50", "-H", "Connection: close", "-w", "|%{http_code} %{num_connects} %{size_download}|\n",
            .. urls[..closing]]));
        Assert.Equal(closing, closed.Count);
        Assert.All(closed, t => Assert.Equal((200, 1), (t.Status, t.Connects)));
        Assert.All(closed.Where((_, i) => i % 2 == 1), t => Assert.Equal(JsonBody, t.Body));

        // Four clients at once, 100 requests each on their own connections.
        Task<ExternalTools.Result>[] clients = [.. Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
            Curl(pair, 90, ["-m", "80", "-w", "|%{http_code} %{num_connects} %{size_download}|\n", .. urls[..100]])))];
        Task.WaitAll(clients);
        Assert.All(clients, c =>
        {
            IReadOnlyList<Transfer> t = Transfers(c.Result);
            Assert.Equal(100, t.Count(x => x.Status == 200));
            Assert.Equal(1, t.Sum(x => x.Connects));
        });

        string output = sample.Interrupt();
        Assert.Contains("Kestrel serves over Skiff: " + banner + pair.LinkA, output);
    }

    [PrivilegedFact("ip", "curl", "kill")]
    public void With_driver_kernel_the_same_sample_serves_on_kernel_sockets()
    {
        using NetnsPair pair = new(kernelAddressesOnA: true);
        string root = $"http://{pair.Ipv4A}:{Port}";
        using SampleProcess sample = SampleProcess.StartIn(pair.NamespaceA, "--driver", "kernel", "--ip", $"{pair.Ipv4A}/24", "--port", Port);
        sample.WaitUntil(() => Curl(pair, 5, ["-m", "1", "-o", "/dev/null", "-w", "%{http_code}", root + "/"]).Output == "200", TimeSpan.FromSeconds(60),
            $"the sample answering {root}/");

        IReadOnlyList<Transfer> t = Transfers(Curl(pair, 30, ["-m", "20", "-w", "|%{http_code} %{num_connects} %{size_download}|\n", root + "/", root + "/json"]));
        Assert.Equal([HelloBody, JsonBody], t.Select(x => x.Body));

        Assert.DoesNotContain("Kestrel serves over Skiff", sample.Interrupt());
    }

    [Fact]
    public void Missing_arguments_and_devices_are_one_sentence_and_exit_2()
    {
        ExternalTools.Result none = SampleProcess.Run();
        Assert.Equal(2, none.ExitCode);
        Assert.StartsWith("KestrelHello: Say which driver Skiff opens: Skiff:Driver afxdp, afpacket or tap, with Skiff:InterfaceName and Skiff:Address (on the command line --driver afxdp --iface IF --ip A.B.C.D/NN --port PORT)", none.Error.Trim());
        Assert.Single(none.Error.Trim().Split('\n'));

        ExternalTools.Result noIp = SampleProcess.Run("--driver", "afpacket", "--iface", "eth0");
        Assert.Equal(2, noIp.ExitCode);
        Assert.Contains("KestrelHello: Say which address Skiff owns on the interface: Skiff:Address A.B.C.D/NN (--ip A.B.C.D/NN", noIp.Error);

        ExternalTools.Result noPort = SampleProcess.Run("--driver", "afxdp", "--iface", "eth0", "--ip", "10.0.0.2/24");
        Assert.Equal(2, noPort.ExitCode);
        Assert.Contains("KestrelHello: Say which port Kestrel serves: Skiff:Port (--port PORT", noPort.Error);

        ExternalTools.Result badDriver = SampleProcess.Run("--driver", "dpdk", "--iface", "eth0", "--ip", "10.0.0.2/24");
        Assert.Equal(2, badDriver.ExitCode);
        Assert.Contains("KestrelHello: Skiff:Driver 'dpdk' is not a Skiff driver; choose one of afxdp, afpacket, tap (or kernel: Kestrel's own sockets).", badDriver.Error);

        // A device that cannot be opened (no such interface, or no privilege): the driver's sentence, last on stderr.
        ExternalTools.Result noDevice = SampleProcess.Run("--driver", "afpacket", "--iface", "skiff-no-if0", "--ip", "10.0.0.2/24", "--port", "8080");
        Assert.Equal(2, noDevice.ExitCode);
        string last = noDevice.Error.Trim().Split('\n')[^1];
        Assert.Matches("^KestrelHello: .*(CAP_NET_RAW|skiff-no-if0)", last);
    }

    private static ExternalTools.Result Curl(NetnsPair pair, int timeoutSeconds, string[] args)
    {
        ExternalTools.Result result = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, ["curl", "-s", .. args]), timeoutSeconds);
        return result;
    }

    private sealed record Transfer(string Body, int Status, int Connects);

    /// <summary>Splits curl's output: each body is followed by "|status connects size|\n" (the -w format above).</summary>
    private static IReadOnlyList<Transfer> Transfers(ExternalTools.Result curl)
    {
        Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {curl.Error}");
        List<Transfer> transfers = [];
        int at = 0;
        foreach (Match m in WriteOut().Matches(curl.Output))
        {
            string body = curl.Output[at..m.Index];
            Assert.Equal(int.Parse(m.Groups[3].Value), System.Text.Encoding.UTF8.GetByteCount(body));
            transfers.Add(new Transfer(body, int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value)));
            at = m.Index + m.Length;
        }
        return transfers;
    }

    [GeneratedRegex(@"\|(\d{3}) (\d+) (\d+)\|\n")]
    private static partial Regex WriteOut();
}
