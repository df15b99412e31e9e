using Skiff.Drivers.Linux.Tests.Support;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The benchmark generator that works where live frames are refused: a tc program at a spare trigger's egress clones
/// each marked frame N times out of the target. Every frame it counts reaches the kernel peer (its Icmp InEchos), it
/// counts nothing it did not send, and setup errors say what to do.
/// </summary>
public sealed class TcCloneFrameGeneratorTests
{
    private const string Trigger = "skct0";
    private const string TriggerPeer = "skct1";

    [PrivilegedFact("ip", "ping")]
    public void EveryFrameCountedArrivesAtThePeer()
    {
        using NetnsPair pair = new();
        AddTrigger(pair.NamespaceB);
        byte[] macA = NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA);
        byte[] macB = NetnsPair.MacBytesOf(pair.NamespaceB, pair.LinkB);
        byte[] request = AfPacketTestFrames.IcmpEchoRequest(macB, macA, AfPacketTestFrames.Ip(pair.Ipv4B), AfPacketTestFrames.Ip(pair.Ipv4A),
            identifier: 0x5343, sequence: 1, "skiff clone generator"u8);
        long before = InEchos(pair.NamespaceA);

        using TcCloneFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new TcCloneFrameGenerator(pair.LinkB, request, Trigger, clonesPerFrame: 25));
        Assert.Equal(25, generator.ClonesPerFrame);
        Assert.Equal(0, generator.FramesSent);

        // 3 + 5 frames written, 25 clones each: 200 echo requests out of B's veth; the trigger itself sends none.
        Assert.True(generator.SendBatch(3));
        Assert.True(generator.SendBatch(5));
        Assert.Equal(8, generator.TriggersSent);
        Assert.Equal(200, generator.FramesSent);
        Assert.Equal(0, generator.FramesRefused);

        // The kernel in A counts each request it receives; wait for all 200, and no more.
        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (InEchos(pair.NamespaceA) - before < 200 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(20);
        }
        Thread.Sleep(100);
        Assert.Equal(200, InEchos(pair.NamespaceA) - before);
        // The originals were dropped at the trigger's egress: its peer received none of them.
        Assert.Equal(0, RxPackets(pair.NamespaceB, TriggerPeer));

        // Other traffic on the trigger (the kernel's ARP for a ping out of it) passes unchanged and is not cloned.
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "addr", "add", "10.66.0.1/24", "dev", Trigger);
        ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ping"), "-c", "1", "-W", "1", "10.66.0.2"));
        Assert.True(RxPackets(pair.NamespaceB, TriggerPeer) >= 1, "The kernel's own frames on the trigger must reach its peer.");
        Assert.Equal(200, generator.FramesSent);
    }

    [PrivilegedFact("ip")]
    public void RunCountsTheFramesTheTargetTookEachSecond()
    {
        using NetnsPair pair = new();
        AddTrigger(pair.NamespaceB);
        byte[] frame = AfPacketTestFrames.IcmpEchoRequest(NetnsPair.MacBytesOf(pair.NamespaceB, pair.LinkB), NetnsPair.MacBytesOf(pair.NamespaceA, pair.LinkA),
            AfPacketTestFrames.Ip(pair.Ipv4B), AfPacketTestFrames.Ip(pair.Ipv4A), identifier: 0x5344, sequence: 1, "run"u8);
        using TcCloneFrameGenerator generator = NamespaceThread.Run(pair.NamespaceB,
            () => new TcCloneFrameGenerator(pair.LinkB, frame, Trigger, clonesPerFrame: 8));
        List<long> seconds = [];

        long sent = NamespaceThread.Run(pair.NamespaceB, () => generator.Run(TimeSpan.FromSeconds(1.5), cpu: -1, (second, frames) => seconds.Add(frames)));

        Assert.True(sent > 0);
        Assert.Equal(generator.FramesSent + generator.FramesRefused, generator.TriggersSent * 8);
        Assert.Equal(generator.FramesSent, sent);
        long second1 = Assert.Single(seconds);
        Assert.InRange(second1, 1, sent);
    }

    [PrivilegedFact("ip")]
    public void BadInterfacesSayWhatToDo()
    {
        using NetnsPair pair = new();
        byte[] frame = new byte[60];

        DriverException same = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new TcCloneFrameGenerator(pair.LinkB, frame, pair.LinkB))).InnerException);
        Assert.Contains("is the interface the generator transmits on", same.Message);
        Assert.Contains("ip link add", same.Message);

        DriverException missing = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceB,
            () => new TcCloneFrameGenerator(pair.LinkB, frame, "skct-none"))).InnerException);
        Assert.Contains("There is no interface named skct-none", missing.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => new TcCloneFrameGenerator(pair.LinkB, frame, Trigger, clonesPerFrame: TcCloneFrameGenerator.MaxClonesPerFrame + 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TcCloneFrameGenerator(pair.LinkB, frame, Trigger, clonesPerFrame: 0));
    }

    [Fact]
    public void TheProgramClonesOnlyMarkedFramesAndCountsEachClone()
    {
        BpfInstruction[] one = TcCloneFrameGenerator.BuildProgram(countersFd: 3, targetIndex: 7, clones: 1);
        BpfInstruction[] three = TcCloneFrameGenerator.BuildProgram(countersFd: 3, targetIndex: 7, clones: 3);

        // Unrolled: each clone adds the same 8 instructions (set up, call, count accepted or refused).
        Assert.Equal(16, three.Length - one.Length);
        Assert.Equal(3, three.Count(i => i.Code == (BpfInstruction.ClassJmp | BpfInstruction.JumpCall) && i.Immediate == Interop.Bpf.BPF_FUNC_clone_redirect));
        Assert.Equal(3, three.Count(i => i.Code == (BpfInstruction.ClassAlu64 | BpfInstruction.AluMov | BpfInstruction.SourceK) && i.Destination == BpfRegister.R2 && i.Immediate == 7));
        // The mark test comes first: an unmarked frame goes on (TC_ACT_UNSPEC), a marked one is dropped after cloning (TC_ACT_SHOT).
        Assert.Equal(unchecked((int)TcCloneFrameGenerator.TriggerMark), three[2].Immediate);
        Assert.Equal(BpfInstruction.Mov64(BpfRegister.R0, Interop.Bpf.TC_ACT_SHOT), three[^4]);
        Assert.Equal(BpfInstruction.Exit(), three[^1]);
        Assert.Equal(BpfInstruction.Mov64(BpfRegister.R0, Interop.Bpf.TC_ACT_UNSPEC), three[^2]);
    }

    /// <summary>A spare veth pair in <paramref name="netns"/>, up, without IPv6 so that its kernel sends nothing of its own on it.</summary>
    private static void AddTrigger(string netns)
    {
        ExternalTools.Check("ip", "-n", netns, "link", "add", Trigger, "type", "veth", "peer", "name", TriggerPeer);
        ExternalTools.Check("ip", NetnsPair.In(netns, "sysctl", "-q", "-w", $"net.ipv6.conf.{Trigger}.disable_ipv6=1", $"net.ipv6.conf.{TriggerPeer}.disable_ipv6=1"));
        ExternalTools.Check("ip", "-n", netns, "link", "set", Trigger, "up");
        ExternalTools.Check("ip", "-n", netns, "link", "set", TriggerPeer, "up");
    }

    /// <summary>Frames the trigger's peer received (the generator's own frames are dropped at the trigger: none of them).</summary>
    private static long RxPackets(string netns, string link) =>
        long.Parse(ExternalTools.Check("ip", NetnsPair.In(netns, "cat", $"/sys/class/net/{link}/statistics/rx_packets")).Output.Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Icmp InEchos from the namespace's /proc/net/snmp: echo requests its kernel received.</summary>
    private static long InEchos(string netns)
    {
        string[] icmp = ExternalTools.Check("ip", NetnsPair.In(netns, "cat", "/proc/net/snmp")).Output
            .Split('\n').Where(l => l.StartsWith("Icmp: ", StringComparison.Ordinal)).Take(2).ToArray();
        int column = Array.IndexOf(icmp[0].Split(' '), "InEchos");
        return long.Parse(icmp[1].Split(' ')[column], System.Globalization.CultureInfo.InvariantCulture);
    }
}
