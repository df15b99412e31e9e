namespace Skiff.Wire;

/// <summary>What a node must do with an option type it does not recognise: the type's two high bits (RFC 8200 section 4.2).</summary>
public enum Ipv6OptionAction : byte
{
    /// <summary>00: skip the option and continue.</summary>
    Skip = 0,
    /// <summary>01: discard the packet.</summary>
    Discard = 1,
    /// <summary>10: discard and send ICMPv6 parameter problem code 2 pointing at the option type.</summary>
    DiscardAndReport = 2,
    /// <summary>11: discard and report, unless the destination was multicast.</summary>
    DiscardAndReportUnlessMulticast = 3,
}
