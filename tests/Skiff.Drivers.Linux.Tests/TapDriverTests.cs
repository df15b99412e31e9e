using Skiff.Drivers.Linux.Tests.Support;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>
/// The driver suite over a TAP interface, plus the TAP driver's own contracts. The TAP interface lives in a namespace
/// of its own; its kernel side there has 10.98.N.2/24 and is the peer, and Skiff owns 10.98.N.1 through the fd.
/// </summary>
public sealed class TapDriverTests : DriverSuite
{
    /// <summary>How long a closed, non-persistent TAP interface may take to disappear (measured: milliseconds; bound generously for a loaded machine).</summary>
    private static readonly TimeSpan LinkTeardownBound = TimeSpan.FromSeconds(5);

    protected override DriverSetup Create()
    {
        TestNamespace ns = new("tap");
        PacketPool? pool = null;
        TapDevice? tap = null;
        try
        {
            int subnet = Random.Shared.Next(1, 255);
            string link = $"sktap{ns.Id}";
            pool = new PacketPool(4096);
            PacketPool framePool = pool;
            tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link }, framePool));
            ns.Ip("addr", "add", $"10.98.{subnet}.2/24", "dev", link);
            ns.Ip("link", "set", link, "up");
            // The setup disposes the device, its pool and the namespace, in that order (also if it fails).
            return new DriverSetup(tap, new Ipv4Address(10, 98, (byte)subnet, 1), ns.Name, link, new Ipv4Address(10, 98, (byte)subnet, 2), [ns]);
        }
        catch
        {
            tap?.Dispose();
            pool?.Dispose();
            ns.Dispose();
            throw;
        }
    }

    [PrivilegedFact("ip")]
    public void OpenCreatesTheInterfaceAndDisposeRemovesIt()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"sktap{ns.Id}";

        TapDevice tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link }, pool));
        try
        {
            Assert.True(tap.Created);
            Assert.Equal(link, tap.Name);
            Assert.Equal(1500, tap.Capabilities.MtuBytes);
            string details = ns.Ip("-d", "link", "show", link).Output;
            Assert.Contains("tun type tap", details);
        }
        finally
        {
            tap.Dispose();
        }
        // The kernel removes it once the last reference to the queue's file is gone, maybe a moment after Dispose.
        ns.WaitUntilLinkGone(link, LinkTeardownBound);
    }

    [PrivilegedFact("ip")]
    public void KernelChoosesTheNameWhenNoneIsGiven()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);

        using TapDevice tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions(), pool));

        Assert.StartsWith("tap", tap.Name);
        Assert.True(ns.HasLink(tap.Name));
    }

    [PrivilegedFact("ip")]
    public void AttachesToAnExistingPersistentTapAndLeavesIt()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"sktap{ns.Id}";
        ns.Ip("tuntap", "add", "dev", link, "mode", "tap");
        ns.Ip("link", "set", link, "mtu", "1400");

        TapDevice tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link }, pool));
        Assert.False(tap.Created);
        Assert.Equal(1400, tap.Capabilities.MtuBytes);
        tap.Dispose();

        Assert.True(ns.HasLink(link), "A persistent TAP interface must survive its queue being closed.");
    }

    [PrivilegedFact("ip")]
    public void PersistentOptionKeepsTheInterface()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"sktap{ns.Id}";

        NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link, Persistent = true }, pool)).Dispose();

        Assert.True(ns.HasLink(link));
        ns.Ip("link", "del", link);
    }

    [PrivilegedFact("ip")]
    public void NameTakenByANonTapInterfaceFailsWithWhatToDo()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"skveth{ns.Id}";
        ns.Ip("link", "add", link, "type", "veth", "peer", "name", $"skvpeer{ns.Id}");

        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() =>
            NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link }, pool)));

        DriverException driver = Assert.IsType<DriverException>(e.InnerException);
        Assert.Contains("is not a TAP interface", driver.Message);
        Assert.Contains($"ip link del {link}", driver.Message);
        Assert.True(ns.HasLink(link));
    }

    [PrivilegedFact("ip")]
    public void SecondQueueNeedsMultiQueue()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string single = $"sktap{ns.Id}";
        string multi = $"skmq{ns.Id}";

        NamespaceThread.Run(ns.Name, () =>
        {
            using TapDevice first = new(new TapOptions { Name = single }, pool);
            DriverException busy = Assert.Throws<DriverException>(() => new TapDevice(new TapOptions { Name = single }, pool));
            Assert.Contains("MultiQueue = true", busy.Message);

            using TapDevice queue0 = new(new TapOptions { Name = multi, MultiQueue = true }, pool);
            using TapDevice queue1 = new(new TapOptions { Name = multi, MultiQueue = true }, pool);
            Assert.True(queue0.Created);
            Assert.False(queue1.Created);
            return true;
        });

        ns.WaitUntilLinkGone(single, LinkTeardownBound);
        ns.WaitUntilLinkGone(multi, LinkTeardownBound);
    }

    [PrivilegedFact("ip")]
    public void ReopeningANameRightAfterCloseCreatesANewInterface()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"sktap{ns.Id}";

        // Close and reopen at once, many times: the old interface may still be torn down (or, if a process forked
        // meanwhile holds its file, still have its queue) when the new open runs. The new device must not attach to
        // the dying one and report Created = false, nor fail as busy: it waits for the name and creates a new one.
        NamespaceThread.Run(ns.Name, () =>
        {
            for (int i = 0; i < 20; i++)
            {
                using TapDevice tap = new(new TapOptions { Name = link }, pool);
                Assert.True(tap.Created, $"Reopen {i} of {link} reported attaching to an existing interface.");
            }
            return true;
        });

        ns.WaitUntilLinkGone(link, LinkTeardownBound);
    }

    [PrivilegedFact("ip", "ping")]
    public void BurstsMoveFramesAndOwnership()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(64);
        string link = $"sktap{ns.Id}";
        using TapDevice tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link, MaxBurst = 8 }, pool));
        ns.Ip("addr", "add", "10.97.1.2/24", "dev", link);
        ns.Ip("link", "set", link, "up");
        PacketBuffer[] burst = new PacketBuffer[8];

        // The kernel's ping to an address on the TAP's subnet starts with ARP requests, which the TAP hands to us.
        ExternalTools.Run("ip", NetnsPair.In(ns.Name, ExternalTools.Require("ping"), "-c", "1", "-W", "1", "10.97.1.1"));
        int received = 0;
        PacketBuffer? arp = null;
        for (int i = 0; i < 100 && arp is null; i++)
        {
            received = tap.ReceiveBurst(burst, Instant.FromMillis(7));
            for (int k = 0; k < received; k++)
            {
                if (arp is null && burst[k].Data.Length >= 42 && burst[k].Data[12] == 0x08 && burst[k].Data[13] == 0x06)
                {
                    arp = burst[k];
                }
                else
                {
                    burst[k].Free();
                }
            }
            Thread.Sleep(10);
        }
        Assert.NotNull(arp);
        Assert.Equal(pool.HeadroomBytes, arp.DataOffset);
        Assert.Equal(Instant.FromMillis(7), arp.Timestamp);
        Assert.True(tap.RxPackets >= 1);
        arp.Free();

        // Transmit: every frame is written and freed; an empty burst is a kick that holds nothing.
        Assert.Equal(0, tap.TransmitBurst([], Instant.Zero));
        for (int k = 0; k < 3; k++)
        {
            Assert.True(pool.TryAllocate(out PacketBuffer? frame));
            Assert.True(frame.TryAppend(60));
            frame.Data.Fill(0);
            MacAddress.Broadcast.Write(frame.Data);
            frame.Data[12] = 0x88; // local experimental EtherType 0x88b5
            frame.Data[13] = 0xb5;
            burst[k] = frame;
        }
        long before = tap.TxPackets;
        Assert.Equal(3, tap.TransmitBurst(burst.AsSpan(0, 3), Instant.Zero));
        Assert.Equal(before + 3, tap.TxPackets);
        Assert.Equal(0, pool.InUse);

        // Nothing waiting: a burst returns 0 and keeps no frame.
        while (tap.ReceiveBurst(burst, Instant.Zero) is int n and > 0)
        {
            for (int k = 0; k < n; k++)
            {
                burst[k].Free();
            }
        }
        Assert.Equal(0, tap.ReceiveBurst(burst, Instant.Zero));
        Assert.Equal(0, pool.InUse);
    }

    [PrivilegedFact("ip", "ping")]
    public void EmptyPoolIsCountedAndLeavesFramesQueued()
    {
        using TestNamespace ns = new("tap");
        using PacketPool pool = new(4);
        string link = $"sktap{ns.Id}";
        using TapDevice tap = NamespaceThread.Run(ns.Name, () => new TapDevice(new TapOptions { Name = link }, pool));
        ns.Ip("addr", "add", "10.97.2.2/24", "dev", link);
        ns.Ip("link", "set", link, "up");
        PacketBuffer[] held = new PacketBuffer[4];
        Assert.Equal(4, pool.AllocateBurst(held));
        ExternalTools.Run("ip", NetnsPair.In(ns.Name, ExternalTools.Require("ping"), "-c", "1", "-W", "1", "10.97.2.1"));

        PacketBuffer[] burst = new PacketBuffer[4];
        Assert.Equal(0, tap.ReceiveBurst(burst, Instant.Zero));
        Assert.True(tap.RxNoBuffer >= 1);

        pool.FreeBurst(held);
        int received = tap.ReceiveBurst(burst, Instant.Zero);
        Assert.True(received >= 1, "The frames refused for lack of a buffer must still be readable once buffers are free.");
        pool.FreeBurst(burst.AsSpan(0, received));
    }
}
