namespace Skiff.Wire.Pcap;

/// <summary>The container format of a capture file.</summary>
public enum CaptureFormat : byte
{
    /// <summary>Not a format Skiff recognises.</summary>
    Unknown = 0,
    /// <summary>Classic libpcap format (magic 0xa1b2c3d4 for microseconds, 0xa1b23c4d for nanoseconds).</summary>
    Pcap,
    /// <summary>pcapng (draft-ietf-opsawg-pcapng): blocks, several interfaces, statistics.</summary>
    PcapNg,
}
