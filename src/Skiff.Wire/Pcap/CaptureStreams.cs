namespace Skiff.Wire.Pcap;

/// <summary>Stream helpers shared by the capture readers and writers.</summary>
internal static class CaptureStreams
{
    /// <summary>Initial size of a reader's record buffer; it grows (rarely, never shrinking) to fit larger records.</summary>
    public const int InitialBufferBytes = 64 * 1024;

    /// <summary>Largest record or block a reader accepts (libpcap's limit for pcapng blocks); more is treated as corrupt.</summary>
    public const int MaxRecordBytes = 16 * 1024 * 1024;

    /// <summary>Zero bytes for padding to 32-bit boundaries.</summary>
    public static ReadOnlySpan<byte> Padding => [0, 0, 0, 0];

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    public static int ReadAtMost(Stream stream, Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = stream.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }
            total += n;
        }
        return total;
    }

    /// <summary>Discards <paramref name="bytes"/> bytes through <paramref name="scratch"/>; false if the stream ends first.</summary>
    public static bool Skip(Stream stream, long bytes, byte[] scratch)
    {
        while (bytes > 0)
        {
            int chunk = (int)Math.Min(bytes, scratch.Length);
            if (ReadAtMost(stream, scratch.AsSpan(0, chunk)) != chunk)
            {
                return false;
            }
            bytes -= chunk;
        }
        return true;
    }

    /// <summary>Makes <paramref name="buffer"/> hold at least <paramref name="bytes"/> (growing by doubling; never per record in steady state).</summary>
    public static void EnsureCapacity(ref byte[] buffer, int bytes)
    {
        if (buffer.Length < bytes)
        {
            buffer = new byte[Math.Max(bytes, Math.Min(buffer.Length * 2, MaxRecordBytes))];
        }
    }

    /// <summary>Pads a length up to a multiple of 4.</summary>
    public static int Pad4(int length) => (length + 3) & ~3;

    /// <summary>
    /// Converts a timestamp in units of 1/<paramref name="unitsPerSecond"/> s to nanoseconds since the epoch,
    /// without overflow for any resolution a file can state (saturating at <see cref="long.MaxValue"/>).
    /// </summary>
    public static long ToNanos(ulong ticks, long unitsPerSecond, long offsetSeconds)
    {
        ulong ups = (ulong)unitsPerSecond;
        ulong seconds = ticks / ups;
        ulong fraction = ticks % ups;
        ulong fractionNanos = (ulong)((UInt128)fraction * 1_000_000_000UL / ups);
        Int128 nanos = ((Int128)seconds + offsetSeconds) * 1_000_000_000 + fractionNanos;
        return nanos > long.MaxValue ? long.MaxValue : nanos < long.MinValue ? long.MinValue : (long)nanos;
    }
}
