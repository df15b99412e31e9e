using System.Buffers.Binary;
using System.Net;

namespace Skiff.Wire;

/// <summary>An IPv6 address, held as a <see cref="UInt128"/> whose most significant byte is the first on the wire.</summary>
/// <param name="Value">The 128 bits, most significant first on the wire: ::1 is 1, fe80::1 is 0xfe80 &lt;&lt; 112 | 1.</param>
public readonly record struct Ipv6Address(UInt128 Value) : IComparable<Ipv6Address>
{
    /// <summary>Bytes of an IPv6 address on the wire.</summary>
    public const int Length = 16;

    /// <summary>::, the unspecified address: the source of duplicate address detection probes (RFC 4291 section 2.5.2); as a bind address, any local address.</summary>
    public static readonly Ipv6Address Unspecified = default;

    /// <summary>::1, the loopback address (RFC 4291 section 2.5.3); never sent on a link.</summary>
    public static readonly Ipv6Address Loopback = new(UInt128.One);

    /// <summary>ff02::1, all nodes on the link.</summary>
    public static readonly Ipv6Address AllNodes = new(new UInt128(0xFF02_0000_0000_0000UL, 1));

    /// <summary>ff02::2, all routers on the link.</summary>
    public static readonly Ipv6Address AllRouters = new(new UInt128(0xFF02_0000_0000_0000UL, 2));

    /// <summary>The first 64 bits: for unicast, the subnet prefix (RFC 4291 section 2.5.1).</summary>
    public ulong High => (ulong)(Value >> 64);

    /// <summary>The last 64 bits: for unicast, the interface identifier (RFC 4291 section 2.5.1).</summary>
    public ulong Low => (ulong)Value;

    /// <summary>True for ::, which may only be a source, while a host has no address yet (RFC 4291 section 2.5.2).</summary>
    public bool IsUnspecified => Value == UInt128.Zero;

    /// <summary>True for ff00::/8 (RFC 4291 section 2.7); never a valid source.</summary>
    public bool IsMulticast => (High >> 56) == 0xFF;

    /// <summary>fe80::/10.</summary>
    public bool IsLinkLocal => (High >> 54) == (0xFE80UL >> 6);

    /// <summary>The solicited-node multicast group ff02::1:ffXX:XXXX of this address (RFC 4291 section 2.7.1).</summary>
    public Ipv6Address SolicitedNode => new(new UInt128(0xFF02_0000_0000_0000UL, 0x0000_0001_FF00_0000UL | (Low & 0xFF_FFFF)));

    /// <summary>Reads the 16 bytes at the start of <paramref name="bytes"/> in network order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is shorter than 16 bytes.</exception>
    public static Ipv6Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt128BigEndian(bytes));

    /// <summary>Writes the address as 16 bytes in network order at the start of <paramref name="bytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is shorter than 16 bytes.</exception>
    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt128BigEndian(bytes, Value);

    /// <summary>Orders addresses numerically, as their bytes read first to last.</summary>
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

    /// <summary>Parses RFC 4291 text ("fd00::1"), for configuration and command lines. Allocates.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not an IPv6 address; the message says how to write one.</exception>
    public static Ipv6Address Parse(string text) =>
        TryParse(text, out Ipv6Address a) ? a : throw new FormatException($"'{text}' is not an IPv6 address; write it as in RFC 4291, e.g. fd00::1.");

    /// <summary>The RFC 5952 text form, e.g. "fe80::1" (as <see cref="IPAddress"/> prints it). Allocates.</summary>
    public override string ToString()
    {
        Span<byte> b = stackalloc byte[16];
        Write(b);
        return new IPAddress(b).ToString();
    }
}
