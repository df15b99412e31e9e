namespace Skiff.Stack.Ipv4;

/// <summary>
/// The outcome of <see cref="Ipv4Reassembler.Add"/>. When <see cref="Status"/> is
/// <see cref="Ipv4ReassemblyStatus.Complete"/>, <see cref="Datagram"/> is the whole datagram; its spans point into
/// the reassembler's memory and are valid only until the next call on that reassembler.
/// </summary>
public readonly ref struct Ipv4ReassemblyResult
{
    internal Ipv4ReassemblyResult(Ipv4ReassemblyStatus status, ReadOnlySpan<byte> datagram = default, int headerBytes = 0)
    {
        Status = status;
        Datagram = datagram;
        HeaderBytes = headerBytes;
    }

    /// <summary>What the reassembler did with the fragment; only <see cref="Ipv4ReassemblyStatus.Complete"/> carries a datagram.</summary>
    public Ipv4ReassemblyStatus Status { get; }

    /// <summary>
    /// The reassembled datagram: the first fragment's header, rewritten as an unfragmented datagram's (Total Length set,
    /// MF and Fragment Offset cleared, header checksum recomputed; RFC 791 section 3.2), followed by the payload.
    /// Empty unless <see cref="Status"/> is Complete.
    /// </summary>
    public ReadOnlySpan<byte> Datagram { get; }

    /// <summary>Length of the header at the front of <see cref="Datagram"/>.</summary>
    public int HeaderBytes { get; }

    /// <summary>The payload (the transport segment) of <see cref="Datagram"/>.</summary>
    public ReadOnlySpan<byte> Payload => Datagram[HeaderBytes..];

    /// <summary>
    /// Copies <see cref="Datagram"/> into <paramref name="destination"/> at its current data offset (after a pool
    /// allocation, the default headroom) and sets its length. False, and the buffer unchanged, when it does not fit
    /// the frame (a reassembled datagram can exceed one pool frame) or there is no datagram.
    /// </summary>
    public bool TryCopyTo(PacketBuffer destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (Datagram.IsEmpty || !destination.TrySetLength(Datagram.Length))
        {
            return false;
        }
        Datagram.CopyTo(destination.Data);
        return true;
    }
}
