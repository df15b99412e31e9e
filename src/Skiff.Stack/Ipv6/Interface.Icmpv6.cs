using System.Buffers.Binary;
using Skiff.Stack.Ipv6;
using Skiff.Wire;

namespace Skiff.Stack;

public sealed partial class Interface
{
    private const int MinimumIpv6Mtu = 1280;
    private const byte NdpHopLimit = 255;

    /// <summary>ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861): the message starts at <paramref name="offset"/> of the packet in <paramref name="frame"/>.</summary>
    private void IngressIcmpv6(PacketBuffer frame, in Ipv6Repr ip, int offset, bool multicast, MacAddress sourceMac)
    {
        Ipv6State v6 = _v6!;
        Span<byte> message = frame.Data[offset..];
        if (Icmpv6Packet.TryCreate(message, out Icmpv6Packet icmp) != WireError.Ok)
        {
            DropFrame(frame, DropReason.Icmpv6Malformed);
            return;
        }
        bool verify = (frame.Checksum & ChecksumState.L4Verified) == 0;
        Icmpv6Type type = icmp.Type;
        bool ndp = type is Icmpv6Type.RouterSolicitation or Icmpv6Type.RouterAdvertisement or Icmpv6Type.NeighborSolicitation
            or Icmpv6Type.NeighborAdvertisement or Icmpv6Type.Redirect;
        if (ndp && ip.HopLimit != NdpHopLimit)
        {
            // RFC 4861 sections 6.1 and 7.1: hop limit 255 proves the message was not forwarded by a router.
            DropFrame(frame, DropReason.NdpBadHopLimit);
            return;
        }
        if (type == Icmpv6Type.Redirect)
        {
            // RFC 4861 section 8: redirects are opt-in (AcceptRedirects); phase 1 implements none, so they are counted.
            DropFrame(frame, DropReason.NdpRedirectIgnored);
            return;
        }
        if (type is Icmpv6Type.MulticastListenerQuery or Icmpv6Type.MulticastListenerReport or Icmpv6Type.MulticastListenerDone or Icmpv6Type.MulticastListenerReportV2)
        {
            DropFrame(frame, DropReason.Icmpv6Ignored); // a host answers queries; unsolicited reports keep our joins (docs/ipv6.md)
            return;
        }
        WireError error = Icmpv6Repr.TryParse(icmp, ip.Source, ip.Destination, verify, out Icmpv6Repr repr);
        if (error != WireError.Ok)
        {
            DropFrame(frame, error == WireError.BadChecksum ? DropReason.Icmpv6BadChecksum : ndp ? DropReason.NdpInvalid : DropReason.Icmpv6Malformed);
            return;
        }
        switch (type)
        {
            case Icmpv6Type.EchoRequest:
            {
                // RFC 4443 4.2: the reply carries the request's identifier, sequence and data; a request to a multicast
                // group is answered from a unicast address of ours (section 2.2).
                Ipv6Address source = multicast ? v6.SourceFor(ip.Source, _now) : ip.Destination;
                if (source.IsUnspecified || ip.Source.IsUnspecified)
                {
                    DropFrame(frame, DropReason.Icmpv6Ignored);
                    return;
                }
                frame.TrySetData(frame.DataOffset + offset, message.Length);
                (repr with { Type = Icmpv6Type.EchoReply }).Emit(new Icmpv6Packet(frame.Data), source, ip.Source);
                Counters.Icmpv6EchoRepliesSent++;
                SendIpv6(frame, source, ip.Source, IpProtocol.Icmpv6);
                return;
            }
            case Icmpv6Type.NeighborSolicitation:
                IngressNeighborSolicitation(frame, ip, repr, sourceMac);
                return;
            case Icmpv6Type.NeighborAdvertisement:
                IngressNeighborAdvertisement(frame, repr, sourceMac);
                return;
            case Icmpv6Type.RouterAdvertisement:
                IngressRouterAdvertisement(frame, ip, repr, icmp.Data);
                return;
            default:
                // Router solicitations (we are a host), echo replies, and errors, which phase 2 hands to TCP and UDP.
                DropFrame(frame, DropReason.Icmpv6Ignored);
                return;
        }
    }

    // RFC 4861 section 7.2.3 and 7.2.4, with RFC 4862 section 5.4.3 for tentative targets.
    private void IngressNeighborSolicitation(PacketBuffer frame, in Ipv6Repr ip, in Icmpv6Repr ns, MacAddress sourceMac)
    {
        Ipv6State v6 = _v6!;
        int i = v6.Find(ns.TargetAddress);
        if (i < 0 || v6.Addresses[i].State == Ipv6AddressState.Duplicate)
        {
            DropFrame(frame, DropReason.NdpNotForUs);
            return;
        }
        if (v6.Addresses[i].State == Ipv6AddressState.Tentative)
        {
            // From :: another node is checking the same address: both must give it up. Our own solicitation looped
            // back (same MAC) is not a duplicate. A solicitation from a unicast source is silently ignored.
            if (ip.Source.IsUnspecified && sourceMac != _options.Mac)
            {
                OnDuplicateAddress(v6, i, sourceMac);
                DropFrame(frame, DropReason.Ipv6DuplicateAddress);
                return;
            }
            DropFrame(frame, DropReason.NdpNotForUs);
            return;
        }
        frame.Free();
        if (ip.Source.IsUnspecified)
        {
            // Someone's DAD for our address: answer all-nodes, not solicited, override (RFC 4861 7.2.4).
            SendNeighborAdvertisement(ns.TargetAddress, Ipv6Address.AllNodes, NdpNeighborFlags.Override);
            return;
        }
        if (ns.SourceLinkLayerAddress is MacAddress sll)
        {
            SendResolved(v6.Neighbors.OnLinkLayerAddress(ip.Source, sll, isRouter: false, _now, _scratch), sll);
        }
        // Solicited, override (the target is ours, not anycast or proxied), router clear (we are a host).
        SendNeighborAdvertisement(ns.TargetAddress, ip.Source, NdpNeighborFlags.Solicited | NdpNeighborFlags.Override);
    }

    // RFC 4861 section 7.2.5, with RFC 4862 section 5.4.4 for tentative targets.
    private void IngressNeighborAdvertisement(PacketBuffer frame, in Icmpv6Repr na, MacAddress sourceMac)
    {
        Ipv6State v6 = _v6!;
        int i = v6.Find(na.TargetAddress);
        if (i >= 0)
        {
            MacAddress claimant = na.TargetLinkLayerAddress ?? sourceMac;
            if (v6.Addresses[i].State == Ipv6AddressState.Tentative && claimant != _options.Mac)
            {
                OnDuplicateAddress(v6, i, claimant);
                DropFrame(frame, DropReason.Ipv6DuplicateAddress);
                return;
            }
            // Someone else advertising an address we already use (or our own looped back): never learned.
            DropFrame(frame, claimant == _options.Mac ? DropReason.NdpNotForUs : DropReason.Ipv6DuplicateAddress);
            return;
        }
        int ready = v6.Neighbors.OnAdvertisement(na.TargetAddress, na.TargetLinkLayerAddress, na.NeighborFlags, _now, _scratch, out MacAddress mac);
        SendResolved(ready, mac);
        frame.Free();
    }

    // RFC 4861 sections 6.1.2 and 6.3.4; RFC 4862 section 5.5.3 (SLAAC).
    private void IngressRouterAdvertisement(PacketBuffer frame, in Ipv6Repr ip, in Icmpv6Repr ra, ReadOnlySpan<byte> options)
    {
        Ipv6State v6 = _v6!;
        if (!ip.Source.IsLinkLocal)
        {
            DropFrame(frame, DropReason.NdpInvalid);
            return;
        }
        v6.RouterAdvertisementSeen = true;
        if (ra.SourceLinkLayerAddress is MacAddress sll)
        {
            SendResolved(v6.Neighbors.OnLinkLayerAddress(ip.Source, sll, isRouter: true, _now, _scratch), sll);
        }
        if (ra.CurrentHopLimit != 0)
        {
            v6.HopLimit = ra.CurrentHopLimit;
        }
        if (ra.ReachableTimeMillis != 0 && Duration.FromMillis(ra.ReachableTimeMillis) != v6.BaseReachableTime)
        {
            v6.BaseReachableTime = Duration.FromMillis(Math.Min(ra.ReachableTimeMillis, 3_600_000u));
            v6.Neighbors.ReachableTime = v6.RandomReachableTime();
        }
        if (ra.RetransTimerMillis != 0)
        {
            v6.Neighbors.RetransTimer = Duration.FromMillis(ra.RetransTimerMillis);
        }
        if (ra.LinkMtu is uint mtu && mtu >= MinimumIpv6Mtu && mtu <= _options.MtuBytes)
        {
            v6.LinkMtu = (int)mtu;
            Tcp.LocalMssIpv6 = (int)mtu - Ipv6TcpOverhead; // connections opened from now on offer it
        }
        UpdateRouter(v6, ip.Source, ra.RouterLifetimeSeconds);
        NdpOptionReader reader = new(options);
        while (reader.MoveNext())
        {
            if (reader.Current.Type == NdpOptionType.PrefixInformation && reader.Current.Data.Length == 30)
            {
                OnPrefixInformation(v6, reader.Current.Data);
            }
        }
        frame.Free();
    }

    private void UpdateRouter(Ipv6State v6, Ipv6Address router, ushort lifetimeSeconds)
    {
        int r = 0;
        while (r < v6.RouterCount && v6.Routers[r].Address != router)
        {
            r++;
        }
        if (lifetimeSeconds == 0)
        {
            if (r < v6.RouterCount)
            {
                v6.Routers[r] = v6.Routers[--v6.RouterCount]; // RFC 4861 6.3.4: a zero lifetime removes it at once
            }
            return;
        }
        if (r == v6.RouterCount)
        {
            if (v6.RouterCount == v6.Routers.Length)
            {
                Counters.Drop(DropReason.NdpTableFull);
                return;
            }
            v6.RouterCount++;
        }
        v6.Routers[r] = new Ipv6State.RouterEntry { Address = router, Expires = _now + Duration.FromSeconds(lifetimeSeconds) };
    }

    // The Prefix Information option (RFC 4861 section 4.6.2): length, L and A flags, lifetimes, prefix.
    private void OnPrefixInformation(Ipv6State v6, ReadOnlySpan<byte> option)
    {
        int length = option[0];
        bool onLink = (option[1] & 0x80) != 0;
        bool autonomous = (option[1] & 0x40) != 0;
        uint valid = BinaryPrimitives.ReadUInt32BigEndian(option[2..]);
        uint preferred = BinaryPrimitives.ReadUInt32BigEndian(option[6..]);
        Ipv6Address address = Ipv6Address.Read(option[14..]);
        if (length > 128 || address.IsLinkLocal || address.IsMulticast)
        {
            return; // RFC 4861 6.3.4 and RFC 4862 5.5.3 b: the link-local prefix is ignored
        }
        Ipv6Prefix prefix = new Ipv6Prefix(address, length);
        prefix = new Ipv6Prefix(prefix.Network, length);
        if (onLink)
        {
            UpdateOnLinkPrefix(v6, prefix, valid);
        }
        if (autonomous && v6.Options.Slaac && length == 64 && preferred <= valid)
        {
            UpdateSlaacAddress(v6, prefix, valid, preferred);
        }
    }

    private Instant LifetimeEnd(uint seconds) => seconds == uint.MaxValue ? Instant.Never : _now + Duration.FromSeconds(seconds);

    private void UpdateOnLinkPrefix(Ipv6State v6, Ipv6Prefix prefix, uint valid)
    {
        int p = 0;
        while (p < v6.PrefixCount && v6.Prefixes[p].Prefix != prefix)
        {
            p++;
        }
        if (valid == 0)
        {
            if (p < v6.PrefixCount)
            {
                v6.Prefixes[p] = v6.Prefixes[--v6.PrefixCount];
            }
            return;
        }
        if (p == v6.PrefixCount)
        {
            if (v6.PrefixCount == v6.Prefixes.Length)
            {
                Counters.Drop(DropReason.NdpTableFull);
                return;
            }
            v6.PrefixCount++;
        }
        v6.Prefixes[p] = new Ipv6State.PrefixEntry { Prefix = prefix, Expires = LifetimeEnd(valid) };
    }

    // RFC 4862 section 5.5.3 d and e.
    private void UpdateSlaacAddress(Ipv6State v6, Ipv6Prefix prefix, uint valid, uint preferred)
    {
        Ipv6Address address = new(prefix.Network.Value | Ipv6State.InterfaceIdentifier(_options.Mac));
        int i = v6.Find(address);
        if (i < 0)
        {
            if (valid == 0)
            {
                return;
            }
            int slaac = 0;
            for (int a = 0; a < v6.AddressCount; a++)
            {
                slaac += v6.Addresses[a].Origin == Ipv6AddressOrigin.Slaac ? 1 : 0;
            }
            if (slaac >= v6.Options.MaxSlaacAddresses || !v6.TryAdd(new Ipv6Prefix(address, 64), Ipv6AddressOrigin.Slaac, LifetimeEnd(valid), LifetimeEnd(preferred), _now))
            {
                Counters.Drop(DropReason.NdpTableFull);
            }
            return;
        }
        ref Ipv6State.AddressEntry entry = ref v6.Addresses[i];
        if (entry.Origin != Ipv6AddressOrigin.Slaac)
        {
            return;
        }
        entry.PreferredUntil = LifetimeEnd(preferred);
        if (entry.State == Ipv6AddressState.Deprecated && preferred > 0)
        {
            entry.State = Ipv6AddressState.Preferred;
        }
        // The two-hour rule keeps a forged RA from killing an address at once.
        Duration twoHours = Duration.FromSeconds(7200);
        Instant received = LifetimeEnd(valid);
        if (received > _now + twoHours || received > entry.ValidUntil)
        {
            entry.ValidUntil = received;
        }
        else if (entry.ValidUntil > _now + twoHours)
        {
            entry.ValidUntil = _now + twoHours;
        }
    }

    /// <summary>A Neighbor Advertisement for our <paramref name="target"/> with our MAC (RFC 4861 section 7.2.4).</summary>
    private void SendNeighborAdvertisement(Ipv6Address target, Ipv6Address destination, NdpNeighborFlags flags)
    {
        if (SendNdp(Icmpv6Repr.NeighborAdvertisement(target, flags, _options.Mac), target, destination))
        {
            Counters.NeighborAdvertisementsSent++;
        }
    }

    /// <summary>
    /// An ICMPv6 error about <paramref name="packet"/> (from its IPv6 header), as RFC 4443 section 2.4 allows: never
    /// about an ICMPv6 error or a redirect, never to a source that is not a unicast address, never about a packet to a
    /// multicast address (link-layer or IPv6) unless <paramref name="allowMulticast"/> (Packet Too Big, and Parameter
    /// Problem code 2 for an option whose type says so); rate limited; quoting as much as fits in 1280 bytes.
    /// </summary>
    private void SendIcmpv6Error(ReadOnlySpan<byte> packet, in Ipv6Repr ip, bool multicast, Icmpv6Type type, byte code, uint word, bool allowMulticast)
    {
        Ipv6State v6 = _v6!;
        if (ip.Source.IsUnspecified || ip.Source.IsMulticast || (multicast && !allowMulticast) || IsIcmpv6Error(packet, ip.NextHeader))
        {
            return;
        }
        if (!v6.ErrorLimiter.TryAcquire(_now))
        {
            Counters.Drop(DropReason.Icmpv6RateLimited);
            return;
        }
        int quote = Math.Min(packet.Length, MinimumIpv6Mtu - Ipv6Packet.HeaderLength - 8);
        Icmpv6Repr repr = new Icmpv6Repr(type, code) { DataLength = quote, Mtu = word, Pointer = word };
        if (!TryAllocateL4(repr.BufferLength, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return;
        }
        packet[..quote].CopyTo(buffer.Data[8..]);
        int us = v6.Find(ip.Destination);
        Ipv6Address source = !ip.Destination.IsMulticast && v6.IsUsable(us, _now) ? ip.Destination : v6.SourceFor(ip.Source, _now);
        if (source.IsUnspecified)
        {
            buffer.Free();
            return;
        }
        repr.Emit(new Icmpv6Packet(buffer.Data), source, ip.Source);
        Counters.Icmpv6ErrorsSent++;
        SendIpv6(buffer, source, ip.Source, IpProtocol.Icmpv6);
    }

    /// <summary>True when the packet's upper layer is an ICMPv6 error or a redirect (RFC 4443 2.4 e.1).</summary>
    private static bool IsIcmpv6Error(ReadOnlySpan<byte> packet, IpProtocol next)
    {
        if (packet.Length <= Ipv6Packet.HeaderLength
            || Ipv6ExtensionHeaders.TryWalk(next, packet[Ipv6Packet.HeaderLength..], out Ipv6ExtensionChain chain) != WireError.Ok
            || chain.UpperLayerProtocol != IpProtocol.Icmpv6 || (chain.Fragment is Ipv6FragmentRepr f && f.Offset != 0))
        {
            return false;
        }
        int at = Ipv6Packet.HeaderLength + chain.UpperLayerOffset;
        return at < packet.Length && (packet[at] < 128 || packet[at] == (byte)Icmpv6Type.Redirect);
    }
}
