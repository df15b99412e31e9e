using Skiff.Stack.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv6;

/// <summary>Addresses (RFC 4291 appendix A), duplicate address detection (RFC 4862 section 5.4) and MLDv2 joins (RFC 3810).</summary>
public sealed class AddressTests
{
    [Fact]
    public void The_link_local_address_is_the_modified_eui64_of_the_mac_and_statics_follow()
    {
        using Ipv6Harness h = new();
        Assert.Equal([Ipv6Harness.LinkLocal, Ipv6Harness.Global], h.Stack.Ipv6Addresses.Select(a => a.Address));
        Assert.Equal(Ipv6Address.Parse("fe80::a8bb:ccff:fedd:eeff"),
            new Ipv6Address(new UInt128(0xFE80_0000_0000_0000UL, Ipv6State.InterfaceIdentifier(MacAddress.Parse("aa:bb:cc:dd:ee:ff")))));
        Assert.All(h.Stack.Ipv6Addresses, a => Assert.Equal(Ipv6AddressState.Tentative, a.State));
    }

    [Fact]
    public void Dad_joins_the_groups_with_an_mldv2_report_then_solicits_from_unspecified_and_uses_the_address_a_retrans_timer_later()
    {
        using Ipv6Harness h = new();
        h.Poll();
        var reports = h.SentIcmp(Icmpv6Type.MulticastListenerReportV2);
        Assert.Single(reports);
        Assert.Equal(Ipv6Address.Parse("ff02::16"), reports[0].Ip.Destination);
        Assert.Equal(1, reports[0].Ip.HopLimit);
        Assert.Equal(IpProtocol.HopByHop, reports[0].Ip.NextHeader); // Router Alert
        Assert.Equal(Ipv6Address.Unspecified, reports[0].Ip.Source); // the link-local address is still tentative
        Assert.Equal(1, reports[0].Message[7]); // one record: fe80::ff:fe00:1 and fd00::1 share ff02::1:ff00:1
        Assert.Equal(4, reports[0].Message[8]); // CHANGE_TO_EXCLUDE_MODE
        var dad = h.SentIcmp(Icmpv6Type.NeighborSolicitation);
        Assert.Equal(2, dad.Count);
        Assert.All(dad, d =>
        {
            Assert.Equal(Ipv6Address.Unspecified, d.Ip.Source);
            Assert.Equal(d.Icmp.TargetAddress.SolicitedNode, d.Ip.Destination);
            Assert.Equal(MacAddress.FromIpv6Multicast(d.Ip.Destination), d.Eth.Destination);
            Assert.Equal(255, d.Ip.HopLimit);
            Assert.Null(d.Icmp.SourceLinkLayerAddress);
        });
        Assert.True(Ipv6Harness.Parse(h.Sent[0], out _, out _, out byte[] first, out _));
        Assert.Equal((byte)Icmpv6Type.MulticastListenerReportV2, first[0]); // the join goes out before the solicitations

        // Tentative: an echo request to the address is discarded.
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global));
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6NotForUs));

        h.Advance(Duration.FromMillis(900));
        Assert.All(h.Stack.Ipv6Addresses, a => Assert.Equal(Ipv6AddressState.Tentative, a.State));
        h.Advance(Duration.FromMillis(200));
        Assert.All(h.Stack.Ipv6Addresses, a => Assert.Equal(Ipv6AddressState.Preferred, a.State));
        Assert.Single(h.SentIcmp(Icmpv6Type.MulticastListenerReportV2)); // the robustness repeat (RFC 3810: robustness variable 2)
    }

    [Fact]
    public void Several_dad_transmits_are_a_retrans_timer_apart()
    {
        using Ipv6Harness h = new(new Ipv6Options { LinkLocal = false, Addresses = [Ipv6Prefix.Parse("fd00::1/64")], DupAddrDetectTransmits = 3, RouterSolicitations = false });
        h.Poll();
        h.Advance(Duration.FromMillis(2900));
        Assert.Equal(3, h.SentIcmp(Icmpv6Type.NeighborSolicitation).Count);
        Assert.Equal(Ipv6AddressState.Tentative, h.Stack.Ipv6Addresses[0].State);
        h.Advance(Duration.FromMillis(200));
        Assert.Equal(Ipv6AddressState.Preferred, h.Stack.Ipv6Addresses[0].State);
        Assert.Equal(3, h.SentIcmp(Icmpv6Type.NeighborSolicitation).Count);
    }

    [Fact]
    public void Without_dad_the_addresses_are_used_at_once()
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [Ipv6Prefix.Parse("fd00::1/64")], DupAddrDetectTransmits = 0, RouterSolicitations = false });
        Assert.All(h.Stack.Ipv6Addresses, a => Assert.Equal(Ipv6AddressState.Preferred, a.State));
        h.Poll();
        Assert.Empty(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
    }

    [Fact]
    public void An_advertisement_for_a_tentative_address_makes_it_duplicate_reported_and_never_used()
    {
        using Ipv6Harness h = new();
        List<(Ipv6Address, MacAddress)> reported = [];
        h.Stack.DuplicateAddressDetected += (a, m) => reported.Add((a, m));
        h.Poll();
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborAdvertisement(Ipv6Harness.Global, NdpNeighborFlags.Override, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Address.AllNodes));
        h.Advance(Duration.FromSeconds(2));
        Assert.Equal([(Ipv6Harness.Global, Ipv6Harness.PeerMac)], reported);
        Assert.Equal(Ipv6AddressState.Duplicate, h.Stack.Ipv6Addresses[1].State);
        Assert.Equal(Ipv6AddressState.Preferred, h.Stack.Ipv6Addresses[0].State);
        Assert.Equal(1, h.Stack.Counters.DuplicateAddressesDetected);
        Assert.False(h.Stack.IsOurAddress(Ipv6Harness.Global));
        Assert.Equal(Ipv6Harness.LinkLocal, h.Stack.SourceFor(Ipv6Harness.PeerGlobal));

        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global));
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global.SolicitedNode));
        Assert.Empty(h.Sent);
    }

    [Fact]
    public void A_solicitation_from_unspecified_for_a_tentative_address_is_a_duplicate_unless_it_is_our_own_looped_back()
    {
        using Ipv6Harness h = new();
        h.Poll();
        byte[] own = Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, null), Ipv6Address.Unspecified, Ipv6Harness.Global.SolicitedNode);
        own[6 + 5] = 0x01; // the Ethernet source is our MAC: our own solicitation came back
        Ipv6Harness.OurMac.Write(own.AsSpan(6));
        h.Receive(own);
        Assert.Equal(Ipv6AddressState.Tentative, h.Stack.Ipv6Addresses[1].State);
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, null), Ipv6Address.Unspecified, Ipv6Harness.Global.SolicitedNode));
        Assert.Equal(Ipv6AddressState.Duplicate, h.Stack.Ipv6Addresses[1].State);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.Ipv6DuplicateAddress));
    }

    [Fact]
    public void An_ipv4_only_interface_drops_ipv6_as_before()
    {
        using PacketPool pool = new(64);
        Interface stack = new(new InterfaceOptions { Mac = Ipv6Harness.OurMac, Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")] }, pool);
        Assert.False(stack.Ipv6Enabled);
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        byte[] frame = Ipv6Harness.Echo(Ipv6Address.AllNodes);
        b.TrySetData(pool.HeadroomBytes, frame.Length);
        frame.CopyTo(b.Data);
        TxBuffer output = new(16, new DeviceCapabilities(MtuBytes: 1500));
        stack.Receive(Instant.Zero, new[] { b }, output);
        Assert.Equal(1, stack.Counters.Drops(DropReason.NotOurMac)); // 33:33:00:00:00:01 is not listened to
        Assert.Equal(0, pool.InUse);
    }
}
