using System.Net;

namespace Skiff.Drivers.Linux.Tests;

/// <summary><see cref="LinuxDevices.Open"/>: every driver by name on a veth end, and failures as <see cref="DriverException"/> sentences.</summary>
public sealed class LinuxDevicesTests
{
    [Fact]
    public void An_unknown_driver_name_is_a_sentence_naming_the_choices()
    {
        using PacketPool pool = new(256);
        DriverException e = Assert.Throws<DriverException>(() => LinuxDevices.Open("dpdk", "eth0", pool));
        Assert.Equal("There is no driver named 'dpdk'; choose one of afxdp, afpacket, tap.", e.Message);
    }

    [Fact]
    public void A_missing_interface_is_a_DriverException_not_a_crash()
    {
        using PacketPool pool = new(4096);
        foreach (string driver in new[] { "afpacket", "afxdp" })
        {
            DriverException e = Assert.Throws<DriverException>(() => LinuxDevices.Open(driver, "skiff-no-if0", pool));
            // As root: the interface is missing; otherwise the privilege is, and the sentence says so.
            Assert.Matches(Environment.IsPrivilegedProcess ? "skiff-no-if0" : "CAP_", e.Message);
        }
        Assert.Equal(0, pool.InUse);
    }

    [PrivilegedFact("ip")]
    public void Afpacket_and_afxdp_open_by_name_with_the_interfaces_MAC()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        string linkA = ExternalTools.Check("ip", "-n", pair.NamespaceA, "-o", "link", "show", pair.LinkA).Output;
        string[] words = linkA.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        string mac = words[Array.IndexOf(words, "link/ether") + 1];
        using PacketPool pool = new(4096);
        foreach ((string driver, string prefix) in new[] { ("afpacket", "af_packet:"), ("afxdp", "af_xdp:") })
        {
            // afxdp reads the MAC from sysfs, which shows the namespace it was mounted in: a thread that only entered the
            // namespace may not see it there (the Kestrel sample test runs under `ip netns exec`, which remounts sysfs).
            using LinuxDevice device = NamespaceThread.Run(pair.NamespaceA, () =>
                LinuxDevices.Open(driver, pair.LinkA, pool, steerAddresses: [IPAddress.Parse(pair.Ipv4A)]));
            Assert.StartsWith(prefix + pair.LinkA, device.Description);
            Assert.Same(pool, device.Device.Pool);
            if (driver == "afpacket")
            {
                Assert.Equal(mac.Replace(":", "").ToUpperInvariant(), device.HardwareAddress?.ToString());
            }
        }
    }
}
