namespace Skiff;

/// <summary>
/// What is known about a frame's checksums, as set by the device that received it (kernel's
/// <c>ip_summed</c>). The stack skips verification that a device already did.
/// </summary>
[Flags]
public enum ChecksumState : byte
{
    /// <summary>Nothing verified; the stack checks every checksum.</summary>
    None = 0,

    /// <summary>The IPv4 header checksum was verified good.</summary>
    IpVerified = 1,

    /// <summary>The TCP/UDP/ICMP checksum was verified good.</summary>
    L4Verified = 2,

    /// <summary>
    /// The L4 checksum field holds only the pseudo-header sum and the payload was never summed
    /// (Linux <c>CHECKSUM_PARTIAL</c>, AF_PACKET's <c>TP_STATUS_CSUMNOTREADY</c>): treat as good on
    /// receive, fill it in before forwarding.
    /// </summary>
    L4Partial = 4,
}
