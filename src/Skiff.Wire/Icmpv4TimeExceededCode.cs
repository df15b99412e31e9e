namespace Skiff.Wire;

/// <summary>Codes of ICMPv4 time exceeded (RFC 792). Other values are preserved.</summary>
public enum Icmpv4TimeExceededCode : byte
{
    /// <summary>TTL reached zero in transit.</summary>
    TtlExceeded = 0,
    /// <summary>Fragment reassembly time exceeded.</summary>
    FragmentReassemblyTimeExceeded = 1,
}
