namespace Skiff.Wire;

/// <summary>Codes of ICMPv6 destination unreachable (RFC 4443 section 3.1). Other values are preserved.</summary>
public enum Icmpv6DestinationUnreachableCode : byte
{
    /// <summary>No route to the destination (RFC 4443 section 3.1).</summary>
    NoRoute = 0,
    /// <summary>A firewall or policy forbids communication with the destination (RFC 4443 section 3.1).</summary>
    AdministrativelyProhibited = 1,
    /// <summary>The destination is beyond the scope of the source address, e.g. a link-local source to an off-link destination (RFC 4443 section 3.1).</summary>
    BeyondScopeOfSource = 2,
    /// <summary>The address could not be resolved or reached, e.g. neighbor discovery got no answer (RFC 4443 section 3.1).</summary>
    AddressUnreachable = 3,
    /// <summary>No socket listens on the destination port (RFC 4443 section 3.1).</summary>
    PortUnreachable = 4,
    /// <summary>The source address failed an ingress/egress policy (RFC 4443 section 3.1).</summary>
    SourcePolicyFailed = 5,
    /// <summary>The route to the destination is a reject route (RFC 4443 section 3.1).</summary>
    RejectRoute = 6,
}
