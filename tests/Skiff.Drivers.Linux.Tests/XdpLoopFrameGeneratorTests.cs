using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The benchmark generator that works where live frames are refused: frames circulate in a spare veth pair and an XDP
/// program broadcasts a copy to the target on each pass. Every frame it counts reaches the kernel peer (its Icmp
/// InEchos), a budget of passes stops it exactly, and its program goes with it.
/// </summary>
public sealed class XdpLoopFrameGeneratorTests
{
    private const string Loop = "sklp0";
    private const string LoopPeer = "sklp1";

    [PrivilegedFact("ip", "ethtool")]
    public void EveryFrameCountedArrivesAndABudgetStopsTheLoopExactly()
    {
        using NetnsPair pair = new();
        // XDP frames sent into a veth reach the peer only if it runs NAPI: GRO on (or an XDP program).
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "ethtool", "-K", pair.LinkA, "gro", "on"));
        AddLoop(pair.NamespaceB);
        byte[] request = AfPacketTestFrames.IcmpEchoRequest(NetnsPair.MacBytesOf(pair.NamespaceB, pair.LinkB), NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA),
            AfPacketTestFrames.Ip(pair.Ipv4B), AfPacketTestFrames.Ip(pair.Ipv4A), identifier: 0x534c, sequence: 1, "skiff loop generator"u8);
        long before = InEchos(pair.NamespaceA);

        XdpLoopFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLoopFrameGenerator(pair.LinkB, request, Loop, LoopPeer, copiesPerPass: 5, framesInFlight: 2));
        try
        {
            Assert.Contains("prog/xdp", LinkShow(pair.NamespaceB, LoopPeer));
            Assert.Equal(0, generator.FramesSent);

            // 40 passes of 5 copies: 200 echo requests, then both frames in flight are dropped at their next pass.
            NamespaceThread.Run(pair.NamespaceB, () =>
            {
                generator.Start(passes: 40);
                return true;
            });
            DateTime deadline = DateTime.UtcNow.AddSeconds(10);
            while ((generator.FramesSent < 200 || InEchos(pair.NamespaceA) - before < 200) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20);
            }
            Thread.Sleep(200);
            Assert.Equal(200, generator.FramesSent);
            Assert.Equal(200, InEchos(pair.NamespaceA) - before);
            generator.Stop();
            Assert.False(generator.Running);
        }
        finally
        {
            generator.Dispose();
        }

        Assert.DoesNotContain("xdp", LinkShow(pair.NamespaceB, LoopPeer));
    }

    [PrivilegedFact("ip", "ethtool")]
    public void RunSendsUntilTheDurationAndStops()
    {
        using NetnsPair pair = new();
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceA, "ethtool", "-K", pair.LinkA, "gro", "on"));
        AddLoop(pair.NamespaceB);
        byte[] frame = AfPacketTestFrames.IcmpEchoRequest(NetnsPair.MacBytesOf(pair.NamespaceB, pair.LinkB), NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA),
            AfPacketTestFrames.Ip(pair.Ipv4B), AfPacketTestFrames.Ip(pair.Ipv4A), identifier: 0x534d, sequence: 1, "run"u8);
        using XdpLoopFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLoopFrameGenerator(pair.LinkB, frame, Loop, LoopPeer, copiesPerPass: 2, framesInFlight: 1));
        List<long> seconds = [];

        long sent = NamespaceThread.Run(pair.NamespaceB, () => generator.Run(TimeSpan.FromSeconds(1.5), cpu: -1, (second, frames) => seconds.Add(frames)));

        Assert.False(generator.Running);
        Assert.True(sent > 0);
        Assert.InRange(Assert.Single(seconds), 1, sent);
        // Stopped: the frame in flight is dropped at its next pass, so the count no longer grows.
        Thread.Sleep(100);
        long afterStop = generator.FramesSent;
        Thread.Sleep(200);
        Assert.Equal(afterStop, generator.FramesSent);
    }

    [PrivilegedFact("ip")]
    public void ALoopThatIsNotASparePairSaysWhatToDo()
    {
        using NetnsPair pair = new();
        byte[] frame = new byte[60];

        DriverException same = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLoopFrameGenerator(pair.LinkB, frame, pair.LinkB, "lo"))).InnerException);
        Assert.Contains("spare veth pair", same.Message);
        Assert.Contains("ip link add", same.Message);

        DriverException missing = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new XdpLoopFrameGenerator(pair.LinkB, frame, "sklp-none", LoopPeer))).InnerException);
        Assert.Contains("There is no interface named sklp-none", missing.Message);
    }

    [Fact]
    public void TheProgramTakesABudgetAndBroadcasts()
    {
        BpfInstruction[] program = XdpLoopFrameGenerator.BuildProgram(countersFd: 3, devicesFd: 4, copies: 6);

        BpfInstruction redirect = Assert.Single(program, i => i.Code == (BpfInstruction.ClassJmp | BpfInstruction.JumpCall) && i.Immediate == Interop.Bpf.BPF_FUNC_redirect_map);
        int at = Array.IndexOf(program, redirect);
        Assert.Equal(BpfInstruction.Mov64(BpfRegister.R3, Interop.Bpf.BPF_F_BROADCAST), program[at - 1]);
        Assert.Single(program, i => i == BpfInstruction.AtomicFetchAdd64(BpfRegister.R0, BpfRegister.R1, 0));
        Assert.Contains(BpfInstruction.Mov64(BpfRegister.R1, 6), program);
        Assert.Equal(BpfInstruction.Mov64(BpfRegister.R0, Interop.Bpf.XDP_DROP), program[^2]);
    }

    private static void AddLoop(string netns)
    {
        ExternalTools.Check("ip", "-n", netns, "link", "add", Loop, "type", "veth", "peer", "name", LoopPeer);
        ExternalTools.Check("ip", "-n", netns, "link", "set", Loop, "up");
        ExternalTools.Check("ip", "-n", netns, "link", "set", LoopPeer, "up");
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
