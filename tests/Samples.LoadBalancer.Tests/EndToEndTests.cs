using System.Diagnostics;

namespace Samples.LoadBalancer.Tests;

/// <summary>
/// The load balancer between real kernels: curl and a UDP client in one namespace, Skiff in another, three kernel
/// backends behind it (LbTopology). The judges are the kernels: the backends accept the forwarded packets only with
/// valid checksums, and the client's TCP only completes connections whose answers come back right.
/// </summary>
public sealed class EndToEndTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static LoadBalancerHost Open(LbTopology net, string driver, ForwardingMode mode, HealthCheckKind check = HealthCheckKind.Tcp)
    {
        LoadBalancerSettings settings = new()
        {
            Driver = driver,
            InterfaceName = net.LbLink,
            Address = Ipv4Cidr.Parse($"{net.LbAddress}/24"),
            Mac = MacAddress.Parse(NetnsPair.MacOf(net.Lb, net.LbLink)),
            Balancer = BalancerTests.Port80(Ipv4Address.Parse(net.Vip), [.. net.BackendAddresses.Select(Ipv4Address.Parse)]) with { Mode = mode },
            HealthCheck = BalancerTests.Checks(check, Duration.FromMillis(200)),
            PoolFrames = 4096,
        };
        LoadBalancerHost host = NamespaceThread.Run(net.Lb, () => LoadBalancerHost.Open(settings));
        host.Start();
        return host;
    }

    private static void WaitFor(LoadBalancerHost host, Func<bool> condition, string what)
    {
        Stopwatch clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.Null(host.Engine.Failure);
            if (clock.Elapsed > TimeSpan.FromSeconds(20))
            {
                string state = string.Join(", ", host.Backends().Select(b => $"{b.Address} healthy={b.Healthy} usable={b.Usable} forwarded={b.Forwarded}"));
                Assert.Fail($"{what} did not happen within 20 s: {state}; probes ok {host.HealthChecker.Successes}, failed {host.HealthChecker.Failures}");
            }
            Thread.Sleep(50);
        }
    }

    private Dictionary<string, int> Tally(string[] answers)
    {
        Dictionary<string, int> tally = answers.GroupBy(a => a).OrderBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine(string.Join(", ", tally.Select(t => $"{t.Key} {t.Value}")));
        return tally;
    }

    [PrivilegedTheory("ip", "ethtool", "curl", "python3", "sysctl")]
    [InlineData("afxdp")]
    [InlineData("afpacket")]
    public void IpipSpreadsConnectionsAndAFailedBackendIsAvoidedUntilItRecovers(string driver)
    {
        using LbTopology net = new();
        using LoadBalancerHost host = Open(net, driver, ForwardingMode.Ipip);
        WaitFor(host, () => host.Backends().All(b => b.Usable), "all three backends coming up");

        Dictionary<string, int> http = Tally(net.Curl(60));
        Assert.False(http.ContainsKey("fail"), $"failed fetches: {string.Join(", ", http)}");
        foreach (string be in new[] { "be1", "be2", "be3" })
        {
            // 60 connections over three backends: a third each, give or take (Maglev over random source ports).
            Assert.True(http.GetValueOrDefault(be) >= 5, $"{be} got {http.GetValueOrDefault(be)} of 60: {string.Join(", ", http)}");
        }

        Dictionary<string, int> udp = Tally(net.Udp(30));
        Assert.False(udp.ContainsKey("fail"), $"unanswered datagrams: {string.Join(", ", udp)}");
        Assert.True(udp.Count >= 2, $"30 UDP flows all went to one backend: {string.Join(", ", udp)}");

        net.StopHttp(1);
        WaitFor(host, () => !host.Backends()[1].Usable, "the health check taking be2 out");
        Dictionary<string, int> without = Tally(net.Curl(45));
        Assert.Equal(45, without.GetValueOrDefault("be1") + without.GetValueOrDefault("be3"));

        net.StartHttp(1);
        WaitFor(host, () => host.Backends()[1].Usable, "the health check bringing be2 back");
        Dictionary<string, int> back = Tally(net.Curl(45));
        Assert.False(back.ContainsKey("fail"), string.Join(", ", back));
        Assert.True(back.GetValueOrDefault("be2") > 0, $"be2 got no new connection after it came back: {string.Join(", ", back)}");
        Assert.Equal(0, host.Balancer.Counters.TooBig + host.Balancer.Counters.Malformed + host.Balancer.Counters.NoHeadroom);

        // skiff stats' view: the control socket answers with the engine's queue and the balancer's own counters ("app").
        string path = Path.Combine(Path.GetTempPath(), $"skiff-lb-{Guid.NewGuid():N}.sock");
        using (host.StartControlServer(path))
        {
            string snapshot = ControlSocket.Snapshot(path);
            output.WriteLine(snapshot);
            long be2 = host.Balancer.Counters.Forwarded[1];
            Assert.Contains($"\"name\":\"skiff.lb.forwarded\",\"tags\":\"skiff.lb.backend={host.Balancer.Options.Backends[1]}\",\"value\":", snapshot);
            Assert.Matches("\"name\":\"skiff.lb.flows.new\",\"tags\":\"\",\"value\":[1-9]", snapshot);
            Assert.Contains("\"name\":\"skiff.lb.backends.usable\",\"tags\":\"\",\"value\":3", snapshot);
            Assert.Contains("\"queues\":[{\"queue\":0", snapshot);
            Assert.True(be2 > 0);
        }
        Assert.False(File.Exists(path));
    }

    [PrivilegedFact("ip", "ethtool", "curl", "python3", "sysctl")]
    public void DirectServerReturnSpreadsConnectionsWithIcmpHealthChecks()
    {
        using LbTopology net = new();
        using LoadBalancerHost host = Open(net, "afxdp", ForwardingMode.Dsr, HealthCheckKind.Icmp);
        WaitFor(host, () => host.Backends().All(b => b.Usable), "all three backends coming up");
        Dictionary<string, int> http = Tally(net.Curl(45));
        Assert.False(http.ContainsKey("fail"), string.Join(", ", http));
        Assert.Equal(3, http.Count);
    }
}
