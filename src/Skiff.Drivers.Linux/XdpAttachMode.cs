namespace Skiff.Drivers.Linux;

/// <summary>How an XDP program is attached to an interface.</summary>
public enum XdpAttachMode
{
    /// <summary>Native (driver) mode first, generic (SKB) mode if the driver has no XDP support.</summary>
    Auto = 0,

    /// <summary>The driver runs the program on its receive path (XDP_FLAGS_DRV_MODE): fastest, and needed for zero-copy.</summary>
    Native = 1,

    /// <summary>The kernel runs the program after building an sk_buff (XDP_FLAGS_SKB_MODE): works on any interface, slower.</summary>
    Generic = 2,
}
