namespace Skiff.QDisc;

/// <summary>
/// A rate in bits per second, and the time a frame takes at it (Linux's psched_l2t_ns), in picoseconds so that shaping
/// at 10 Gbit/s stays exact to far better than 1 % on a microsecond clock.
/// </summary>
/// <param name="BitsPerSecond">The rate in bits per second. It must be positive wherever a frame's time is computed: <see cref="TransmitPicos"/> divides by it (the qdiscs and meters refuse a rate of 0).</param>
public readonly record struct Rate(long BitsPerSecond)
{
    /// <summary>Picoseconds in a microsecond.</summary>
    public const long PicosPerMicro = 1_000_000;

    /// <summary>Bytes per second.</summary>
    public double BytesPerSecond => BitsPerSecond / 8.0;

    /// <summary>How long <paramref name="bytes"/> take to leave at this rate, in picoseconds.</summary>
    public long TransmitPicos(long bytes) => (long)((UInt128)(ulong)bytes * 8_000_000_000_000UL / (ulong)BitsPerSecond);

    /// <summary>How many bytes leave in <paramref name="picos"/> picoseconds.</summary>
    public long BytesIn(long picos) => (long)((UInt128)(ulong)Math.Max(0, picos) * (ulong)BitsPerSecond / 8_000_000_000_000UL);

    /// <summary>tc's way of printing a rate: 50Mbit, 1Gbit, 800Kbit, 64bit.</summary>
    public override string ToString() => BitsPerSecond switch
    {
        >= 1_000_000_000 when BitsPerSecond % 1_000_000 == 0 => $"{BitsPerSecond / 1e9:0.###}Gbit",
        >= 1_000_000 => $"{BitsPerSecond / 1e6:0.###}Mbit",
        >= 1_000 => $"{BitsPerSecond / 1e3:0.###}Kbit",
        _ => $"{BitsPerSecond}bit",
    };

    /// <summary>Rounds a picosecond wait up to whole microseconds (the engine's clock): waking then, the tokens suffice.</summary>
    public static Duration CeilMicros(long picos) => Duration.FromMicros((picos + PicosPerMicro - 1) / PicosPerMicro);
}
