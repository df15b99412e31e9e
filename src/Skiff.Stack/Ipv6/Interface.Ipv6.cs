using System.Buffers.Binary;
using Skiff.Stack.Ipv6;
using Skiff.Stack.Ndp;
using Skiff.Wire;

namespace Skiff.Stack;

/// <summary>IPv6 (phase 1 of issue 16): addresses, DAD, MLDv2 joins, router solicitation and the timers of all of them.</summary>
public sealed partial class Interface
{
    private const int MldRecordBytes = 20;
    private readonly Ipv6State? _v6;

    /// <summary>True when the interface speaks IPv6 (<see cref="InterfaceOptions.Ipv6"/> was given).</summary>
    public bool Ipv6Enabled => _v6 is not null;

    /// <summary>The IPv6 addresses with their DAD state (empty without IPv6).</summary>
    public IReadOnlyList<Ipv6InterfaceAddress> Ipv6Addresses
    {
        get
        {
            if (_v6 is null)
            {
                return [];
            }
            Ipv6InterfaceAddress[] list = new Ipv6InterfaceAddress[_v6.AddressCount];
            for (int i = 0; i < list.Length; i++)
            {
                ref Ipv6State.AddressEntry a = ref _v6.Addresses[i];
                list[i] = new Ipv6InterfaceAddress(a.Prefix, a.State, a.Origin);
            }
            return list;
        }
    }

    /// <summary>The neighbour cache (null without IPv6).</summary>
    public NeighborCache? Neighbors => _v6?.Neighbors;

    /// <summary>The default routers learned from Router Advertisements whose lifetime has not run out.</summary>
    public IReadOnlyList<Ipv6Address> DefaultRouters
    {
        get
        {
            List<Ipv6Address> list = [];
            for (int i = 0; _v6 is not null && i < _v6.RouterCount; i++)
            {
                if (_v6.Routers[i].Expires > _now)
                {
                    list.Add(_v6.Routers[i].Address);
                }
            }
            return list;
        }
    }

    /// <summary>The on-link prefixes learned from Router Advertisements (the L flag) whose lifetime has not run out.</summary>
    public IReadOnlyList<Ipv6Prefix> OnLinkPrefixes
    {
        get
        {
            List<Ipv6Prefix> list = [];
            for (int i = 0; _v6 is not null && i < _v6.PrefixCount; i++)
            {
                if (_v6.Prefixes[i].Expires > _now)
                {
                    list.Add(_v6.Prefixes[i].Prefix);
                }
            }
            return list;
        }
    }

    /// <summary>The IPv6 link MTU: the interface's, or lower when a Router Advertisement's MTU option says so.</summary>
    public int Ipv6LinkMtu => _v6?.LinkMtu ?? 0;

    /// <summary>The hop limit of packets we originate (an RA's Cur Hop Limit replaces the configured one).</summary>
    public byte Ipv6HopLimit => _v6?.HopLimit ?? 0;

    /// <summary>
    /// Raised when duplicate address detection finds another node using one of our addresses (RFC 4862 section 5.4.5): the
    /// address is not used. Arguments: the address and the MAC of the frame that revealed the duplicate. Raised on the loop.
    /// </summary>
    public event Action<Ipv6Address, MacAddress>? DuplicateAddressDetected;

    /// <summary>True if <paramref name="address"/> is one of our IPv6 addresses and DAD has passed.</summary>
    public bool IsOurAddress(Ipv6Address address) => _v6 is not null && _v6.IsUsable(_v6.Find(address), _now);

    /// <summary>The source address for packets to <paramref name="destination"/> (RFC 6724, simplified); unspecified when none is usable.</summary>
    public Ipv6Address SourceFor(Ipv6Address destination) => _v6?.SourceFor(destination, _now) ?? Ipv6Address.Unspecified;

    private static Ipv6State? CreateIpv6(InterfaceOptions options, UInt128 key)
    {
        if (options.Ipv6 is not Ipv6Options o)
        {
            return null;
        }
        Ipv6State v6 = new(o, options.MtuBytes, key, options.IcmpErrorsPerSecond);
        if (o.LinkLocal)
        {
            v6.TryAdd(new Ipv6Prefix(Ipv6Options.LinkLocalFor(options.Mac), 64), Ipv6AddressOrigin.LinkLocal, Instant.Never, Instant.Never, Instant.Zero);
        }
        foreach (Ipv6Prefix p in o.Addresses)
        {
            v6.TryAdd(p, Ipv6AddressOrigin.Static, Instant.Never, Instant.Never, Instant.Zero);
        }
        return v6;
    }

    /// <summary>Whether a multicast MAC carries a group we listen to (33:33 + the group's low 32 bits, RFC 2464 section 7).</summary>
    private bool IsOurMulticastMac(MacAddress mac)
    {
        if (_v6 is null || (mac.Value >> 32) != 0x3333)
        {
            return false;
        }
        uint low = (uint)mac.Value;
        if (low == (uint)Ipv6Address.AllNodes.Value)
        {
            return true;
        }
        for (int i = 0; i < _v6.AddressCount; i++)
        {
            if (low == (uint)_v6.Addresses[i].Prefix.Address.SolicitedNode.Value)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>IPv6's egress timers: MLD reports, DAD, router solicitation, NUD, reassembly expiry.</summary>
    private void PollIpv6()
    {
        if (_v6 is not Ipv6State v6)
        {
            return;
        }
        if (!v6.Started)
        {
            v6.Started = true;
            for (int i = 0; i < v6.AddressCount; i++)
            {
                v6.Addresses[i].DadAt = _now;
            }
            v6.MldAt = _now;
        }
        if (v6.MldReportsDue > 0 && _now >= v6.MldAt)
        {
            SendMldReport();
            v6.MldReportsDue--;
            v6.MldAt = v6.MldReportsDue > 0 ? _now + Duration.FromSeconds(1) : Instant.Never;
        }
        PollDad(v6);
        if (_now >= v6.RouterSolicitationAt)
        {
            if (v6.RouterAdvertisementSeen || v6.RouterSolicitationsSent >= v6.Options.MaxRouterSolicitations)
            {
                v6.RouterSolicitationAt = Instant.Never;
            }
            else
            {
                SendRouterSolicitation();
                v6.RouterSolicitationsSent++;
                v6.RouterSolicitationAt = _now + v6.Options.RouterSolicitationInterval;
            }
        }
        PollNeighbors(v6);
        while (v6.Reassembler.TryExpire(_now, out Skiff.Stack.Internal.FragmentTimeout<Ipv6FragmentKey> expired))
        {
            // RFC 8200 section 4.5: Time Exceeded (reassembly) only when fragment zero arrived; the quote is its
            // unfragmentable part, fragment header and the start of its data.
            if (!expired.IcmpQuote.IsEmpty)
            {
                Ipv6Repr quoted = new(expired.Key.Source, expired.Key.Destination, IpProtocol.Ipv6Fragment, 0, 0);
                SendIcmpv6Error(expired.IcmpQuote, quoted, multicast: false, Icmpv6Type.TimeExceeded, (byte)Icmpv6TimeExceededCode.FragmentReassemblyTimeExceeded, 0, allowMulticast: false);
            }
        }
    }

    // RFC 4862 section 5.4.2: DupAddrDetectTransmits solicitations from ::, RetransTimer apart; the address turns
    // Preferred RetransTimer after the last one if nobody objected.
    private void PollDad(Ipv6State v6)
    {
        for (int i = 0; i < v6.AddressCount; i++)
        {
            ref Ipv6State.AddressEntry a = ref v6.Addresses[i];
            if (a.State != Ipv6AddressState.Tentative || _now < a.DadAt)
            {
                continue;
            }
            if (a.DadSent < v6.Options.DupAddrDetectTransmits)
            {
                SendNeighborSolicitation(a.Prefix.Address, null, dad: true);
                a.DadSent++;
                a.DadAt = _now + v6.Neighbors.RetransTimer;
                continue;
            }
            a.State = Ipv6AddressState.Preferred;
            a.DadAt = Instant.Never;
            OnAddressPreferred(v6, a.Origin);
        }
    }

    private void OnAddressPreferred(Ipv6State v6, Ipv6AddressOrigin origin)
    {
        if (origin == Ipv6AddressOrigin.LinkLocal && v6.Options.RouterSolicitations && v6.RouterSolicitationsSent == 0)
        {
            v6.RouterSolicitationAt = _now;
        }
    }

    private void PollNeighbors(Ipv6State v6)
    {
        if (_now < v6.Neighbors.PollAt())
        {
            return;
        }
        NeighborPollResult result;
        do
        {
            result = v6.Neighbors.Poll(_now, v6.Solicitations, _scratch);
            for (int i = 0; i < result.SolicitationCount; i++)
            {
                SendNeighborSolicitation(v6.Solicitations[i].Target, v6.Solicitations[i].Destination, dad: false);
            }
            for (int i = 0; i < result.UnreachableCount; i++)
            {
                DropFrame(_scratch[i], DropReason.NeighborUnresolved);
                _scratch[i] = null!;
            }
        }
        while (result.HasMore);
    }

    private Instant Ipv6PollAt()
    {
        if (_v6 is not Ipv6State v6)
        {
            return Instant.Never;
        }
        if (!v6.Started)
        {
            return Instant.Zero;
        }
        Instant at = Instant.Min(v6.MldAt, v6.RouterSolicitationAt);
        for (int i = 0; i < v6.AddressCount; i++)
        {
            if (v6.Addresses[i].State == Ipv6AddressState.Tentative)
            {
                at = Instant.Min(at, v6.Addresses[i].DadAt);
            }
        }
        at = Instant.Min(at, v6.Neighbors.PollAt());
        return Instant.Min(at, v6.Reassembler.PollAt());
    }

    /// <summary>DAD failed for address <paramref name="i"/> (RFC 4862 section 5.4.5): it is never used, and the owner is told.</summary>
    private void OnDuplicateAddress(Ipv6State v6, int i, MacAddress from)
    {
        ref Ipv6State.AddressEntry a = ref v6.Addresses[i];
        a.State = Ipv6AddressState.Duplicate;
        a.DadAt = Instant.Never;
        Counters.DuplicateAddressesDetected++;
        DuplicateAddressDetected?.Invoke(a.Prefix.Address, from);
    }

    /// <summary>
    /// An MLDv2 report (RFC 3810 section 5.2) joining the solicited-node group of each address: CHANGE_TO_EXCLUDE_MODE
    /// records with no sources, to ff02::16 with hop limit 1 and a Router Alert (section 5), from the link-local
    /// address or, while it is still tentative, from :: (section 5.2.13). The all-nodes group is never reported.
    /// </summary>
    private void SendMldReport()
    {
        Ipv6State v6 = _v6!;
        Span<Ipv6Address> groups = stackalloc Ipv6Address[v6.Addresses.Length];
        int count = 0;
        for (int i = 0; i < v6.AddressCount; i++)
        {
            Ipv6Address g = v6.Addresses[i].Prefix.Address.SolicitedNode;
            if (v6.Addresses[i].State != Ipv6AddressState.Duplicate && !groups[..count].Contains(g))
            {
                groups[count++] = g;
            }
        }
        if (count == 0)
        {
            return;
        }
        const int HopByHopBytes = 8;
        int icmpLength = 8 + count * MldRecordBytes;
        if (!TryAllocateL4(HopByHopBytes + icmpLength, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return;
        }
        Span<byte> data = buffer.Data;
        // Hop-by-Hop: next header ICMPv6, length 0 (8 bytes), Router Alert (type 5, length 2, value 0 = MLD), PadN of 2.
        data[0] = (byte)IpProtocol.Icmpv6;
        data[1] = 0;
        data[2] = (byte)Ipv6OptionType.RouterAlert;
        data[3] = 2;
        data[4] = 0;
        data[5] = 0;
        data[6] = (byte)Ipv6OptionType.PadN;
        data[7] = 0;
        Span<byte> icmp = data[HopByHopBytes..];
        icmp[..8].Clear();
        icmp[0] = (byte)Icmpv6Type.MulticastListenerReportV2;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], (ushort)count);
        for (int i = 0; i < count; i++)
        {
            Span<byte> record = icmp.Slice(8 + i * MldRecordBytes, MldRecordBytes);
            record[0] = 4; // CHANGE_TO_EXCLUDE_MODE: join (section 5.2.12)
            record[1] = 0;
            record[2] = 0;
            record[3] = 0;
            groups[i].Write(record[4..]);
        }
        Ipv6Address source = v6.UsableLinkLocal(_now);
        Ipv6Address destination = new(new UInt128(0xFF02_0000_0000_0000UL, 0x16));
        new Icmpv6Packet(icmp).FillChecksum(source, destination);
        Counters.MldReportsSent++;
        SendIpv6(buffer, source, destination, IpProtocol.HopByHop, hopLimit: 1);
    }

    /// <summary>A Router Solicitation (RFC 4861 section 6.3.7) to all-routers, with our MAC unless the source is ::.</summary>
    private void SendRouterSolicitation()
    {
        Ipv6Address source = _v6!.UsableLinkLocal(_now);
        Icmpv6Repr repr = Icmpv6Repr.RouterSolicitation(source.IsUnspecified ? null : _options.Mac);
        if (SendNdp(repr, source, Ipv6Address.AllRouters))
        {
            Counters.RouterSolicitationsSent++;
        }
    }

    /// <summary>
    /// A Neighbor Solicitation for <paramref name="target"/> (RFC 4861 section 7.2.2): multicast to its solicited-node
    /// group to resolve, unicast to <paramref name="unicast"/> to probe, or for DAD from :: without our MAC (RFC 4862 5.4.2).
    /// </summary>
    private void SendNeighborSolicitation(Ipv6Address target, MacAddress? unicast, bool dad)
    {
        Ipv6Address source = dad ? Ipv6Address.Unspecified : _v6!.SourceFor(target, _now);
        Icmpv6Repr repr = Icmpv6Repr.NeighborSolicitation(target, source.IsUnspecified ? null : _options.Mac);
        bool sent = unicast is MacAddress mac ? SendNdp(repr, source, target, mac) : SendNdp(repr, source, target.SolicitedNode);
        if (sent)
        {
            Counters.NeighborSolicitationsSent++;
        }
    }

    /// <summary>
    /// Builds an NDP message with hop limit 255 and sends it: to <paramref name="mac"/> directly, or resolved as any
    /// packet. False when no buffer was free, so the callers' sent counters count only messages that were built.
    /// </summary>
    private bool SendNdp(in Icmpv6Repr repr, Ipv6Address source, Ipv6Address destination, MacAddress? mac = null)
    {
        if (!TryAllocateL4(repr.BufferLength, out PacketBuffer? buffer))
        {
            Counters.Drop(DropReason.NoBuffer);
            return false;
        }
        repr.Emit(new Icmpv6Packet(buffer.Data), source, destination);
        if (mac is MacAddress direct)
        {
            if (!buffer.TryPrepend(Ipv6Packet.HeaderLength))
            {
                DropFrame(buffer, DropReason.NoBuffer);
                return false;
            }
            new Ipv6Repr(source, destination, IpProtocol.Icmpv6, buffer.Length - Ipv6Packet.HeaderLength, 255).Emit(new Ipv6Packet(buffer.Data));
            TransmitIpv6Frame(buffer, direct);
            return true;
        }
        SendIpv6(buffer, source, destination, IpProtocol.Icmpv6, hopLimit: 255);
        return true;
    }
}
