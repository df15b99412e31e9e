namespace Skiff.Drivers.Linux;

/// <summary>Whether an AF_XDP socket may share the UMEM with the NIC (zero-copy) or the kernel copies frames.</summary>
public enum AfXdpCopyMode
{
    /// <summary>Zero-copy if the driver supports it, copy mode otherwise (veth, most virtual devices).</summary>
    Auto = 0,

    /// <summary>Zero-copy or fail (XDP_ZEROCOPY).</summary>
    ZeroCopy = 1,

    /// <summary>Copy mode (XDP_COPY) even where zero-copy would work.</summary>
    Copy = 2,
}
