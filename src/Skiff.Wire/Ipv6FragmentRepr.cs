using System.Buffers.Binary;

namespace Skiff.Wire;

// IPv6 Fragment header, RFC 8200 section 4.5:
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |                         Identification                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

/// <summary>
/// The fields of an IPv6 fragment header (RFC 8200 section 4.5) that reassembly decides on. The next-header
/// byte is reported separately by <see cref="Ipv6ExtensionChain.UpperLayerProtocol"/>.
/// </summary>
/// <param name="Offset">Offset of the fragment's data in the fragmentable part, in BYTES (a multiple of 8, at most 65528).</param>
/// <param name="MoreFragments">The M flag.</param>
/// <param name="Identification">The 32-bit identification.</param>
public readonly record struct Ipv6FragmentRepr(int Offset, bool MoreFragments, uint Identification)
{
    /// <summary>Bytes in a fragment header.</summary>
    public const int HeaderLength = 8;

    /// <summary>Reads the fields from the first 8 bytes of <paramref name="header"/> (the caller checks the length).</summary>
    public static Ipv6FragmentRepr Read(ReadOnlySpan<byte> header)
    {
        ushort offsetAndFlags = BinaryPrimitives.ReadUInt16BigEndian(header[2..]);
        return new Ipv6FragmentRepr(offsetAndFlags & 0xFFF8, (offsetAndFlags & 1) != 0, BinaryPrimitives.ReadUInt32BigEndian(header[4..]));
    }

    /// <summary>Writes an 8-byte fragment header with <paramref name="nextHeader"/>; reserved bits zero. The span must hold 8 bytes.</summary>
    public void Emit(Span<byte> header, IpProtocol nextHeader)
    {
        header[0] = (byte)nextHeader;
        header[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)((Offset & 0xFFF8) | (MoreFragments ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], Identification);
    }

    /// <summary>As tcpdump prints it: "frag (0x1cdd85ff:0|more)".</summary>
    public override string ToString() => $"frag (0x{Identification:x8}:{Offset}{(MoreFragments ? "|more" : "")})";
}
