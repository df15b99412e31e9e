using System.Diagnostics;
using static Skiff.Drivers.Linux.Tests.AfPacketTestFrames;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The AF_PACKET device's own contracts, against the real kernel: a <see cref="NetnsPair"/> with no kernel address on
/// end A, the device opened on A inside namespace A, and the kernel in namespace B as the peer.
/// </summary>
public sealed class AfPacketDeviceTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(5);

    private sealed record Received(byte[] Data, ChecksumState Checksum, ushort Queue);

    [PrivilegedFact("ip", "ping")]
    public void FramesTheKernelSendsArriveInReceiveBurst()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA, QueueId = 3, PortId = 9 });
        byte[] target = Ip(pair.Ipv4A);

        // The kernel's ping to an address on its subnet starts with broadcast ARP requests for it.
        using PeerCommand ping = StartInB(pair, "ping", "-c", "2", "-W", "1", pair.Ipv4A);
        List<Received> arp = Collect(device, f => IsArpRequestFor(f, target), want: 1, s_wait);

        Received request = arp[0];
        Assert.Equal(ReadMac(pair.NamespaceB, pair.LinkB), request.Data.AsSpan(6, 6).ToArray());
        Assert.Equal(Ip(pair.Ipv4B), request.Data.AsSpan(28, 4).ToArray());
        Assert.Equal((ushort)3, request.Queue);
        AfPacketStatistics stats = device.ReadStatistics();
        Assert.True(stats.RxFrames >= 1 && stats.RxBytes >= 42, $"counters: {stats}");
        Assert.True(stats.KernelPackets >= stats.RxFrames, $"counters: {stats}");
        Assert.Equal(0, device.Pool.InUse);
    }

    [PrivilegedFact("ip", "python3")]
    public void VlanTagTheKernelStrippedIsPutBack()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA });
        // A tagged frame (VLAN 5, EtherType 0x88b5) sent raw from B. The receiving kernel moves the tag into skb
        // metadata (skb_vlan_untag) before packet taps see it, and AF_PACKET reports it beside the frame; the device
        // must deliver the frame as it was on the wire.
        const string script = """
            import socket, sys
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            s.bind((sys.argv[1], 0))
            s.send(b'\xff' * 6 + b'\x02\x00\x00\x00\x00\x05' + b'\x81\x00\x20\x05' + b'\x88\xb5' + b'skiff-vlan'.ljust(46, b'.'))
            """;
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("python3"), "-c", script, pair.LinkB));

        List<Received> tagged = Collect(device, f => f.Length >= 18 && EtherType(f) == 0x8100 && f[16] == 0x88 && f[17] == 0xb5, want: 1, s_wait);

        byte[] frame = tagged[0].Data;
        Assert.Equal(0x2005, (frame[14] << 8) | frame[15]); // priority 1, VLAN 5
        Assert.Equal(18 + 46, frame.Length);
        Assert.Equal("skiff-vlan"u8.ToArray(), frame.AsSpan(18, 10).ToArray());
    }

    [PrivilegedFact("ip")]
    public void FramesSkiffSendsReachTheKernelWhichAnswers()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA });
        byte[] us = Ip(pair.Ipv4A), kernel = Ip(pair.Ipv4B);

        // ARP: the kernel answers our request with its MAC, addressed to our (made-up) MAC.
        Send(device, ArpRequest(TestMac, us, kernel));
        byte[] kernelMac = [];
        List<Received> replies = Collect(device, f => IsArpReply(f, kernel, us, out _), want: 1, s_wait);
        Assert.True(IsArpReply(replies[0].Data, kernel, us, out kernelMac));
        Assert.Equal(ReadMac(pair.NamespaceB, pair.LinkB), kernelMac);
        Assert.Equal(TestMac, replies[0].Data.AsSpan(0, 6).ToArray());

        // ICMP: the kernel echoes our payload back.
        byte[] payload = new byte[1000];
        new Random(5).NextBytes(payload);
        Send(device, IcmpEchoRequest(TestMac, kernelMac, us, kernel, 0x5a5a, 7, payload));
        List<Received> echoes = Collect(device, f => IsEchoReply(f, kernel, 0x5a5a, 7, out _), want: 1, s_wait);
        Assert.True(IsEchoReply(echoes[0].Data, kernel, 0x5a5a, 7, out byte[] echoed));
        Assert.Equal(payload, echoed);

        AfPacketStatistics stats = device.ReadStatistics();
        Assert.Equal(2, stats.TxFrames);
        Assert.Equal(60 + 14 + 28 + 1000, stats.TxBytes);
        Assert.Equal(0, stats.TxDropped);
        Assert.Equal(0, stats.TxKickErrors);
        Assert.Equal(0, device.Pool.InUse);
    }

    [PrivilegedFact("ip", "ethtool", "bash")]
    public void KernelTcpOverVethArrivesAsL4PartialAndCompleteOnceOffloadIsOff()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA });
        byte[] kernel = Ip(pair.Ipv4B);
        StaticNeighbour(pair, pair.Ipv4A, device);

        // Offloads on (veth's default): the kernel leaves the TCP checksum to "hardware", and AF_PACKET says so.
        List<Received> syns = ConnectFromB(pair, device, 5555);
        Assert.All(syns, s =>
        {
            Assert.Equal(ChecksumState.L4Partial, s.Checksum);
            Assert.True(TryGetTcp(s.Data, kernel, out _, out int tcp, out int length));
            ushort field = (ushort)((s.Data[tcp + 16] << 8) | s.Data[tcp + 17]);
            Assert.Equal(PseudoHeaderSum(s.Data.AsSpan(14), length), field); // only the pseudo-header sum, as L4Partial promises
            Assert.False(TcpChecksumIsValid(s.Data, tcp, length));
        });

        // Offload off on the peer: the kernel sums the segment itself, and the frame carries no flag.
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off"));
        List<Received> complete = ConnectFromB(pair, device, 5556);
        Assert.All(complete, s =>
        {
            Assert.NotEqual(ChecksumState.L4Partial, s.Checksum);
            Assert.True(TryGetTcp(s.Data, kernel, out _, out int tcp, out int length));
            Assert.True(TcpChecksumIsValid(s.Data, tcp, length));
        });
    }

    [PrivilegedFact("ip", "bash")]
    public void FanoutByHashSplitsFlowsAndKeepsEachFlowOnOneDevice()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        ushort group = (ushort)Random.Shared.Next(1, 65535);
        AfPacketOptions options = new() { InterfaceName = pair.LinkA, FanoutMode = AfPacketFanoutMode.Hash, FanoutGroupId = group };
        using AfPacketDevice queue0 = Open(pair, options with { QueueId = 0 });
        using AfPacketDevice queue1 = Open(pair, options with { QueueId = 1 });
        StaticNeighbour(pair, pair.Ipv4A, queue0);

        // 16 flows (destination ports 20000..20015), 4 datagrams each, from one socket per flow.
        const int flows = 16, perFlow = 4;
        SendUdpFlowsFromB(pair, pair.Ipv4A, 20000, flows, perFlow);
        Dictionary<int, HashSet<int>> devicesByPort = [];
        int[] perDevice = new int[2];
        PacketBuffer[] burst = new PacketBuffer[32];
        Stopwatch watch = Stopwatch.StartNew();
        while (perDevice.Sum() < flows * perFlow && watch.Elapsed < s_wait)
        {
            AfPacketDevice[] devices = [queue0, queue1];
            for (int d = 0; d < 2; d++)
            {
                int n = devices[d].ReceiveBurst(burst, Instant.Zero);
                for (int k = 0; k < n; k++)
                {
                    int port = UdpDestinationPort(burst[k].Data);
                    if (port is >= 20000 and < 20000 + flows)
                    {
                        Assert.Equal((ushort)d, burst[k].Queue);
                        perDevice[d]++;
                        (devicesByPort.TryGetValue(port, out HashSet<int>? set) ? set : devicesByPort[port] = []).Add(d);
                    }
                    burst[k].Free();
                }
            }
            Thread.Sleep(2);
        }

        Assert.Equal(flows * perFlow, perDevice.Sum());
        Assert.True(perDevice[0] > 0 && perDevice[1] > 0, $"All flows went to one device: {perDevice[0]} / {perDevice[1]} (expected a split; odds of none are 2 in 65536).");
        Assert.All(devicesByPort, p => Assert.True(p.Value.Count == 1, $"Flow to port {p.Key} was split over both devices."));
    }

    [PrivilegedFact("ip")]
    public void FanoutGroupWithAnotherModeIsRefusedWithWhatToDo()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        AfPacketOptions options = new() { InterfaceName = pair.LinkA, FanoutMode = AfPacketFanoutMode.Hash, FanoutGroupId = 4242 };
        using AfPacketDevice first = Open(pair, options);

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => Open(pair, options with { FanoutMode = AfPacketFanoutMode.LoadBalance }));

        DriverException driver = Assert.IsType<DriverException>(e.InnerException);
        Assert.Contains("fanout group 4242", driver.Message);
        Assert.Contains("FanoutGroupId", driver.Message);
    }

    [PrivilegedFact("ip", "bash")]
    public void StatisticsCountWhatTheKernelDeliveredAndDropped()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        // The smallest ring: 2 blocks of a page, about 25 small frames each.
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA, RxBlockBytes = Environment.SystemPageSize, RxBlockCount = 2 });
        StaticNeighbour(pair, pair.Ipv4A, device);

        SendUdpFlowsFromB(pair, pair.Ipv4A, 9999, flows: 1, perFlow: 400); // nobody reads meanwhile
        Thread.Sleep(50); // the retire timer hands over the last block

        AfPacketStatistics full = device.ReadStatistics();
        Assert.True(full.KernelPackets >= 400, $"counters: {full}");
        Assert.True(full.KernelDrops > 0, $"A full ring must count drops: {full}");
        Assert.True(full.KernelFreezeQueueCount > 0, $"A full ring must count a frozen queue: {full}");

        // Drain; once quiet, every frame the kernel counted and did not drop was read by us.
        AfPacketStatistics after = full;
        for (int attempt = 0; attempt < 20; attempt++)
        {
            Drain(device, TimeSpan.FromMilliseconds(50));
            after = device.ReadStatistics();
            if (after.KernelPackets - after.KernelDrops == after.RxFrames + after.RxDropped)
            {
                break;
            }
        }
        Assert.Equal(after.KernelPackets - after.KernelDrops, after.RxFrames + after.RxDropped);
        Assert.True(after.RxFrames >= 1 && after.RxFrames < 400, $"counters: {after}");
        Assert.True(after.KernelPackets >= full.KernelPackets, "The totals must accumulate over reads (the kernel resets its own).");
        Assert.Equal(0, device.Pool.InUse);
    }

    [PrivilegedFact("ip", "ping", "bash")]
    public void ClassicBpfFilterKeepsOnlyWhatItAccepts()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        AfPacketFilterInstruction[] arpOnly =
        [
            new(0x28, 0, 0, 12),          // ldh [12]
            new(0x15, 0, 1, 0x0806),      // jeq #0x806, keep, drop
            new(0x06, 0, 0, 0x40000),     // ret #262144
            new(0x06, 0, 0, 0),           // ret #0
        ];
        using AfPacketDevice filtered = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA, Filter = arpOnly });
        using AfPacketDevice everything = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA });
        string other = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')] + ".77";
        StaticNeighbour(pair, other, filtered);

        using PeerCommand ping = StartInB(pair, "ping", "-c", "2", "-W", "1", pair.Ipv4A); // ARP
        SendUdpFlowsFromB(pair, other, 7777, flows: 1, perFlow: 5);                  // IPv4, resolved statically

        List<Received> seenAll = Collect(everything, f => UdpDestinationPort(f) == 7777, want: 5, s_wait);
        Assert.Equal(5, seenAll.Count);
        List<Received> seenFiltered = Collect(filtered, _ => true, want: int.MaxValue, TimeSpan.FromMilliseconds(1500));
        Assert.NotEmpty(seenFiltered);
        Assert.All(seenFiltered, f => Assert.Equal(EtherTypeArp, EtherType(f.Data)));
    }

    [PrivilegedFact("ip")]
    public void BadFilterIsRefusedWithWhatToDo()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        AfPacketFilterInstruction[] jumpsOut = [new(0x15, 5, 5, 0), new(0x06, 0, 0, 0)];

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA, Filter = jumpsOut }));

        DriverException driver = Assert.IsType<DriverException>(e.InnerException);
        Assert.Contains("AfPacketOptions.Filter", driver.Message);
    }

    [PrivilegedFact("ip")]
    public void TransmitTakesOwnershipDropsImpossibleFramesAndKicksWhenEmpty()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using PacketPool pool = new(64, 4096, 256);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA }, pool);

        Assert.Equal(0, device.TransmitBurst([], Instant.Zero));
        PacketBuffer[] burst = [Frame(pool, 3000), Frame(pool, 10), Frame(pool, 60)];

        Assert.Equal(3, device.TransmitBurst(burst, Instant.Zero));

        AfPacketStatistics stats = device.ReadStatistics();
        Assert.Equal(2, stats.TxDropped);  // longer than MTU 1500 allows, and a runt
        Assert.Equal(1, stats.TxFrames);
        Assert.Equal(0, pool.InUse);       // every accepted buffer went back to its pool
        Assert.Equal(0, device.TransmitBurst([], Instant.Zero));
        Assert.Equal(0, device.ReadStatistics().TxKickErrors);
    }

    [PrivilegedFact("ip", "ping")]
    public void EmptyPoolLeavesFramesInTheRingUntilBuffersReturn()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using PacketPool pool = new(4);
        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA }, pool);
        PacketBuffer[] held = new PacketBuffer[4];
        Assert.Equal(4, pool.AllocateBurst(held));
        using PeerCommand ping = StartInB(pair, "ping", "-c", "1", "-W", "1", pair.Ipv4A);

        PacketBuffer[] burst = new PacketBuffer[4];
        Stopwatch watch = Stopwatch.StartNew();
        while (device.ReadStatistics().RxNoBuffer == 0 && watch.Elapsed < s_wait)
        {
            Assert.Equal(0, device.ReceiveBurst(burst, Instant.Zero));
            device.Wait(10);
        }
        Assert.True(device.ReadStatistics().RxNoBuffer >= 1);

        pool.FreeBurst(held);
        int received = device.ReceiveBurst(burst, Instant.Zero);
        Assert.True(received >= 1, "The frame refused for lack of a buffer must still be readable once buffers are free.");
        pool.FreeBurst(burst.AsSpan(0, received));
    }

    [PrivilegedFact("ip")]
    public void CapabilitiesComeFromTheInterface()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "set", pair.LinkA, "mtu", "1400");

        using AfPacketDevice device = Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA, MaxBurst = 16 });

        Assert.Equal(1400, device.Capabilities.MtuBytes);
        Assert.Equal(16, device.Capabilities.MaxBurst);
        Assert.Equal(ReadMac(pair.NamespaceA, pair.LinkA), device.HardwareAddress.ToArray());
        Assert.True(device.Pool.FrameBytes - device.Pool.HeadroomBytes >= 1400 + 18);
    }

    [PrivilegedFact("ip")]
    public void MissingOrDownInterfaceFailsWithWhatToDo()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);

        DriverException missing = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() =>
            Open(pair, new AfPacketOptions { InterfaceName = "skiffnone0" })).InnerException);
        Assert.Contains("does not exist in this network namespace", missing.Message);

        ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "set", pair.LinkA, "down");
        DriverException down = Assert.IsType<DriverException>(Assert.Throws<InvalidOperationException>(() =>
            Open(pair, new AfPacketOptions { InterfaceName = pair.LinkA })).InnerException);
        Assert.Contains($"ip link set dev {pair.LinkA} up", down.Message);
    }

    private static AfPacketDevice Open(NetnsPair pair, AfPacketOptions options, PacketPool? pool = null) =>
        NamespaceThread.Run(pair.NamespaceA, () => new AfPacketDevice(options, pool));

    private static void Send(AfPacketDevice device, byte[] frame)
    {
        Assert.True(device.Pool.TryAllocate(out PacketBuffer? buffer));
        Assert.True(buffer.TryAppend(frame.Length));
        frame.CopyTo(buffer.Data);
        Assert.Equal(1, device.TransmitBurst([buffer], Instant.Zero));
    }

    private static PacketBuffer Frame(PacketPool pool, int length)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? buffer));
        Assert.True(buffer.TryAppend(length));
        buffer.Data.Clear();
        if (length >= 14)
        {
            buffer.Data[..6].Fill(0xff);
            buffer.Data[12] = 0x88; // local experimental EtherType 0x88b5
            buffer.Data[13] = 0xb5;
        }
        return buffer;
    }

    /// <summary>Receives until <paramref name="want"/> frames match or <paramref name="timeout"/> passes; returns copies of the matches and frees every buffer.</summary>
    private static List<Received> Collect(AfPacketDevice device, Func<byte[], bool> match, int want, TimeSpan timeout)
    {
        List<Received> found = [];
        PacketBuffer[] burst = new PacketBuffer[32];
        Stopwatch watch = Stopwatch.StartNew();
        while (found.Count < want && watch.Elapsed < timeout)
        {
            int n = device.ReceiveBurst(burst, Instant.Zero);
            for (int k = 0; k < n; k++)
            {
                byte[] data = burst[k].Data.ToArray();
                if (found.Count < want && match(data))
                {
                    found.Add(new Received(data, burst[k].Checksum, burst[k].Queue));
                }
                burst[k].Free();
            }
            if (n == 0)
            {
                device.Wait(10);
            }
        }
        if (want != int.MaxValue && found.Count < want)
        {
            throw new TimeoutException($"Received {found.Count} of {want} expected frames within {timeout.TotalSeconds:0.#} s; counters: {device.ReadStatistics()}.");
        }
        return found;
    }

    private static void Drain(AfPacketDevice device, TimeSpan quiet) => Collect(device, _ => false, int.MaxValue, quiet);

    /// <summary>Makes the kernel in B connect to <paramref name="port"/> on A (nobody answers: SYN and a retransmission) and returns the SYNs seen.</summary>
    private static List<Received> ConnectFromB(NetnsPair pair, AfPacketDevice device, int port)
    {
        byte[] kernel = Ip(pair.Ipv4B);
        using PeerCommand connect = StartInB(pair, "bash", "-c", $"exec 3<>/dev/tcp/{pair.Ipv4A}/{port}");
        List<Received> syns = Collect(device, f => TryGetTcp(f, kernel, out _, out int tcp, out _) && ((f[tcp + 2] << 8) | f[tcp + 3]) == port, want: 1, s_wait);
        return syns;
    }

    private static void SendUdpFlowsFromB(NetnsPair pair, string address, int firstPort, int flows, int perFlow)
    {
        string script = $"for p in $(seq {firstPort} {firstPort + flows - 1}); do exec 3>/dev/udp/{address}/$p; for i in $(seq 1 {perFlow}); do echo skiff-$i >&3; done; exec 3>&-; done";
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("bash"), "-c", script));
    }

    /// <summary>Tells the kernel in B that <paramref name="address"/> is at the device's MAC, so it sends IPv4 straight away (no ARP).</summary>
    private static void StaticNeighbour(NetnsPair pair, string address, AfPacketDevice device) =>
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "neigh", "replace", address, "lladdr", Convert.ToHexString(device.HardwareAddress).ToLowerInvariant().Chunk(2).Select(c => new string(c)).Aggregate((a, b) => a + ":" + b), "dev", pair.LinkB);

    private static byte[] ReadMac(string ns, string link)
    {
        string output = ExternalTools.Check("ip", "-n", ns, "-o", "link", "show", link).Output;
        string[] words = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return Convert.FromHexString(words[Array.IndexOf(words, "link/ether") + 1].Replace(":", ""));
    }

    private static PeerCommand StartInB(NetnsPair pair, string tool, params string[] args) =>
        new(ExternalTools.Start("ip", NetnsPair.In(pair.NamespaceB, [ExternalTools.Require(tool), .. args])));

    /// <summary>A program running in namespace B; dispose kills it if it still runs, so nothing outlives the test.</summary>
    private sealed class PeerCommand(Process process) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the kill.
            }
            process.Dispose();
        }
    }
}
