namespace Skiff.Engine.Capture;

/// <summary>What a live capture (<see cref="SkiffCapture"/>) records and how much room it has.</summary>
public sealed record SkiffCaptureOptions
{
    /// <summary>tcpdump's default snap length: every byte of any frame Skiff handles.</summary>
    public const int DefaultSnapLength = 262_144;

    /// <summary>The points to capture at. Default <see cref="CapturePoints.Rx"/> and <see cref="CapturePoints.Tx"/> (both directions, as tcpdump).</summary>
    public CapturePoints Points { get; init; } = CapturePoints.Rx | CapturePoints.Tx;

    /// <summary>Only the engine loop serving this queue; null for every loop given.</summary>
    public int? Queue { get; init; }

    /// <summary>Most bytes kept of each frame (1 to 262144); the rest is cut, and the file records the length on the wire.</summary>
    public int SnapLength { get; init; } = DefaultSnapLength;

    /// <summary>A tcpdump expression frames must match (compiled by libpcap, run by Skiff's BPF JIT); null or empty for every frame.</summary>
    public string? Filter { get; init; }

    /// <summary>End the capture after this many frames were written; 0 for no limit.</summary>
    public long Count { get; init; }

    /// <summary>
    /// Bytes of the ring between each loop and the capture's thread (a power of two from 64 KiB to 1 GiB; default 4 MiB).
    /// A frame takes its captured bytes plus 24, rounded up to 8. When the ring is full the loop counts the frame as lost
    /// and goes on: a slow reader never stalls the loop.
    /// </summary>
    public int RingBytes { get; init; } = 4 << 20;

    /// <summary>Throws <see cref="ArgumentException"/> with a sentence when a value is out of range.</summary>
    public void Validate()
    {
        if (Points == CapturePoints.None || (Points & ~CapturePoints.All) != 0)
        {
            throw new ArgumentException($"Capture points {Points} are not a combination of rx, tx and drop; give at least one.");
        }
        if (SnapLength is < 1 or > DefaultSnapLength)
        {
            throw new ArgumentException($"The snap length {SnapLength} is out of range; give 1 to {DefaultSnapLength} bytes.");
        }
        if (Count < 0)
        {
            throw new ArgumentException($"The frame count {Count} is negative; give 0 for no limit, or how many frames to write.");
        }
        if (RingBytes is < (64 << 10) or > (1 << 30) || !int.IsPow2(RingBytes))
        {
            throw new ArgumentException($"The capture ring size {RingBytes} is not a power of two from 64 KiB to 1 GiB.");
        }
    }
}
