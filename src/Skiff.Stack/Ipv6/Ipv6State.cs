using Skiff.Stack.Internal;
using Skiff.Stack.Ndp;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Ipv6;

/// <summary>
/// The IPv6 half of an interface's state: its addresses and their DAD, the multicast groups it listens to, default
/// routers and on-link prefixes learned from RAs, the neighbour cache, reassembly and the ICMPv6 error limit. All of it
/// is allocated when the interface is built; every table is bounded.
/// </summary>
internal sealed class Ipv6State
{
    internal struct AddressEntry
    {
        public Ipv6Prefix Prefix;
        public Ipv6AddressState State;
        public Ipv6AddressOrigin Origin;
        public int DadSent;
        public Instant DadAt;
        public Instant ValidUntil;
        public Instant PreferredUntil;
    }

    internal struct RouterEntry
    {
        public Ipv6Address Address;
        public Instant Expires;
    }

    internal struct PrefixEntry
    {
        public Ipv6Prefix Prefix;
        public Instant Expires;
    }

    public const int MaxHeaderBytes = 40 + 8 + 512; // the unfragmentable part kept from fragment zero, fragment header included

    public Ipv6State(Ipv6Options options, int mtuBytes, UInt128 key, int icmpErrorsPerSecond)
    {
        Options = options;
        Addresses = new AddressEntry[(options.LinkLocal ? 1 : 0) + options.Addresses.Count + options.MaxSlaacAddresses];
        Routers = new RouterEntry[options.MaxRouters];
        Prefixes = new PrefixEntry[options.MaxRouters];
        Neighbors = new NeighborCache(options.Neighbors);
        Reassembler = new FragmentReassembler<Ipv6FragmentKey>(options.Reassembly, 48, MaxHeaderBytes, 65535 + 48);
        ErrorLimiter = new TcpRateLimiter(icmpErrorsPerSecond, Duration.FromSeconds(1));
        LinkMtu = mtuBytes;
        HopLimit = options.HopLimit;
        _random = (ulong)(key >> 17) | 1;
        BaseReachableTime = options.Neighbors.BaseReachableTime;
        Neighbors.ReachableTime = RandomReachableTime();
        FragmentId = (uint)NextRandom();
        Solicitations = new NeighborSolicitation[32];
    }

    private ulong _random;

    public Ipv6Options Options { get; }
    public AddressEntry[] Addresses { get; }
    public int AddressCount;
    public RouterEntry[] Routers { get; }
    public int RouterCount;
    public PrefixEntry[] Prefixes { get; }
    public int PrefixCount;
    public NeighborCache Neighbors { get; }
    public FragmentReassembler<Ipv6FragmentKey> Reassembler { get; }
    public TcpRateLimiter ErrorLimiter { get; }
    public NeighborSolicitation[] Solicitations { get; }
    public int LinkMtu;
    public byte HopLimit;
    public Duration BaseReachableTime;
    public uint FragmentId;
    public bool Started;
    public int MldReportsDue;
    public Instant MldAt = Instant.Never;
    public int RouterSolicitationsSent;
    public Instant RouterSolicitationAt = Instant.Never;
    public bool RouterAdvertisementSeen;

    /// <summary>ReachableTime: uniformly between 0.5 and 1.5 times BaseReachableTime (RFC 4861 section 6.3.2).</summary>
    public Duration RandomReachableTime()
    {
        long baseMicros = BaseReachableTime.TotalMicros;
        return Duration.FromMicros(baseMicros / 2 + (long)(NextRandom() % (ulong)Math.Max(1, baseMicros)));
    }

    public ulong NextRandom()
    {
        // xorshift64*: cheap, deterministic per key (tests fix the key), not predictable without it.
        _random ^= _random >> 12;
        _random ^= _random << 25;
        _random ^= _random >> 27;
        return _random * 0x2545F4914F6CDD1DUL;
    }

    /// <summary>The modified EUI-64 interface identifier of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    public static ulong InterfaceIdentifier(MacAddress mac)
    {
        ulong m = mac.Value;
        ulong upper = (m >> 24) ^ 0x02_0000; // the universal/local bit is inverted
        ulong lower = m & 0xFF_FFFF;
        return upper << 40 | 0xFF_FEUL << 24 | lower;
    }

    public int Find(Ipv6Address address)
    {
        for (int i = 0; i < AddressCount; i++)
        {
            if (Addresses[i].Prefix.Address == address)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>True when the address is ours and usable as a destination or a source.</summary>
    public bool IsUsable(int i, Instant now) => i >= 0 && Addresses[i].State is Ipv6AddressState.Preferred or Ipv6AddressState.Deprecated && now < Addresses[i].ValidUntil;

    /// <summary>The all-nodes group, and the solicited-node group of every address not found duplicate (tentative ones included: RFC 4862 5.4.2).</summary>
    public bool IsOurGroup(Ipv6Address group)
    {
        if (group == Ipv6Address.AllNodes)
        {
            return true;
        }
        for (int i = 0; i < AddressCount; i++)
        {
            if (Addresses[i].State != Ipv6AddressState.Duplicate && Addresses[i].Prefix.Address.SolicitedNode == group)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when a destination is on-link: link-local, in a static address's prefix or in an RA's on-link prefix.</summary>
    public bool IsOnLink(Ipv6Address destination, Instant now)
    {
        if (destination.IsLinkLocal)
        {
            return true;
        }
        for (int i = 0; i < AddressCount; i++)
        {
            if (Addresses[i].Origin == Ipv6AddressOrigin.Static && Addresses[i].Prefix.Contains(destination))
            {
                return true;
            }
        }
        for (int i = 0; i < PrefixCount; i++)
        {
            if (Prefixes[i].Expires > now && Prefixes[i].Prefix.Contains(destination))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>A default router whose lifetime has not run out, preferring one the neighbour cache does not hold as unreachable.</summary>
    public bool TryDefaultRouter(Instant now, out Ipv6Address router)
    {
        for (int i = 0; i < RouterCount; i++)
        {
            if (Routers[i].Expires > now)
            {
                router = Routers[i].Address;
                return true;
            }
        }
        router = default;
        return false;
    }

    /// <summary>
    /// The source for <paramref name="destination"/> (RFC 6724, simplified): the link-local address for link-local and
    /// link-scope multicast destinations, else the preferred address sharing the longest prefix with it, else any usable one.
    /// </summary>
    public Ipv6Address SourceFor(Ipv6Address destination, Instant now)
    {
        bool linkScope = destination.IsLinkLocal || (destination.IsMulticast && ((destination.High >> 48) & 0xF) == 2);
        int best = -1;
        int bestLength = -1;
        for (int i = 0; i < AddressCount; i++)
        {
            ref AddressEntry a = ref Addresses[i];
            if (!IsUsable(i, now) || (a.Prefix.Address.IsLinkLocal != linkScope && best >= 0))
            {
                continue;
            }
            int common = (int)UInt128.LeadingZeroCount(a.Prefix.Address.Value ^ destination.Value);
            if (a.State == Ipv6AddressState.Preferred && now < a.PreferredUntil)
            {
                common += 256; // a preferred address beats a deprecated one (rule 3)
            }
            if (a.Prefix.Address.IsLinkLocal == linkScope)
            {
                common += 512; // matching scope first (rule 2)
            }
            if (common > bestLength)
            {
                best = i;
                bestLength = common;
            }
        }
        return best < 0 ? Ipv6Address.Unspecified : Addresses[best].Prefix.Address;
    }

    /// <summary>The link-local address when DAD has passed, else unspecified (MLD and RS then use ::).</summary>
    public Ipv6Address UsableLinkLocal(Instant now)
    {
        for (int i = 0; i < AddressCount; i++)
        {
            if (Addresses[i].Origin == Ipv6AddressOrigin.LinkLocal && IsUsable(i, now))
            {
                return Addresses[i].Prefix.Address;
            }
        }
        return Ipv6Address.Unspecified;
    }

    public bool TryAdd(Ipv6Prefix prefix, Ipv6AddressOrigin origin, Instant validUntil, Instant preferredUntil, Instant now)
    {
        if (AddressCount == Addresses.Length)
        {
            return false;
        }
        bool dad = Options.DupAddrDetectTransmits > 0;
        Addresses[AddressCount++] = new AddressEntry
        {
            Prefix = prefix,
            Origin = origin,
            State = dad ? Ipv6AddressState.Tentative : Ipv6AddressState.Preferred,
            DadAt = now,
            ValidUntil = validUntil,
            PreferredUntil = preferredUntil,
        };
        // Join the new solicited-node group before DAD's solicitation (RFC 4862 5.4.2; RFC 3810 robustness: two reports).
        MldReportsDue = 2;
        MldAt = now;
        return true;
    }
}
