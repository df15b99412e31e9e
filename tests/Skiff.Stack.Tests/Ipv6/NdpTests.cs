using System.Buffers.Binary;
using Skiff.Stack.Ipv6;
using Skiff.Stack.Ndp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv6;

/// <summary>Neighbor discovery (RFC 4861): NS/NA flags, hop limit 255, NUD states and timers, bounds, RS and RA, SLAAC.</summary>
public sealed class NdpTests
{
    private static byte[] SolicitUs(Ipv6Address target, byte hopLimit = 255) =>
        Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(target, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, target.SolicitedNode, hopLimit);

    private static byte[] Advertise(Ipv6Address target, NdpNeighborFlags flags, MacAddress? mac) =>
        Ipv6Harness.Icmp(Icmpv6Repr.NeighborAdvertisement(target, flags, mac), target, Ipv6Harness.Global);

    [Fact]
    public void A_solicitation_for_our_address_gets_a_solicited_override_advertisement_with_the_router_flag_clear()
    {
        using Ipv6Harness h = new();
        h.Start();
        h.Receive(SolicitUs(Ipv6Harness.Global));
        var na = Assert.Single(h.SentIcmp(Icmpv6Type.NeighborAdvertisement));
        Assert.Equal(NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, na.Icmp.NeighborFlags);
        Assert.Equal(0x60, na.Message[4]); // S and O are bits 30 and 29 of the word (grout#682 had them wrong)
        Assert.Equal(Ipv6Harness.Global, na.Icmp.TargetAddress);
        Assert.Equal(Ipv6Harness.OurMac, na.Icmp.TargetLinkLayerAddress);
        Assert.Equal(Ipv6Harness.Global, na.Ip.Source);
        Assert.Equal(Ipv6Harness.PeerGlobal, na.Ip.Destination);
        Assert.Equal(Ipv6Harness.PeerMac, na.Eth.Destination); // from the solicitation's source link-layer option
        Assert.Equal(255, na.Ip.HopLimit);
        Assert.True(h.Stack.Neighbors!.TryGet(Ipv6Harness.PeerGlobal, out NeighborState state, out MacAddress mac, out _));
        Assert.Equal(Ipv6Harness.PeerMac, mac);
        Assert.Equal(NeighborState.Delay, state); // created Stale (7.2.3), then used by the advertisement (7.3.3)
    }

    [Theory]
    [InlineData(Icmpv6Type.NeighborSolicitation)]
    [InlineData(Icmpv6Type.NeighborAdvertisement)]
    [InlineData(Icmpv6Type.RouterAdvertisement)]
    public void Every_ndp_message_with_a_hop_limit_below_255_is_dropped(Icmpv6Type type)
    {
        using Ipv6Harness h = new();
        h.Start();
        byte[] frame = type switch
        {
            Icmpv6Type.NeighborSolicitation => SolicitUs(Ipv6Harness.Global, hopLimit: 254),
            Icmpv6Type.NeighborAdvertisement => Ipv6Harness.Icmp(Icmpv6Repr.NeighborAdvertisement(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Override, Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Harness.Global, 64),
            _ => Ipv6Harness.Icmp(new Icmpv6Repr(Icmpv6Type.RouterAdvertisement, 0) { RouterLifetimeSeconds = 1800 }, Ipv6Harness.PeerLinkLocal, Ipv6Address.AllNodes, 64),
        };
        h.Receive(frame);
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NdpBadHopLimit));
        Assert.Empty(h.Stack.DefaultRouters);
    }

    [Fact]
    public void Dad_for_our_address_is_answered_to_all_nodes_without_the_solicited_flag()
    {
        using Ipv6Harness h = new();
        h.Start();
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Harness.Global, null), Ipv6Address.Unspecified, Ipv6Harness.Global.SolicitedNode));
        var na = Assert.Single(h.SentIcmp(Icmpv6Type.NeighborAdvertisement));
        Assert.Equal(NdpNeighborFlags.Override, na.Icmp.NeighborFlags);
        Assert.Equal(Ipv6Address.AllNodes, na.Ip.Destination);
        Assert.Equal(MacAddress.FromIpv6Multicast(Ipv6Address.AllNodes), na.Eth.Destination);
    }

    [Fact]
    public void A_solicitation_for_another_address_is_counted_and_not_answered()
    {
        using Ipv6Harness h = new();
        h.Start();
        h.Receive(Ipv6Harness.Icmp(Icmpv6Repr.NeighborSolicitation(Ipv6Address.Parse("fd00::77"), Ipv6Harness.PeerMac), Ipv6Harness.PeerGlobal, Ipv6Address.Parse("ff02::1:ff00:1")));
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NdpNotForUs));
    }

    [Fact]
    public void Nud_walks_incomplete_reachable_stale_delay_probe_and_removes_a_silent_neighbour()
    {
        using Ipv6Harness h = new();
        h.Start();
        NeighborCache cache = h.Stack.Neighbors!;
        // An echo request from an unknown neighbour: the reply waits behind a multicast solicitation (INCOMPLETE).
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global));
        var ns = Assert.Single(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
        Assert.Equal(Ipv6Harness.PeerGlobal.SolicitedNode, ns.Ip.Destination);
        Assert.Equal(Ipv6Harness.Global, ns.Ip.Source);
        Assert.Equal(Ipv6Harness.OurMac, ns.Icmp.SourceLinkLayerAddress);
        Assert.Empty(h.SentIcmp(Icmpv6Type.EchoReply));
        Assert.True(cache.TryGet(Ipv6Harness.PeerGlobal, out NeighborState s, out _, out _));
        Assert.Equal(NeighborState.Incomplete, s);

        // A solicited advertisement: REACHABLE, and the queued reply leaves.
        h.Sent.Clear();
        h.Receive(Advertise(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, Ipv6Harness.PeerMac));
        var reply = Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply));
        Assert.Equal(Ipv6Harness.PeerMac, reply.Eth.Destination);
        cache.TryGet(Ipv6Harness.PeerGlobal, out s, out _, out _);
        Assert.Equal(NeighborState.Reachable, s);

        // ReachableTime is drawn in [15 s, 45 s): after 45 s the entry is STALE.
        Assert.InRange(cache.ReachableTime.TotalMicros, 15_000_000, 45_000_000);
        h.Advance(Duration.FromSeconds(46));
        cache.TryGet(Ipv6Harness.PeerGlobal, out s, out _, out _);
        Assert.Equal(NeighborState.Stale, s);

        // A use: sent at once, DELAY; 5 s later PROBE with a unicast solicitation.
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global, 2));
        Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply));
        cache.TryGet(Ipv6Harness.PeerGlobal, out s, out _, out _);
        Assert.Equal(NeighborState.Delay, s);
        h.Advance(Duration.FromMillis(4900));
        Assert.Empty(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
        h.Advance(Duration.FromMillis(200));
        var probe = Assert.Single(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
        Assert.Equal(Ipv6Harness.PeerGlobal, probe.Ip.Destination);
        Assert.Equal(Ipv6Harness.PeerMac, probe.Eth.Destination);
        cache.TryGet(Ipv6Harness.PeerGlobal, out s, out _, out _);
        Assert.Equal(NeighborState.Probe, s);

        // MAX_UNICAST_SOLICIT = 3 probes a RetransTimer apart, then the entry goes.
        h.Advance(Duration.FromMillis(3000));
        Assert.Equal(3, h.SentIcmp(Icmpv6Type.NeighborSolicitation).Count);
        Assert.False(cache.TryGet(Ipv6Harness.PeerGlobal, out _, out _, out _));
        Assert.Equal(1, cache.ProbeFailures);
    }

    [Fact]
    public void A_probe_answered_by_a_solicited_advertisement_makes_the_neighbour_reachable_again()
    {
        using Ipv6Harness h = new();
        h.Start();
        h.Receive(SolicitUs(Ipv6Harness.Global)); // learns the peer (Stale), answers (Delay)
        h.Advance(Duration.FromMillis(5100));
        Assert.Single(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
        h.Receive(Advertise(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited, null));
        h.Stack.Neighbors!.TryGet(Ipv6Harness.PeerGlobal, out NeighborState s, out _, out _);
        Assert.Equal(NeighborState.Reachable, s);
    }

    [Fact]
    public void An_advertisement_without_override_and_with_another_mac_only_makes_a_reachable_entry_stale()
    {
        using Ipv6Harness h = new();
        h.Start();
        h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global));
        h.Receive(Advertise(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override, Ipv6Harness.PeerMac));
        MacAddress other = new(0x02_00_00_00_00_99UL);
        h.Receive(Advertise(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Solicited, other));
        h.Stack.Neighbors!.TryGet(Ipv6Harness.PeerGlobal, out NeighborState s, out MacAddress mac, out _);
        Assert.Equal(NeighborState.Stale, s);
        Assert.Equal(Ipv6Harness.PeerMac, mac);
        h.Receive(Advertise(Ipv6Harness.PeerGlobal, NdpNeighborFlags.Override, other)); // override, unsolicited: new MAC, Stale
        h.Stack.Neighbors!.TryGet(Ipv6Harness.PeerGlobal, out s, out mac, out _);
        Assert.Equal((NeighborState.Stale, other), (s, mac));
    }

    [Fact]
    public void An_unanswered_resolution_sends_three_multicast_solicitations_then_drops_its_queue_which_is_bounded()
    {
        using Ipv6Harness h = new();
        h.Start();
        for (ushort i = 0; i < 5; i++)
        {
            h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global, i));
        }
        Assert.Single(h.SentIcmp(Icmpv6Type.NeighborSolicitation));
        Assert.Equal(2, h.Stack.Neighbors!.PendingDroppedOverflow); // 3 per destination
        h.Advance(Duration.FromMillis(2900));
        Assert.Equal(3, h.SentIcmp(Icmpv6Type.NeighborSolicitation).Count);
        h.Advance(Duration.FromMillis(200));
        Assert.Equal(3, h.Stack.Counters.Drops(DropReason.NeighborUnresolved));
        Assert.Equal(1, h.Stack.Neighbors.ResolutionFailures);
        Assert.Empty(h.SentIcmp(Icmpv6Type.EchoReply));
        Assert.Equal(0, h.Pool.InUse);
    }

    [Fact]
    public void The_cache_is_bounded_and_evicts_the_least_recently_used()
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [Ipv6Prefix.Parse("fd00::1/64")], RouterSolicitations = false, Neighbors = new NeighborCacheOptions { MaxEntries = 4 } });
        h.Start();
        for (int i = 0; i < 6; i++)
        {
            h.Receive(Ipv6Harness.Echo(Ipv6Harness.Global, from: Ipv6Address.Parse($"fd00::{i + 10:x}")));
        }
        Assert.Equal(4, h.Stack.Neighbors!.Count);
        Assert.Equal(2, h.Stack.Neighbors.Evictions);
        Assert.Equal(2, h.Stack.Neighbors.PendingDroppedEvicted);
        Assert.False(h.Stack.Neighbors.TryGet(Ipv6Address.Parse("fd00::a"), out _, out _, out _));
    }

    private static byte[] RouterAdvertisement(ushort lifetime, Ipv6Address? source = null, uint? mtu = 1400, byte flags = 0xC0, uint valid = 86400, uint preferred = 14400, string prefix = "fd01::")
    {
        byte[] pio = new byte[32];
        pio[0] = (byte)NdpOptionType.PrefixInformation;
        pio[1] = 4;
        pio[2] = 64;
        pio[3] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(pio.AsSpan(4), valid);
        BinaryPrimitives.WriteUInt32BigEndian(pio.AsSpan(8), preferred);
        Ipv6Address.Parse(prefix).Write(pio.AsSpan(16));
        Icmpv6Repr ra = new Icmpv6Repr(Icmpv6Type.RouterAdvertisement, 0)
        {
            CurrentHopLimit = 32,
            RouterLifetimeSeconds = lifetime,
            ReachableTimeMillis = 20000,
            RetransTimerMillis = 500,
            SourceLinkLayerAddress = Ipv6Harness.PeerMac,
            LinkMtu = mtu,
        };
        // The prefix option rides as "data" right after the RA header; the other options follow it.
        return Ipv6Harness.Icmp(ra, source ?? Ipv6Harness.PeerLinkLocal, Ipv6Address.AllNodes, data: pio);
    }

    [Fact]
    public void Router_solicitations_start_when_the_link_local_address_is_ready_and_stop_at_an_advertisement()
    {
        using Ipv6Harness h = new(new Ipv6Options());
        h.Poll();
        Assert.Empty(h.SentIcmp(Icmpv6Type.RouterSolicitation));
        h.Advance(Duration.FromMillis(1100));
        var rs = Assert.Single(h.SentIcmp(Icmpv6Type.RouterSolicitation));
        Assert.Equal((Ipv6Harness.LinkLocal, Ipv6Address.AllRouters, (byte)255), (rs.Ip.Source, rs.Ip.Destination, rs.Ip.HopLimit));
        Assert.Equal(Ipv6Harness.OurMac, rs.Icmp.SourceLinkLayerAddress);
        h.Advance(Duration.FromSeconds(4));
        Assert.Equal(2, h.SentIcmp(Icmpv6Type.RouterSolicitation).Count);
        h.Receive(RouterAdvertisement(1800));
        h.Advance(Duration.FromSeconds(20));
        Assert.Equal(2, h.SentIcmp(Icmpv6Type.RouterSolicitation).Count);
    }

    [Fact]
    public void A_router_advertisement_sets_the_default_router_prefix_mtu_hop_limit_and_timers_and_slaac_forms_an_address()
    {
        using Ipv6Harness h = new(new Ipv6Options { Slaac = true, RouterSolicitations = false });
        h.Start();
        h.Receive(RouterAdvertisement(1800));
        Assert.Equal([Ipv6Harness.PeerLinkLocal], h.Stack.DefaultRouters);
        Assert.Equal([Ipv6Prefix.Parse("fd01::/64")], h.Stack.OnLinkPrefixes);
        Assert.Equal(1400, h.Stack.Ipv6LinkMtu);
        Assert.Equal(32, h.Stack.Ipv6HopLimit);
        Assert.Equal(Duration.FromMillis(500), h.Stack.Neighbors!.RetransTimer);
        Assert.InRange(h.Stack.Neighbors.ReachableTime.TotalMicros, 10_000_000, 30_000_000);
        Assert.True(h.Stack.Neighbors.TryGet(Ipv6Harness.PeerLinkLocal, out NeighborState s, out MacAddress mac, out bool router));
        Assert.Equal((NeighborState.Stale, Ipv6Harness.PeerMac, true), (s, mac, router));

        Ipv6Address slaac = Ipv6Address.Parse("fd01::ff:fe00:1");
        Ipv6InterfaceAddress formed = h.Stack.Ipv6Addresses.Single(a => a.Origin == Ipv6AddressOrigin.Slaac);
        Assert.Equal((slaac, Ipv6AddressState.Tentative), (formed.Address, formed.State));
        var dad = h.SentIcmp(Icmpv6Type.NeighborSolicitation);
        h.Advance(Duration.FromMillis(600)); // the RA's RetransTimer: 500 ms
        Assert.Contains(h.SentIcmp(Icmpv6Type.NeighborSolicitation), d => d.Icmp.TargetAddress == slaac && d.Ip.Source.IsUnspecified);
        Assert.True(h.Stack.IsOurAddress(slaac));
        Assert.Equal(slaac, h.Stack.SourceFor(Ipv6Address.Parse("2001:db8::1"))); // off-link, through the router

        // Off-link traffic goes to the router's MAC.
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(slaac, from: Ipv6Address.Parse("2001:db8::1")));
        Assert.Equal(Ipv6Harness.PeerMac, Assert.Single(h.SentIcmp(Icmpv6Type.EchoReply)).Eth.Destination);

        // Lifetime 0 removes the router at once.
        h.Receive(RouterAdvertisement(0));
        Assert.Empty(h.Stack.DefaultRouters);
        h.Sent.Clear();
        h.Receive(Ipv6Harness.Echo(slaac, 2, from: Ipv6Address.Parse("2001:db8::1")));
        Assert.Empty(h.Sent);
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NoRoute));
        Assert.DoesNotContain(dad, d => d.Icmp.TargetAddress == slaac && !d.Ip.Source.IsUnspecified);
    }

    [Fact]
    public void Without_slaac_a_prefix_is_on_link_only_an_advertisement_from_a_global_source_is_invalid_and_bad_mtus_are_ignored()
    {
        using Ipv6Harness h = new(new Ipv6Options { RouterSolicitations = false });
        h.Start();
        h.Receive(RouterAdvertisement(1800, mtu: 1000));
        Assert.Equal(1500, h.Stack.Ipv6LinkMtu); // below IPv6's minimum of 1280
        Assert.Equal([Ipv6Prefix.Parse("fd01::/64")], h.Stack.OnLinkPrefixes);
        Assert.DoesNotContain(h.Stack.Ipv6Addresses, a => a.Origin == Ipv6AddressOrigin.Slaac);
        h.Receive(RouterAdvertisement(1800, source: Ipv6Address.Parse("fd01::1"), mtu: 9000));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NdpInvalid));
        h.Receive(RouterAdvertisement(1800, flags: 0x80, valid: 0));
        Assert.Empty(h.Stack.OnLinkPrefixes);
    }

    [Fact]
    public void Redirects_are_dropped_and_counted()
    {
        using Ipv6Harness h = new();
        h.Start();
        byte[] body = new byte[32];
        Ipv6Harness.PeerGlobal.Write(body);
        Ipv6Address.Parse("fd00::99").Write(body.AsSpan(16));
        byte[] message = new byte[40];
        message[0] = (byte)Icmpv6Type.Redirect;
        body.CopyTo(message, 8);
        new Icmpv6Packet(message).FillChecksum(Ipv6Harness.PeerLinkLocal, Ipv6Harness.Global);
        h.Receive(Ipv6Harness.Packet(Ipv6Harness.PeerLinkLocal, Ipv6Harness.Global, IpProtocol.Icmpv6, message, 255));
        Assert.Equal(1, h.Stack.Counters.Drops(DropReason.NdpRedirectIgnored));
    }

    [Fact]
    public void Solicitations_that_found_no_buffer_are_counted_as_drops_not_as_sent()
    {
        using Ipv6Harness h = new(new Ipv6Options { Addresses = [Ipv6Prefix.Parse("fd00::1/64")], RouterSolicitations = true });
        List<PacketBuffer> held = [];
        while (h.Pool.TryAllocate(out PacketBuffer? b))
        {
            held.Add(b);
        }
        h.Advance(Duration.FromMillis(1500)); // DAD's solicitations and the first router solicitation fall due
        Assert.Empty(h.Sent);
        Assert.Equal(0, h.Stack.Counters.NeighborSolicitationsSent);
        Assert.Equal(0, h.Stack.Counters.RouterSolicitationsSent);
        Assert.True(h.Stack.Counters.Drops(DropReason.NoBuffer) >= 2);
        foreach (PacketBuffer b in held)
        {
            b.Free();
        }
        h.Advance(Duration.FromSeconds(9)); // the solicitations that follow go out, and are counted
        Assert.True(h.Stack.Counters.RouterSolicitationsSent >= 1);
        Assert.Equal(h.Sent.Count(f => f.Length > 54 && f[54] == (byte)Icmpv6Type.RouterSolicitation), (int)h.Stack.Counters.RouterSolicitationsSent);
    }
}
