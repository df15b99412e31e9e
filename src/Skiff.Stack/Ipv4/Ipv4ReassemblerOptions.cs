namespace Skiff.Stack.Ipv4;

/// <summary>Bounds of an <see cref="Ipv4Reassembler"/>. Memory taken at construction: about MaxDatagrams × (MaxDatagramBytes + 60) bytes.</summary>
public sealed record Ipv4ReassemblerOptions
{
    /// <summary>Datagrams in reassembly at once; a fragment of a further datagram is refused. Default 16.</summary>
    public int MaxDatagrams { get; init; } = 16;

    /// <summary>
    /// Largest reassembled datagram, header included (RFC 791: at most 65535; every host must accept 576,
    /// RFC 1122 section 3.3.2). Fragments reaching past it are refused. Default 65535.
    /// </summary>
    public int MaxDatagramBytes { get; init; } = 65535;

    /// <summary>Payload bytes held across all datagrams in reassembly (Linux <c>ipfrag_high_thresh</c>); a fragment that would pass it is refused. Default 256 KiB.</summary>
    public int MaxBufferedBytes { get; init; } = 256 * 1024;

    /// <summary>Fragments accepted per datagram (FreeBSD <c>maxfragsperpacket</c>); one more discards the datagram. Default 128.</summary>
    public int MaxFragmentsPerDatagram { get; init; } = 128;

    /// <summary>Time from a datagram's first fragment to giving up on it (RFC 791 suggests 15 s; Linux uses 30 s). Default 30 s.</summary>
    public Duration Timeout { get; init; } = Duration.FromSeconds(30);
}
