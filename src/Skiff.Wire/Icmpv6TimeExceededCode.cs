namespace Skiff.Wire;

/// <summary>Codes of ICMPv6 time exceeded (RFC 4443 section 3.3). Other values are preserved.</summary>
public enum Icmpv6TimeExceededCode : byte
{
    /// <summary>The hop limit reached zero in transit (traceroute's answer).</summary>
    HopLimitExceeded = 0,
    /// <summary>Fragment reassembly timed out before all fragments arrived.</summary>
    FragmentReassemblyTimeExceeded = 1,
}
