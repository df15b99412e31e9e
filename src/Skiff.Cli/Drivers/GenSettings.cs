using Skiff.Wire;

namespace Skiff.Cli.Drivers;

/// <summary>What <see cref="TrafficGenerator"/> sends. Defaults are documented per property.</summary>
internal sealed record GenSettings
{
    public required MacAddress SourceMac { get; init; }

    public required MacAddress DestinationMac { get; init; }

    public required Ipv4Address SourceAddress { get; init; }

    public required Ipv4Address DestinationAddress { get; init; }

    /// <summary>UDP destination port. Default 9 (discard).</summary>
    public ushort DestinationPort { get; init; } = 9;

    /// <summary>Source port of flow 0; flow i uses this plus i. Default 1024.</summary>
    public ushort FirstSourcePort { get; init; } = 1024;

    /// <summary>Ethernet frame length without the FCS, as testpmd counts it: 42 (no payload) up to 1514. Default 64.</summary>
    public int FrameBytes { get; init; } = 64;

    /// <summary>Flows (distinct source ports), sent round-robin. Default 1.</summary>
    public int Flows { get; init; } = 1;

    /// <summary>Frames per second; 0 sends as fast as the device takes them. Default 0.</summary>
    public long RatePps { get; init; }

    /// <summary>Stop after this long; zero runs until stopped. Default zero.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Stop after this many frames; 0 for no limit. Default 0.</summary>
    public long Count { get; init; }

    /// <summary>The smallest frame: Ethernet, IPv4 and UDP headers with no payload.</summary>
    public const int MinFrameBytes = 14 + 20 + 8;

    /// <summary>The largest frame without fragmentation at MTU 1500.</summary>
    public const int MaxFrameBytes = 1514;
}
