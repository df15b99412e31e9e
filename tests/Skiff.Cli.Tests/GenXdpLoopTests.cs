using System.Text.RegularExpressions;

namespace Skiff.Cli.Tests;

/// <summary><c>skiff gen --xdp-loop</c>: the benchmark generator of this kernel, from the command line, reaches a kernel peer.</summary>
public sealed class GenXdpLoopTests
{
    [PrivilegedFact("ip", "ethtool")]
    public void The_xdp_loop_sends_udp_frames_that_the_peer_kernel_counts()
    {
        using NetnsPair pair = new();
        // XDP frames sent into a veth reach the peer only if it runs NAPI: GRO on (or an XDP program).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "ethtool", "-K", pair.LinkA, "gro", "on"));
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "link", "add", "skgl0", "type", "veth", "peer", "name", "skgl1");
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "link", "set", "skgl0", "up");
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "link", "set", "skgl1", "up");
        long before = UdpNoPorts(pair.NamespaceA);

        CliRunner.Result gen = NamespaceThread.Run(pair.NamespaceB, () => CliRunner.Run("gen", "--driver", "afxdp", "--iface", pair.LinkB,
            "--xdp-loop", "skgl0,skgl1", "--dst-mac", NetnsPair.MacOf(pair.NamespaceA, pair.LinkA), "--dst-ip", pair.Ipv4A, "--src-ip", pair.Ipv4B, "--seconds", "1.5"));

        Assert.True(gen.ExitCode == 0, gen.Output + gen.Error);
        long sent = long.Parse(Regex.Match(gen.Output, @"skiff gen: (\d+) frames sent by the XDP loop").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(sent > 1000, gen.Output);
        Assert.Contains("median", gen.Output);
        Thread.Sleep(200);
        long arrived = UdpNoPorts(pair.NamespaceA) - before; // UDP to port 9, where nobody listens
        Assert.True(arrived > 0 && arrived <= sent, $"{arrived} datagrams arrived of {sent} sent");
        Assert.DoesNotContain("xdp", ExternalTools.Check("ip", "-n", pair.NamespaceB, "link", "show", "skgl1").Output);

        CliRunner.Result bad = CliRunner.Run("gen", "--driver", "afxdp", "--iface", pair.LinkB, "--xdp-loop", "onlyone", "--dst-mac", "02:00:00:00:00:01", "--dst-ip", "10.0.0.1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("LOOP,PEER", bad.Error);
    }

    private static long UdpNoPorts(string netns)
    {
        string[] udp = ExternalTools.Check("ip", NetnsPair.In(netns, "cat", "/proc/net/snmp")).Output
            .Split('\n').Where(l => l.StartsWith("Udp: ", StringComparison.Ordinal)).Take(2).ToArray();
        int column = Array.IndexOf(udp[0].Split(' '), "NoPorts");
        return long.Parse(udp[1].Split(' ')[column], System.Globalization.CultureInfo.InvariantCulture);
    }
}
