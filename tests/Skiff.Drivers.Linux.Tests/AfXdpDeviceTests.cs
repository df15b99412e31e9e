using System.Net;
using System.Runtime.CompilerServices;
using Skiff.Drivers.Linux.Interop;
using Skiff.Drivers.Linux.Tests.Support;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The AF_XDP driver's own contracts on a veth pair (copy mode, native XDP): the program attaches and detaches with
/// the device, Skiff gets exactly its own address's traffic, and the kernel keeps everything else.
/// </summary>
public sealed class AfXdpDeviceTests
{
    [Fact]
    public unsafe void InteropStructsMatchTheUapiHeaders()
    {
        // Sizes from linux/if_xdp.h and linux/bpf.h as compiled on this machine (sizeof in C).
        Assert.Equal(16, sizeof(Xdp.SockAddr));
        Assert.Equal(32, sizeof(Xdp.RingOffset));
        Assert.Equal(128, sizeof(Xdp.MmapOffsets));
        Assert.Equal(32, sizeof(Xdp.UmemReg));
        Assert.Equal(16, sizeof(Xdp.Desc));
        Assert.Equal(48, sizeof(Xdp.Statistics));
        Assert.Equal(144, sizeof(Bpf.Attr));
        Assert.Equal(8, sizeof(BpfInstruction));
        Bpf.Attr attr = default;
        byte* start = (byte*)&attr;
        Assert.Equal(68, (int)((byte*)&attr.ExpectedAttachType - start));
        Assert.Equal(32, (int)((byte*)&attr.LogBuf - start));
        Assert.Equal(12, (int)((byte*)&attr.LinkFlags - start));
    }

    [PrivilegedFact("ip")]
    public void OpenAttachesTheProgramAndDisposeDetachesIt()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using PacketPool pool = new(4096);
        List<string> log = [];

        AfXdpDevice device = NamespaceThread.Run(pair.NamespaceA, () => new AfXdpDevice(Options(pair, log), pool));
        try
        {
            Assert.Equal(XdpAttachMode.Native, device.AttachMode);
            Assert.False(device.IsZeroCopy, "veth has no AF_XDP zero-copy; the bind must have fallen back to copy mode.");
            Assert.Contains(log, l => l.Contains("native mode") && l.Contains("copy mode"));
            Assert.Contains("prog/xdp", LinkShow(pair));
            // Owned by a BPF link, not a netlink attachment: netlink cannot remove it, and the kernel removes it when
            // the link fd closes (Dispose, or the process dying: checked by hand with a child process killed by SIGKILL).
            ExternalTools.Result off = ExternalTools.Run("ip", ["-n", pair.NamespaceA, "link", "set", "dev", pair.LinkA, "xdp", "off"]);
            Assert.NotEqual(0, off.ExitCode);
            Assert.Contains("prog/xdp", LinkShow(pair));
            // The fill ring is stocked from the pool: those frames are the kernel's until received.
            Assert.Equal(2048, device.KernelHeldFrames);
            Assert.Equal(2048, pool.InUse);
        }
        finally
        {
            device.Dispose();
        }

        Assert.DoesNotContain("xdp", LinkShow(pair));
        Assert.Equal(0, pool.InUse);
    }

    [PrivilegedFact("ip")]
    public void QueuesOpenedTogetherShareOneProgramThatTheLastOneDetaches()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false, queues: 2);
        using PacketPool pool0 = new(4096);
        using PacketPool pool1 = new(4096);
        List<string> log = [];

        AfXdpDevice[] devices = NamespaceThread.Run(pair.NamespaceA, () => AfXdpDevice.OpenQueues(Options(pair, log), 2, [pool0, pool1]));
        try
        {
            Assert.Equal(2, devices.Length);
            Assert.Equal(Enumerable.Repeat(XdpAttachMode.Native, 2), devices.Select(d => d.AttachMode));
            Assert.Contains(log, l => l.Contains("queue 0") && l.Contains("native mode"));
            Assert.Contains(log, l => l.Contains("queue 1") && l.Contains("native mode"));
            Assert.Same(pool0, devices[0].Pool);
            Assert.Same(pool1, devices[1].Pool);
            Assert.Equal(2048, pool0.InUse);
            Assert.Equal(2048, pool1.InUse);

            devices[0].Dispose();
            Assert.Contains("prog/xdp", LinkShow(pair)); // queue 1 still needs it
            Assert.Equal(0, pool0.InUse);
        }
        finally
        {
            foreach (AfXdpDevice d in devices)
            {
                d.Dispose();
            }
        }
        Assert.DoesNotContain("xdp", LinkShow(pair));
        Assert.Equal(0, pool1.InUse);

        // One queue's own program holds the interface: a second queue opened alone cannot attach another.
        using AfXdpDevice first = NamespaceThread.Run(pair.NamespaceA, () => new AfXdpDevice(Options(pair, null), pool0));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceA,
            () => new AfXdpDevice(Options(pair, null) with { QueueId = 1 }, pool1)));
        Assert.Contains("Another XDP program is attached", Assert.IsType<DriverException>(e.InnerException).Message);
        Assert.Equal(0, pool1.InUse);
    }

    [Fact]
    public void QueuesNeedAPoolEach()
    {
        using PacketPool pool = new(4096);
        AfXdpOptions options = new() { InterfaceName = "lo" };
        Assert.Contains("one pool per queue", Assert.Throws<ArgumentException>(() => AfXdpDevice.OpenQueues(options, 2, [pool])).Message);
        Assert.Contains("pool of its own", Assert.Throws<ArgumentException>(() => AfXdpDevice.OpenQueues(options, 2, [pool, pool])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => AfXdpDevice.OpenQueues(options, 0));
    }

    [PrivilegedFact("ip")]
    public void ForcedZeroCopyOnVethFailsWithWhatToDoAndLeavesNothingAttached()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using PacketPool pool = new(4096);

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceA,
            () => new AfXdpDevice(Options(pair, null) with { CopyMode = AfXdpCopyMode.ZeroCopy }, pool)));

        DriverException driver = Assert.IsType<DriverException>(e.InnerException);
        Assert.Contains("zero-copy", driver.Message);
        Assert.Contains("--xdp-copy auto", driver.Message);
        Assert.DoesNotContain("xdp", LinkShow(pair));
        Assert.Equal(0, pool.InUse);
    }

    [PrivilegedFact("ip")]
    public void UnknownInterfaceSaysHowToFindTheName()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => NamespaceThread.Run(pair.NamespaceA,
            () => new AfXdpDevice(new AfXdpOptions { InterfaceName = "sknothere0" })));

        Assert.Contains("ip link", Assert.IsType<DriverException>(e.InnerException).Message);
    }

    [PrivilegedFact("ip", "ping")]
    public void SkiffAnswersItsAddressAndTheKernelKeepsTheRest()
    {
        NetnsPair pair = new(kernelAddressesOnA: false);
        DriverSetup? setup = null;
        try
        {
            // A second address on A belongs to the kernel: its traffic must take the exception path (XDP_PASS).
            string kernelAddress = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')] + ".3";
            ExternalTools.Check("ip", "-n", pair.NamespaceA, "addr", "add", $"{kernelAddress}/24", "dev", pair.LinkA);
            ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off"));
            AfXdpDevice device = NamespaceThread.Run(pair.NamespaceA, () => new AfXdpDevice(Options(pair, null)));
            setup = new DriverSetup(device, Ipv4Address.Parse(pair.Ipv4A), pair.NamespaceB, pair.LinkB, Ipv4Address.Parse(pair.Ipv4B), [pair]);
            string ping = ExternalTools.Require("ping");

            ExternalTools.Result toSkiff = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, ping, "-c", "3", "-i", "0.2", "-W", "2", pair.Ipv4A));
            ExternalTools.Result toKernel = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, ping, "-c", "3", "-i", "0.2", "-W", "2", kernelAddress));

            Assert.True(toSkiff.ExitCode == 0, $"The kernel's ping of Skiff over AF_XDP failed: {toSkiff.Output}{toSkiff.Error}");
            Assert.True(toKernel.ExitCode == 0, $"The kernel address on the XDP interface stopped answering (exception path): {toKernel.Output}{toKernel.Error}");
            Assert.True(setup.Runner.Invoke(i => i.Counters.IcmpEchoRepliesSent) >= 3);
            // Only Skiff's traffic reached Skiff: the kernel's three echo requests were not among its frames.
            AfXdpStatistics stats = setup.Runner.Invoke(_ => device.GetStatistics());
            Assert.InRange(stats.RxFrames, 4, 12); // 3 echo requests + ARP; not the 3 for the kernel address
            Assert.True(stats.TxCompleted >= 4, $"Sent frames must come back on the completion ring: {stats}");
            Assert.Equal(0UL, stats.RxRingFull);
            Assert.Equal(0L, stats.WakeupErrors);
        }
        finally
        {
            if (setup is not null)
            {
                setup.Dispose();
            }
            else
            {
                pair.Dispose();
            }
        }
    }

    private static AfXdpOptions Options(NetnsPair pair, List<string>? log, [CallerMemberName] string test = "") => new()
    {
        InterfaceName = pair.LinkA,
        SteerAddresses = [IPAddress.Parse(pair.Ipv4A)],
        FrameCount = 4096,
        Log = log is null ? null : line => { lock (log) { log.Add(line); } },
    };

    private static string LinkShow(NetnsPair pair) => ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "show", pair.LinkA).Output;
}
