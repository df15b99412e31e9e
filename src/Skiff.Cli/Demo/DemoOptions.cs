namespace Skiff.Cli.Demo;

/// <summary>What <c>skiff demo</c> runs. Percentages are 0 to 100.</summary>
public sealed record DemoOptions
{
    /// <summary>TCP bytes sent in each direction. Default 64 MiB.</summary>
    public long Bytes { get; init; } = 64L * 1024 * 1024;

    public double LossPercent { get; init; }

    public double ReorderPercent { get; init; }

    public double DuplicatePercent { get; init; }

    public double CorruptPercent { get; init; }

    /// <summary>One-way delay added on each side's transmit path.</summary>
    public double DelayMillis { get; init; }

    /// <summary>Rate limit of each direction in Mbit/s; 0 for none.</summary>
    public double RateMbps { get; init; }

    public ulong Seed { get; init; } = 1;

    /// <summary>Write the wire (as seen at 10.0.0.1) to this pcapng file.</summary>
    public string? PcapPath { get; init; }

    /// <summary>Give up when no byte moves for this long. Default 30 s.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public bool Impaired => LossPercent > 0 || ReorderPercent > 0 || DuplicatePercent > 0 || CorruptPercent > 0 || DelayMillis > 0 || RateMbps > 0;
}
