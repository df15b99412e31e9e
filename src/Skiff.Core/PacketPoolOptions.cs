namespace Skiff;

/// <summary>How a <see cref="PacketPool"/> is cut.</summary>
public sealed record PacketPoolOptions
{
    /// <summary>Number of frames. Default 8192.</summary>
    public int FrameCount { get; init; } = 8192;

    /// <summary>Size of one frame slot: a power of two from 512 to 65536. Default 2048 (AF_XDP UMEM accepts 2048 and 4096).</summary>
    public int FrameBytes { get; init; } = 2048;

    /// <summary>Space kept in front of received or freshly allocated data for headers. Default 256 (XDP_PACKET_HEADROOM).</summary>
    public int HeadroomBytes { get; init; } = 256;

    /// <summary>Alignment of the slab. Default 4096 (a page: AF_XDP UMEM must be page aligned).</summary>
    public int AlignmentBytes { get; init; } = 4096;
}
