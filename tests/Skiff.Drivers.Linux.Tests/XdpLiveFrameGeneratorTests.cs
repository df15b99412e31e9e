using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The benchmark generator (BPF_PROG_RUN with live frames): every frame it counts reaches the peer, and the program
/// it holds in the XDP dispatcher through a spare veth is attached for its lifetime only.
/// </summary>
public sealed class XdpLiveFrameGeneratorTests
{
    private const string HoldLink = "skgh0";

    [PrivilegedFact("ip", "ethtool")]
    public void EveryFrameSentArrivesAndTheHeldProgramGoesWithTheGenerator()
    {
        using NetnsPair pair = new();
        // A frame sent into a veth by XDP reaches the peer only if the peer runs NAPI: GRO on (or an XDP program).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "ethtool", "-K", pair.LinkA, "gro", "on"));
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "link", "add", HoldLink, "type", "veth", "peer", "name", "skgh1");
        byte[] macA = NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA);
        byte[] macB = NetnsPair.MacBytesOf(pair.NamespaceB, pair.LinkB);
        byte[] request = AfPacketTestFrames.IcmpEchoRequest(macB, macA, AfPacketTestFrames.Ip(pair.Ipv4B), AfPacketTestFrames.Ip(pair.Ipv4A),
            identifier: 0x5347, sequence: 1, "skiff generator"u8);
        long before = InEchos(pair.NamespaceA);

        XdpLiveFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLiveFrameGenerator(pair.LinkB, request, batchSize: 16, repeatPerCall: 100, holdInterface: HoldLink));
        try
        {
            Assert.Equal(HoldLink, generator.HoldInterface);
            Assert.Contains("prog/xdp", LinkShow(pair.NamespaceB, HoldLink));
            Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, pair.LinkB));

            // The ingress ifindex is looked up in the calling thread's namespace: send from B.
            Assert.True(NamespaceThread.Run(pair.NamespaceB, () => generator.SendBatch(150)));
            Assert.True(NamespaceThread.Run(pair.NamespaceB, () => generator.SendBatch(50)));
            Assert.Equal(200, generator.FramesSent);

            // The kernel in A answers each request it receives; wait for all 200, and no more.
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while (InEchos(pair.NamespaceA) - before < 200 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            Thread.Sleep(100);
            Assert.Equal(200, InEchos(pair.NamespaceA) - before);
        }
        finally
        {
            generator.Dispose();
        }

        Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, HoldLink));
    }

    [PrivilegedFact("ip")]
    public void AHoldInterfaceThatCannotHoldSaysWhatToDo()
    {
        using NetnsPair pair = new();
        byte[] frame = new byte[60];

        DriverException missing = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLiveFrameGenerator(pair.LinkB, frame, holdInterface: "skgh-none"))).InnerException);
        Assert.Contains("no such interface", missing.Message);
        Assert.Contains("ip link add", missing.Message);

        DriverException same = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLiveFrameGenerator(pair.LinkB, frame, holdInterface: pair.LinkB))).InnerException);
        Assert.Contains("the interface the generator transmits on", same.Message);
        Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, pair.LinkB));
    }

    private static string LinkShow(string netns, string link) => ExternalTools.Check("ip", "-n", netns, "link", "show", link).Output;

    /// <summary>Icmp InEchos from the namespace's /proc/net/snmp: echo requests its kernel received.</summary>
    private static long InEchos(string netns)
    {
        string[] icmp = ExternalTools.Check("ip", NetnsPair.In(netns, "cat", "/proc/net/snmp")).Output
            .Split('\n').Where(l => l.StartsWith("Icmp: ", StringComparison.Ordinal)).Take(2).ToArray();
        int column = Array.IndexOf(icmp[0].Split(' '), "InEchos");
        return long.Parse(icmp[1].Split(' ')[column], System.Globalization.CultureInfo.InvariantCulture);
    }
}
