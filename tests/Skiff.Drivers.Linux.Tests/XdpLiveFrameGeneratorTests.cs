using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The live-frames generator (BPF_PROG_RUN with live frames): every frame it counts reaches the peer, and the program
/// it holds in the XDP dispatcher through a spare veth is attached for its lifetime only. Where the kernel refuses
/// live frames (Linux 6.18.44 answers EPERM to root), a probe says so with the errno, and the generator's error must
/// say exactly that instead of blaming privileges.
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
        XdpLiveFrameProbe probe = NamespaceThread.Run(pair.NamespaceB, () => XdpLiveFrameGenerator.Probe(pair.LinkB));

        XdpLiveFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLiveFrameGenerator(pair.LinkB, request, batchSize: 16, repeatPerCall: 100, holdInterface: HoldLink));
        try
        {
            Assert.Equal(HoldLink, generator.HoldInterface);
            Assert.Contains("prog/xdp", LinkShow(pair.NamespaceB, HoldLink));
            Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, pair.LinkB));
            if (!probe.LiveFramesWork)
            {
                AssertTheRefusalIsExplained(generator, probe, pair.NamespaceB);
            }
            else
            {
                AssertEveryFrameArrives(generator, pair);
            }
        }
        finally
        {
            generator.Dispose();
        }

        Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, HoldLink));
    }

    /// <summary>Live frames work here: 200 frames sent in two calls, and the kernel in A answers each one, no more.</summary>
    private static void AssertEveryFrameArrives(XdpLiveFrameGenerator generator, NetnsPair pair)
    {
        long before = InEchos(pair.NamespaceA);
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

    /// <summary>The kernel refused the probe's live run: the generator's error has that errno and says what happened.</summary>
    private static void AssertTheRefusalIsExplained(XdpLiveFrameGenerator generator, XdpLiveFrameProbe probe, string netns)
    {
        DriverException refused = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(
            () => NamespaceThread.Run(netns, () => generator.SendBatch(10))).InnerException);
        Assert.Equal(probe.LiveFramesErrno, refused.Errno);
        Assert.Contains($"(errno {probe.LiveFramesErrno})", refused.Message);
        Assert.Equal(0, generator.FramesSent);
        if (probe.KernelRefusesLiveFrames)
        {
            // Root with CAP_BPF and CAP_NET_ADMIN: the kernel's policy, not a privilege; the old text blamed privileges.
            Assert.Contains("The kernel refuses live-frames runs (BPF_F_TEST_XDP_LIVE_FRAMES) although the process has CAP_BPF and CAP_NET_ADMIN", refused.Message);
            Assert.DoesNotContain("run as root", refused.Message);
            Assert.Equal(probe.PlainRunWorks, refused.Message.Contains("a plain BPF_PROG_RUN of the same program works", StringComparison.Ordinal));
            Assert.Contains(nameof(XdpLoopFrameGenerator), refused.Message);
        }
    }

    [PrivilegedFact]
    public void TheProbeReadsTheCapabilitiesAndRunsAPlainTestRun()
    {
        XdpLiveFrameProbe probe = XdpLiveFrameGenerator.Probe();

        // The tests run as root (CI=true requires it): CapEff has CAP_BPF or CAP_SYS_ADMIN, and CAP_NET_ADMIN.
        Assert.True(probe.HasCapabilities, probe.ToString());
        // A plain test run of an XDP program works on every kernel Skiff supports; only live frames may be refused.
        Assert.True(probe.PlainRunWorks, probe.ToString());
        Assert.Equal(probe.LiveFramesErrno is Interop.Libc.EPERM or Interop.Libc.EACCES, probe.KernelRefusesLiveFrames);
    }

    [Fact]
    public void CapabilitiesAreReadFromCapEff()
    {
        const string Status = "Name:\tdotnet\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n";
        ulong mask = Assert.NotNull(ProcessCapabilities.Parse(Status));
        Assert.Equal(0x000001fffeffffffUL, mask);
        Assert.True(ProcessCapabilities.Has(mask, ProcessCapabilities.CAP_BPF));
        Assert.True(ProcessCapabilities.Has(mask, ProcessCapabilities.CAP_NET_ADMIN));
        Assert.False(ProcessCapabilities.Has(mask, ProcessCapabilities.CAP_SYS_RESOURCE));
        Assert.Equal("", ProcessCapabilities.Missing(mask));
        Assert.Equal("CAP_BPF and CAP_NET_ADMIN", ProcessCapabilities.Missing(1UL << ProcessCapabilities.CAP_SYS_RESOURCE));
        Assert.Null(ProcessCapabilities.Parse("Name:\tx\n"));
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
