namespace Skiff.Wire;

/// <summary>
/// A parsed UDP header (RFC 768): ports and the payload length. Checksums are verified on parse and
/// computed on emit from a pseudo-header partial sum, so IPv4 and IPv6 share the code.
/// </summary>
public readonly record struct UdpRepr
{
    /// <summary>The sender's port (RFC 768); 0 when no reply is expected.</summary>
    public ushort SourcePort { get; init; }

    /// <summary>The receiver's port (RFC 768).</summary>
    public ushort DestinationPort { get; init; }

    /// <summary>Data octets after the 8-byte header.</summary>
    public int PayloadLength { get; init; }

    /// <summary>Always 8.</summary>
    public int HeaderLength => UdpPacket.HeaderLength;

    /// <summary>
    /// Parses a datagram carried over IPv4, where a zero checksum means "none" (RFC 768). Same as
    /// <see cref="TryParse(UdpPacket, uint, bool, bool, out UdpRepr)"/> with zeroChecksumIsNone true.
    /// </summary>
    public static WireError TryParse(UdpPacket packet, uint pseudoHeaderPartial, bool verifyChecksum, out UdpRepr repr) =>
        TryParse(packet, pseudoHeaderPartial, verifyChecksum, zeroChecksumIsNone: true, out repr);

    /// <summary>
    /// Parses <paramref name="packet"/>. <see cref="WireError.Truncated"/> under 8 bytes;
    /// <see cref="WireError.BadTotalLength"/> if the length field is below 8 or past the buffer. With
    /// <paramref name="verifyChecksum"/>, the sum over the first Length bytes plus
    /// <paramref name="pseudoHeaderPartial"/> (from <see cref="Checksum.PseudoHeader(Ipv4Address, Ipv4Address, IpProtocol, int)"/>,
    /// length = the UDP length field) must verify, else <see cref="WireError.BadChecksum"/>. A zero checksum
    /// field is skipped when <paramref name="zeroChecksumIsNone"/> (IPv4) and is
    /// <see cref="WireError.BadChecksum"/> otherwise (IPv6 requires one, RFC 8200 section 8.1).
    /// Never throws, never allocates; <paramref name="repr"/> is default on failure.
    /// </summary>
    public static WireError TryParse(UdpPacket packet, uint pseudoHeaderPartial, bool verifyChecksum, bool zeroChecksumIsNone, out UdpRepr repr)
    {
        repr = default;
        WireError error = UdpPacket.TryCreate(packet.Buffer, out packet);
        if (error != WireError.Ok)
        {
            return error;
        }
        int length = packet.Length;
        if (verifyChecksum)
        {
            if (packet.Checksum == 0)
            {
                if (!zeroChecksumIsNone)
                {
                    return WireError.BadChecksum;
                }
            }
            else if (!Checksum.IsValid(packet.Buffer[..length], pseudoHeaderPartial))
            {
                return WireError.BadChecksum;
            }
        }
        repr = new UdpRepr
        {
            SourcePort = packet.SourcePort,
            DestinationPort = packet.DestinationPort,
            PayloadLength = length - UdpPacket.HeaderLength,
        };
        return WireError.Ok;
    }

    /// <summary>
    /// Writes the 8-byte header at the start of <paramref name="packet"/>; the <see cref="PayloadLength"/>
    /// data bytes must already be in place after it. With <paramref name="fillChecksum"/>, the checksum
    /// covers header and data plus <paramref name="pseudoHeaderPartial"/>, and a computed 0 is sent as
    /// 0xFFFF (RFC 768); otherwise the field is 0 ("none" over IPv4, or left for an offloading device).
    /// Precondition: the buffer holds 8 + PayloadLength bytes and PayloadLength &lt;= 65527, else
    /// <see cref="ArgumentOutOfRangeException"/> (a caller bug, not bad input).
    /// </summary>
    public void Emit(UdpPacket packet, uint pseudoHeaderPartial, bool fillChecksum)
    {
        int length = UdpPacket.HeaderLength + PayloadLength;
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, ushort.MaxValue);
        ArgumentOutOfRangeException.ThrowIfLessThan(packet.Buffer.Length, length);
        packet.SourcePort = SourcePort;
        packet.DestinationPort = DestinationPort;
        packet.Length = (ushort)length;
        packet.Checksum = 0;
        if (fillChecksum)
        {
            ushort sum = Checksum.Finish(Checksum.Accumulate(packet.Buffer[..length], pseudoHeaderPartial));
            packet.Checksum = sum == 0 ? (ushort)0xFFFF : sum;
        }
    }

    /// <summary>tcpdump's form: <c>38745 &gt; 5353: UDP, length 10</c>.</summary>
    public override string ToString() => $"{SourcePort} > {DestinationPort}: UDP, length {PayloadLength}";
}
