using System.Buffers.Binary;
using System.Globalization;
using Skiff.Wire;

namespace Skiff.TestSupport.Fuzz;

/// <summary>SplitMix64: tiny, fast and the same on every runtime, so a seed always replays the same inputs.</summary>
public struct FuzzRng(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E37_79B9_7F4A_7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, bound); bound must be positive.</summary>
    public int Below(int bound) => (int)((Next() >> 33) % (ulong)bound);

    public bool Chance(int percent) => Below(100) < percent;

    public byte Byte() => (byte)Next();

    /// <summary>The generator for input <paramref name="iteration"/> of a run with <paramref name="seed"/>: each input replays alone.</summary>
    public static FuzzRng ForIteration(ulong seed, long iteration) => new(seed ^ ((ulong)iteration * 0xD1B5_4A32_D192_ED03UL));
}

public static class FuzzSeed
{
    public const ulong Default = 0x5EED_2025_0001UL;

    /// <summary>SKIFF_FUZZ_SEED (decimal or 0x-hex) overrides the fixed default seed, to replay a reported failure or explore.</summary>
    public static ulong Read()
    {
        string? text = Environment.GetEnvironmentVariable("SKIFF_FUZZ_SEED");
        if (string.IsNullOrWhiteSpace(text))
        {
            return Default;
        }
        text = text.Trim();
        return text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.Parse(text.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture)
            : ulong.Parse(text, CultureInfo.InvariantCulture);
    }

    /// <summary>SKIFF_FUZZ_ITERATIONS scales a run (e.g. a long local soak); the default is what CI runs.</summary>
    public static long Iterations(long defaultCount)
    {
        string? text = Environment.GetEnvironmentVariable("SKIFF_FUZZ_ITERATIONS");
        return string.IsNullOrWhiteSpace(text) ? defaultCount : long.Parse(text.Trim(), CultureInfo.InvariantCulture);
    }
}

public enum FieldKind : byte
{
    U8,
    U16,
    U32,
    U32Le,
    HighNibble,
    LowNibble,
}

/// <summary>A length, type or offset field of a seed input, found by dissecting it while it was still valid.</summary>
public readonly record struct Field(int Offset, FieldKind Kind);

/// <summary>A valid input and the positions of its interesting fields.</summary>
public sealed class Seed(string name, byte[] bytes, Field[] fields)
{
    public string Name { get; } = name;

    public byte[] Bytes { get; } = bytes;

    public Field[] Fields { get; } = fields;
}

/// <summary>
/// Mutations of valid inputs: bit flips, boundary bytes, truncation, extension, insertion and deletion, splicing, and
/// length/type fields set to 0, 1, max, and off-by-one of their current or of the real remaining length.
/// </summary>
public static class Mutator
{
    private static readonly byte[] s_boundaryBytes = [0, 1, 2, 3, 4, 5, 6, 8, 0x0f, 0x10, 0x3f, 0x40, 0x7f, 0x80, 0xfe, 0xff];
    private static readonly ushort[] s_boundaryWords = [0, 1, 2, 7, 8, 19, 20, 40, 0x7fff, 0x8000, 0xfffe, 0xffff];
    private static readonly uint[] s_boundaryDwords = [0, 1, 3, 4, 12, 16, 28, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0x0100_0000, 0x0100_0004, 0x0004_0000, 0x0004_0001];

    /// <summary>Writes a mutation of <paramref name="seed"/> into <paramref name="output"/>; returns its length.</summary>
    public static int Mutate(ref FuzzRng rng, Seed seed, IReadOnlyList<Seed> corpus, byte[] output)
    {
        int length = Math.Min(seed.Bytes.Length, output.Length);
        seed.Bytes.AsSpan(0, length).CopyTo(output);
        int rounds = 1 + rng.Below(rng.Chance(70) ? 2 : 6);
        for (int r = 0; r < rounds; r++)
        {
            length = MutateOnce(ref rng, seed, corpus, output, length);
        }
        return length;
    }

    private static int MutateOnce(ref FuzzRng rng, Seed seed, IReadOnlyList<Seed> corpus, byte[] b, int length)
    {
        int op = rng.Below(16);
        if (length == 0)
        {
            op = 12 + rng.Below(2); // only insertion and appending work on nothing
        }
        switch (op)
        {
            case 0:
            case 1:
                b[rng.Below(length)] ^= (byte)(1 << rng.Below(8));
                return length;
            case 2:
                b[rng.Below(length)] = s_boundaryBytes[rng.Below(s_boundaryBytes.Length)];
                return length;
            case 3:
                b[rng.Below(length)] = rng.Byte();
                return length;
            case 4:
            case 5:
            case 6:
            case 7:
            case 8:
                return seed.Fields.Length == 0 ? Truncate(ref rng, length) : MutateField(ref rng, seed.Fields[rng.Below(seed.Fields.Length)], b, length);
            case 9:
            case 10:
                return Truncate(ref rng, length);
            case 11:
                {
                    // Delete a run of bytes: the structure after it shifts under the parser.
                    int at = rng.Below(length);
                    int count = 1 + rng.Below(Math.Min(8, length - at));
                    Array.Copy(b, at + count, b, at, length - at - count);
                    return length - count;
                }
            case 12:
                {
                    // Insert a run of boundary or random bytes.
                    int at = rng.Below(length + 1);
                    int count = 1 + rng.Below(8);
                    if (length + count > b.Length)
                    {
                        return length;
                    }
                    Array.Copy(b, at, b, at + count, length - at);
                    byte fill = rng.Chance(50) ? s_boundaryBytes[rng.Below(s_boundaryBytes.Length)] : rng.Byte();
                    for (int i = 0; i < count; i++)
                    {
                        b[at + i] = rng.Chance(50) ? fill : rng.Byte();
                    }
                    return length + count;
                }
            case 13:
                {
                    // Append garbage or padding.
                    int count = Math.Min(1 + rng.Below(64), b.Length - length);
                    byte fill = rng.Chance(50) ? (byte)0 : rng.Byte();
                    for (int i = 0; i < count; i++)
                    {
                        b[length + i] = rng.Chance(30) ? rng.Byte() : fill;
                    }
                    return length + count;
                }
            case 14:
                {
                    // Splice: overwrite a stretch with bytes from another seed at the same offset (same layers line up).
                    Seed other = corpus[rng.Below(corpus.Count)];
                    int at = rng.Below(length);
                    if (at >= other.Bytes.Length)
                    {
                        return length;
                    }
                    int count = Math.Min(Math.Min(1 + rng.Below(32), length - at), other.Bytes.Length - at);
                    other.Bytes.AsSpan(at, count).CopyTo(b.AsSpan(at));
                    return length;
                }
            default:
                {
                    if (length < 2)
                    {
                        return length;
                    }
                    int at = rng.Below(length - 1);
                    BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), s_boundaryWords[rng.Below(s_boundaryWords.Length)]);
                    return length;
                }
        }
    }

    private static int Truncate(ref FuzzRng rng, int length) => rng.Chance(50) ? rng.Below(length + 1) : Math.Max(0, length - 1 - rng.Below(Math.Min(length, 16)));

    private static int MutateField(ref FuzzRng rng, Field field, byte[] b, int length)
    {
        int at = field.Offset;
        int width = field.Kind switch { FieldKind.U16 => 2, FieldKind.U32 or FieldKind.U32Le => 4, _ => 1 };
        if (at + width > length)
        {
            return length;
        }
        int remaining = length - at;
        switch (field.Kind)
        {
            case FieldKind.HighNibble:
            case FieldKind.LowNibble:
                {
                    int current = field.Kind == FieldKind.HighNibble ? b[at] >> 4 : b[at] & 0x0f;
                    int value = rng.Below(4) switch { 0 => 0, 1 => 15, 2 => current + (rng.Chance(50) ? 1 : -1), _ => rng.Below(16) } & 0x0f;
                    b[at] = field.Kind == FieldKind.HighNibble ? (byte)((b[at] & 0x0f) | (value << 4)) : (byte)((b[at] & 0xf0) | value);
                    return length;
                }
            case FieldKind.U8:
                {
                    int current = b[at];
                    b[at] = rng.Below(4) switch
                    {
                        0 => s_boundaryBytes[rng.Below(s_boundaryBytes.Length)],
                        1 => (byte)(current + (rng.Chance(50) ? 1 : -1)),
                        2 => (byte)Math.Min(255, remaining + rng.Below(3) - 1),
                        _ => rng.Byte(),
                    };
                    return length;
                }
            case FieldKind.U16:
                {
                    int current = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(at));
                    int value = rng.Below(5) switch
                    {
                        0 => s_boundaryWords[rng.Below(s_boundaryWords.Length)],
                        1 => current + rng.Below(17) - 8,
                        2 => remaining + rng.Below(5) - 2,
                        3 => length + rng.Below(5) - 2,
                        _ => (int)rng.Next(),
                    };
                    BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), (ushort)value);
                    return length;
                }
            default:
                {
                    bool le = field.Kind == FieldKind.U32Le;
                    uint current = le ? BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at)) : BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(at));
                    uint value = rng.Below(4) switch
                    {
                        0 => s_boundaryDwords[rng.Below(s_boundaryDwords.Length)],
                        1 => (uint)(current + rng.Below(17) - 8),
                        2 => (uint)(remaining + rng.Below(9) - 4),
                        _ => (uint)rng.Next(),
                    };
                    if (le)
                    {
                        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), value);
                    }
                    else
                    {
                        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), value);
                    }
                    return length;
                }
        }
    }

    /// <summary>Fills <paramref name="output"/> with 0-<paramref name="maxLength"/> random bytes, sometimes behind a plausible prefix.</summary>
    public static int Random(ref FuzzRng rng, IReadOnlyList<Seed> corpus, byte[] output, int maxLength)
    {
        int length = rng.Below(maxLength + 1);
        int prefix = 0;
        if (rng.Chance(50))
        {
            Seed s = corpus[rng.Below(corpus.Count)];
            prefix = Math.Min(length, rng.Below(Math.Min(s.Bytes.Length, 64) + 1));
            s.Bytes.AsSpan(0, prefix).CopyTo(output);
        }
        for (int i = prefix; i < length; i++)
        {
            output[i] = rng.Byte();
        }
        return length;
    }
}

/// <summary>Finds the interesting fields of a valid Ethernet frame, and repairs checksums after a mutation.</summary>
public static class FrameFields
{
    public static Seed Describe(string name, byte[] frame)
    {
        List<Field> f = [];
        f.Add(new Field(12, FieldKind.U16));
        int l2 = 14;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        if (type is 0x8100 or 0x88a8)
        {
            f.Add(new Field(14, FieldKind.U16));
            f.Add(new Field(16, FieldKind.U16));
            type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(16));
            l2 = 18;
        }
        if (type == 0x0806)
        {
            f.AddRange([new Field(l2, FieldKind.U16), new Field(l2 + 2, FieldKind.U16), new Field(l2 + 4, FieldKind.U8), new Field(l2 + 5, FieldKind.U8), new Field(l2 + 6, FieldKind.U16)]);
        }
        else if (type == 0x0800)
        {
            DescribeIpv4(frame, l2, f);
        }
        else if (type == 0x86dd)
        {
            DescribeIpv6(frame, l2, f);
        }
        return new Seed(name, frame, [.. f]);
    }

    /// <summary>Fields of a bare IP payload (no Ethernet), for seeds that start at layer 3 or 4.</summary>
    public static void DescribeIpv4(byte[] b, int at, List<Field> f)
    {
        f.AddRange([new Field(at, FieldKind.HighNibble), new Field(at, FieldKind.LowNibble), new Field(at + 2, FieldKind.U16), new Field(at + 6, FieldKind.U16),
            new Field(at + 9, FieldKind.U8), new Field(at + 10, FieldKind.U16)]);
        int ihl = (b[at] & 0x0f) * 4;
        DescribeTlvOptions(b, at + 20, at + ihl, f, singleByteKinds: 2);
        DescribeL4(b, (IpProtocol)b[at + 9], at + ihl, f);
    }

    public static void DescribeIpv6(byte[] b, int at, List<Field> f)
    {
        f.AddRange([new Field(at, FieldKind.HighNibble), new Field(at + 4, FieldKind.U16), new Field(at + 6, FieldKind.U8)]);
        var next = (IpProtocol)b[at + 6];
        int p = at + 40;
        for (int guard = 0; guard < 10 && p + 2 <= b.Length; guard++)
        {
            if (next is IpProtocol.HopByHop or IpProtocol.Ipv6Options or IpProtocol.Ipv6Route)
            {
                f.Add(new Field(p, FieldKind.U8));
                f.Add(new Field(p + 1, FieldKind.U8));
                int len = (b[p + 1] + 1) * 8;
                if (next != IpProtocol.Ipv6Route)
                {
                    DescribeTlvOptions(b, p + 2, Math.Min(b.Length, p + len), f, singleByteKinds: 1, lengthIncludesHeader: false);
                }
                next = (IpProtocol)b[p];
                p += len;
            }
            else if (next == IpProtocol.Ah)
            {
                f.Add(new Field(p, FieldKind.U8));
                f.Add(new Field(p + 1, FieldKind.U8));
                int len = (b[p + 1] + 2) * 4;
                next = (IpProtocol)b[p];
                p += len;
            }
            else if (next == IpProtocol.Ipv6Fragment)
            {
                f.Add(new Field(p, FieldKind.U8));
                f.Add(new Field(p + 2, FieldKind.U16));
                next = (IpProtocol)b[p];
                p += 8;
            }
            else
            {
                break;
            }
        }
        DescribeL4(b, next, p, f);
    }

    private static void DescribeL4(byte[] b, IpProtocol protocol, int at, List<Field> f)
    {
        if (at >= b.Length)
        {
            return;
        }
        switch (protocol)
        {
            case IpProtocol.Tcp when at + 20 <= b.Length:
                f.AddRange([new Field(at + 12, FieldKind.HighNibble), new Field(at + 13, FieldKind.U8), new Field(at + 16, FieldKind.U16), new Field(at + 4, FieldKind.U32)]);
                DescribeTlvOptions(b, at + 20, Math.Min(b.Length, at + (b[at + 12] >> 4) * 4), f, singleByteKinds: 2);
                break;
            case IpProtocol.Udp when at + 8 <= b.Length:
                f.AddRange([new Field(at + 4, FieldKind.U16), new Field(at + 6, FieldKind.U16), new Field(at + 2, FieldKind.U16)]);
                break;
            case IpProtocol.Icmp when at + 8 <= b.Length:
                f.AddRange([new Field(at, FieldKind.U8), new Field(at + 1, FieldKind.U8), new Field(at + 4, FieldKind.U8)]);
                if (b[at] is 3 or 11 or 12 && at + 28 <= b.Length)
                {
                    DescribeIpv4(b, at + 8, f);
                }
                break;
            case IpProtocol.Icmpv6 when at + 8 <= b.Length:
                f.AddRange([new Field(at, FieldKind.U8), new Field(at + 1, FieldKind.U8)]);
                int header = Icmpv6Packet.HeaderLengthOf((Icmpv6Type)b[at]);
                if (b[at] is >= 133 and <= 136)
                {
                    for (int p = at + header; p + 2 <= b.Length && b[p + 1] != 0; p += b[p + 1] * 8)
                    {
                        f.Add(new Field(p, FieldKind.U8));
                        f.Add(new Field(p + 1, FieldKind.U8));
                    }
                }
                else if (b[at] < 128 && at + 48 <= b.Length)
                {
                    DescribeIpv6(b, at + 8, f);
                }
                break;
        }
    }

    // Type-length-value options (IPv4, TCP: kinds 0 and 1 are single bytes, length counts the whole option;
    // IPv6 hop-by-hop/destination: only Pad1 is single, length counts the data).
    private static void DescribeTlvOptions(byte[] b, int start, int end, List<Field> f, int singleByteKinds, bool lengthIncludesHeader = true)
    {
        for (int p = start; p < end && p < b.Length;)
        {
            if (b[p] < singleByteKinds)
            {
                p++;
                continue;
            }
            if (p + 1 >= b.Length)
            {
                break;
            }
            f.Add(new Field(p, FieldKind.U8));
            f.Add(new Field(p + 1, FieldKind.U8));
            int len = lengthIncludesHeader ? b[p + 1] : b[p + 1] + 2;
            if (len < 2)
            {
                break;
            }
            p += len;
        }
    }

    /// <summary>
    /// Recomputes the IPv4 header checksum and the TCP/UDP/ICMP checksum of a (mutated) frame where the lengths allow,
    /// so the mutation gets past the checksum and reaches the code behind it. Best effort; never throws.
    /// </summary>
    public static void FixChecksums(Span<byte> frame)
    {
        if (frame.Length < 14)
        {
            return;
        }
        int l2 = 14;
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        if (type is 0x8100 or 0x88a8)
        {
            if (frame.Length < 18)
            {
                return;
            }
            type = BinaryPrimitives.ReadUInt16BigEndian(frame[16..]);
            l2 = 18;
        }
        Span<byte> ip = frame[l2..];
        if (type == 0x0800 && ip.Length >= 20)
        {
            int ihl = (ip[0] & 0x0f) * 4;
            if (ihl < 20 || ihl > ip.Length)
            {
                return;
            }
            ip[10] = 0;
            ip[11] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum.Compute(ip[..ihl]));
            int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (total < ihl || total > ip.Length || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1fff) != 0)
            {
                return;
            }
            var src = Ipv4Address.Read(ip[12..]);
            var dst = Ipv4Address.Read(ip[16..]);
            Span<byte> l4 = ip[ihl..total];
            var protocol = (IpProtocol)ip[9];
            FixL4(l4, protocol, length => Checksum.PseudoHeader(src, dst, protocol, length));
        }
        else if (type == 0x86dd && ip.Length >= 40 && ip[6] is 6 or 17 or 58)
        {
            int payload = BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            if (40 + payload > ip.Length)
            {
                return;
            }
            var src = Ipv6Address.Read(ip[8..]);
            var dst = Ipv6Address.Read(ip[24..]);
            var protocol = (IpProtocol)ip[6];
            FixL4(ip.Slice(40, payload), protocol, length => Checksum.PseudoHeader(src, dst, protocol, length));
        }
    }

    private static void FixL4(Span<byte> l4, IpProtocol protocol, Func<int, uint> pseudo)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp when l4.Length >= 20:
                l4[16] = 0;
                l4[17] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(l4[16..], Checksum.Finish(Checksum.Accumulate(l4, pseudo(l4.Length))));
                break;
            case IpProtocol.Udp when l4.Length >= 8:
                int length = BinaryPrimitives.ReadUInt16BigEndian(l4[4..]);
                if (length < 8 || length > l4.Length)
                {
                    return;
                }
                l4[6] = 0;
                l4[7] = 0;
                ushort sum = Checksum.Finish(Checksum.Accumulate(l4[..length], pseudo(length)));
                BinaryPrimitives.WriteUInt16BigEndian(l4[6..], sum == 0 ? (ushort)0xffff : sum);
                break;
            case IpProtocol.Icmp when l4.Length >= 4:
                l4[2] = 0;
                l4[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(l4[2..], Checksum.Compute(l4));
                break;
            case IpProtocol.Icmpv6 when l4.Length >= 4:
                l4[2] = 0;
                l4[3] = 0;
                BinaryPrimitives.WriteUInt16BigEndian(l4[2..], Checksum.Finish(Checksum.Accumulate(l4, pseudo(l4.Length))));
                break;
        }
    }
}
