using Skiff.Stack.Ipv4;
using Skiff.Stack.Ndp;

namespace Skiff.Stack.Ipv6;

/// <summary>
/// IPv6 on an interface (<see cref="InterfaceOptions.Ipv6"/>): addresses, duplicate address detection, neighbour
/// discovery and router discovery. Without it the interface is IPv4-only and drops IPv6 frames as an unknown EtherType.
/// </summary>
public sealed record Ipv6Options
{
    /// <summary>Static addresses with their prefixes (e.g. fd00::2/64); each prefix is on-link. Default none.</summary>
    public IReadOnlyList<Ipv6Prefix> Addresses { get; init; } = [];

    /// <summary>Form fe80::/64 from the MAC's modified EUI-64 identifier (RFC 4291 appendix A). Default on; NDP needs it.</summary>
    public bool LinkLocal { get; init; } = true;

    /// <summary>DupAddrDetectTransmits (RFC 4862 section 5.1): solicitations sent before an address is used; 0 skips DAD. Default 1.</summary>
    public int DupAddrDetectTransmits { get; init; } = 1;

    /// <summary>Send Router Solicitations when the link-local address is ready (RFC 4861 section 6.3.7). Default on.</summary>
    public bool RouterSolicitations { get; init; } = true;

    /// <summary>MAX_RTR_SOLICITATIONS: solicitations before giving up until an unsolicited RA arrives. Default 3.</summary>
    public int MaxRouterSolicitations { get; init; } = 3;

    /// <summary>RTR_SOLICITATION_INTERVAL. Default 4 s.</summary>
    public Duration RouterSolicitationInterval { get; init; } = Duration.FromSeconds(4);

    /// <summary>Form addresses from Router Advertisement prefixes with the A flag (SLAAC, RFC 4862 section 5.5). Default off.</summary>
    public bool Slaac { get; init; }

    /// <summary>Most addresses SLAAC may form. Default 4.</summary>
    public int MaxSlaacAddresses { get; init; } = 4;

    /// <summary>Act on Redirect messages (RFC 4861 section 8). Default off: redirects are dropped and counted.</summary>
    public bool AcceptRedirects { get; init; }

    /// <summary>Most default routers and most on-link prefixes kept from Router Advertisements. Default 8 each.</summary>
    public int MaxRouters { get; init; } = 8;

    /// <summary>Hop limit of packets we originate until an RA sets one. Default 64.</summary>
    public byte HopLimit { get; init; } = 64;

    /// <summary>The neighbour cache's bounds and NUD timers.</summary>
    public NeighborCacheOptions Neighbors { get; init; } = new();

    /// <summary>Reassembly bounds (the same shape as IPv4's; RFC 8200 section 4.5 gives 60 s to reassemble). Default timeout 60 s.</summary>
    public Ipv4ReassemblerOptions Reassembly { get; init; } = new() { Timeout = Duration.FromSeconds(60) };

    /// <summary>fe80::/64 with the modified EUI-64 interface identifier of <paramref name="mac"/> (RFC 4291 appendix A).</summary>
    public static Skiff.Wire.Ipv6Address LinkLocalFor(Skiff.Wire.MacAddress mac) =>
        new(new UInt128(0xFE80_0000_0000_0000UL, Ipv6State.InterfaceIdentifier(mac)));

    /// <summary>Checks the options; throws <see cref="ArgumentException"/> with a sentence naming the problem.</summary>
    public void Validate(int mtuBytes)
    {
        if (mtuBytes < 1280)
        {
            throw new ArgumentException($"IPv6 needs an MTU of at least 1280 bytes (RFC 8200 section 5); the interface has {mtuBytes}.");
        }
        foreach (Ipv6Prefix p in Addresses ?? [])
        {
            if (p.Address.IsMulticast || p.Address.IsUnspecified || p.Address == Skiff.Wire.Ipv6Address.Loopback)
            {
                throw new ArgumentException($"{p} is not a unicast IPv6 address; give one such as fd00::2/64.");
            }
        }
        if (DupAddrDetectTransmits is < 0 or > 10 || MaxRouterSolicitations < 0 || MaxSlaacAddresses < 0 || MaxRouters < 1)
        {
            throw new ArgumentException("IPv6: DupAddrDetectTransmits must lie between 0 and 10, and the counts and bounds must not be negative.");
        }
        if (RouterSolicitationInterval <= Duration.Zero)
        {
            throw new ArgumentException("IPv6: the router solicitation interval must be positive.");
        }
    }
}
