namespace Skiff.Wire;

/// <summary>Codes of ICMPv6 time exceeded (RFC 4443 section 3.3). Other values are preserved.</summary>
public enum Icmpv6TimeExceededCode : byte
{
    HopLimitExceeded = 0,
    FragmentReassemblyTimeExceeded = 1,
}
