using System.Buffers.Binary;
using System.Net;

namespace Skiff.Wire;

/// <summary>An IPv6 address, held as a <see cref="UInt128"/> whose most significant byte is the first on the wire.</summary>
public readonly record struct Ipv6Address(UInt128 Value) : IComparable<Ipv6Address>
{
    public const int Length = 16;

    public static readonly Ipv6Address Unspecified = default;

    public static readonly Ipv6Address Loopback = new(UInt128.One);

    /// <summary>ff02::1, all nodes on the link.</summary>
    public static readonly Ipv6Address AllNodes = new(new UInt128(0xFF02_0000_0000_0000UL, 1));

    /// <summary>ff02::2, all routers on the link.</summary>
    public static readonly Ipv6Address AllRouters = new(new UInt128(0xFF02_0000_0000_0000UL, 2));

    public ulong High => (ulong)(Value >> 64);

    public ulong Low => (ulong)Value;

    public bool IsUnspecified => Value == UInt128.Zero;

    public bool IsMulticast => (High >> 56) == 0xFF;

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);

    /// <summary>The solicited-node multicast group ff02::1:ffXX:XXXX of this address (RFC 4291 section 2.7.1).</summary>
    public Ipv6Address SolicitedNode => new(new UInt128(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFF_FFFF)));

    public static Ipv6Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt128BigEndian(bytes));

    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt128BigEndian(bytes, Value);

    public int CompareTo(Ipv6Address other) => Value.CompareTo(other.Value);

    /// <summary>Parses RFC 4291 text ("fe80::1"). Allocates; for configuration, not the data path.</summary>
    public static bool TryParse(string text, out Ipv6Address address)
    {
        address = default;
        if (!IPAddress.TryParse(text, out IPAddress? ip) || ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return false;
        }
        Span<byte> b = stackalloc byte[16];
        ip.TryWriteBytes(b, out _);
        address = Read(b);
        return true;
    }

    public static Ipv6Address Parse(string text) =>
        TryParse(text, out Ipv6Address a) ? a : throw new FormatException($"'{text}' is not an IPv6 address; write it as in RFC 4291, e.g. fd00::1.");

    public override string ToString()
    {
        Span<byte> b = stackalloc byte[16];
        Write(b);
        return new IPAddress(b).ToString();
    }
}
