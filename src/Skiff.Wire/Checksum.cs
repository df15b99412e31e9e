using System.Buffers.Binary;

namespace Skiff.Wire;

/// <summary>
/// The Internet checksum (RFC 1071): the ones'-complement of the ones'-complement sum of 16-bit
/// big-endian words. Sums are carried in a <see cref="uint"/> "partial" that callers may chain
/// (pseudo-header, header, payload) and then <see cref="Finish"/>.
/// </summary>
/// <remarks>
/// Chaining: every chunk except the last must have an even length (the sum is over 16-bit words).
/// </remarks>
public static class Checksum
{
    /// <summary>Adds <paramref name="data"/> to a running partial sum; returns the new partial (carries folded, never 0 unless all zero).</summary>
    public static uint Accumulate(ReadOnlySpan<byte> data, uint partial = 0)
    {
        ulong sum = partial;
        int i = 0;
        // 8 bytes per step: ones'-complement addition is endian-independent up to a final byte swap
        // (RFC 1071 section 2(B)), so sum native-order 32-bit halves and swap once at the end.
        ulong acc = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
            acc += (w & 0xFFFF_FFFF) + (w >> 32);
        }
        for (; i + 4 <= data.Length; i += 4)
        {
            acc += BinaryPrimitives.ReadUInt32LittleEndian(data[i..]);
        }
        // acc holds little-endian 16-bit lanes; fold to 16 bits and swap into network order.
        acc = (acc & 0xFFFF_FFFF) + (acc >> 32);
        acc = (acc & 0xFFFF) + (acc >> 16);
        acc = (acc & 0xFFFF) + (acc >> 16);
        acc = (acc & 0xFFFF) + (acc >> 16);
        sum += BinaryPrimitives.ReverseEndianness((ushort)acc);
        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        if (i < data.Length)
        {
            sum += (uint)data[i] << 8;
        }
        return Fold32(sum);
    }

    /// <summary>Folds a 64-bit sum to 16 bits (returned as uint); the un-complemented ones'-complement sum.</summary>
    public static uint Fold32(ulong sum)
    {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        sum = (sum & 0xFFFF) + (sum >> 16);
        return (uint)sum;
    }

    /// <summary>Complements a partial sum into the value written in a checksum field.</summary>
    public static ushort Finish(uint partial) => (ushort)~Fold32(partial);

    /// <summary>The checksum of <paramref name="data"/> alone (IPv4 header, ICMPv4).</summary>
    public static ushort Compute(ReadOnlySpan<byte> data) => Finish(Accumulate(data));

    /// <summary>True if <paramref name="data"/>, checksum field included, sums to 0xFFFF.</summary>
    public static bool IsValid(ReadOnlySpan<byte> data, uint partial = 0) => Fold32(Accumulate(data, partial)) == 0xFFFF;

    /// <summary>The partial sum of the IPv4 pseudo-header (RFC 793 section 3.1, RFC 768).</summary>
    public static uint PseudoHeader(Ipv4Address source, Ipv4Address destination, IpProtocol protocol, int length)
    {
        ulong sum = (source.Value >> 16) + (source.Value & 0xFFFF)
                  + (destination.Value >> 16) + (destination.Value & 0xFFFF)
                  + (uint)protocol + (uint)length;
        return Fold32(sum);
    }

    /// <summary>The partial sum of the IPv6 pseudo-header (RFC 8200 section 8.1).</summary>
    public static uint PseudoHeader(Ipv6Address source, Ipv6Address destination, IpProtocol protocol, int length)
    {
        ulong sum = Sum128(source.Value) + Sum128(destination.Value) + ((uint)length >> 16) + ((uint)length & 0xFFFF) + (uint)protocol;
        return Fold32(sum);
    }

    private static ulong Sum128(UInt128 v)
    {
        ulong hi = (ulong)(v >> 64), lo = (ulong)v;
        return (hi >> 48) + ((hi >> 32) & 0xFFFF) + ((hi >> 16) & 0xFFFF) + (hi & 0xFFFF)
             + (lo >> 48) + ((lo >> 32) & 0xFFFF) + ((lo >> 16) & 0xFFFF) + (lo & 0xFFFF);
    }

    /// <summary>
    /// Incremental update (RFC 1624 equation 3): the new checksum field after one 16-bit word of the
    /// covered data changed from <paramref name="oldWord"/> to <paramref name="newWord"/>.
    /// </summary>
    public static ushort Update(ushort checksum, ushort oldWord, ushort newWord)
    {
        // HC' = ~(~HC + ~m + m')
        uint sum = (uint)(ushort)~checksum + (ushort)~oldWord + newWord;
        return (ushort)~Fold32(sum);
    }

    /// <summary>Incremental update for a 32-bit field (an IPv4 address in a NAT rewrite).</summary>
    public static ushort Update(ushort checksum, uint oldValue, uint newValue) =>
        Update(Update(checksum, (ushort)(oldValue >> 16), (ushort)(newValue >> 16)), (ushort)oldValue, (ushort)newValue);
}
