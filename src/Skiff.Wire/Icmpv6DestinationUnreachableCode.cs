namespace Skiff.Wire;

/// <summary>Codes of ICMPv6 destination unreachable (RFC 4443 section 3.1). Other values are preserved.</summary>
public enum Icmpv6DestinationUnreachableCode : byte
{
    NoRoute = 0,
    AdministrativelyProhibited = 1,
    BeyondScopeOfSource = 2,
    AddressUnreachable = 3,
    PortUnreachable = 4,
    SourcePolicyFailed = 5,
    RejectRoute = 6,
}
