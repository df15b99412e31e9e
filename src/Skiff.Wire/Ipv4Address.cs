using System.Buffers.Binary;

namespace Skiff.Wire;

/// <summary>An IPv4 address, held as a host-order <see cref="uint"/> (a.b.c.d = a&lt;&lt;24 | ... | d).</summary>
/// <param name="Value">The address as a host-order number: 10.0.0.1 is 0x0A000001.</param>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    /// <summary>Bytes of an IPv4 address on the wire.</summary>
    public const int Length = 4;

    /// <summary>0.0.0.0: the unspecified address; as a bind address, any local address; as a route's gateway, on-link.</summary>
    public static readonly Ipv4Address Any = default;

    /// <summary>255.255.255.255: the limited broadcast, delivered to every host on the link and never forwarded (RFC 919).</summary>
    public static readonly Ipv4Address Broadcast = new(0xFFFF_FFFF);

    /// <summary>Builds a.b.c.d from its four octets, most significant (first on the wire) first.</summary>
    /// <param name="a">The first octet (10 in 10.0.0.1).</param>
    /// <param name="b">The second octet.</param>
    /// <param name="c">The third octet.</param>
    /// <param name="d">The last octet (1 in 10.0.0.1).</param>
    public Ipv4Address(byte a, byte b, byte c, byte d) : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d)
    {
    }

    /// <summary>True for 0.0.0.0, which may only appear as a source while a host learns its address (RFC 1122 section 3.2.1.3).</summary>
    public bool IsUnspecified => Value == 0;

    /// <summary>True for 255.255.255.255, the limited broadcast. Subnet-directed broadcasts are <see cref="Ipv4Cidr.BroadcastAddress"/>'s business.</summary>
    public bool IsBroadcast => Value == 0xFFFF_FFFF;

    /// <summary>224.0.0.0/4 (RFC 5771).</summary>
    public bool IsMulticast => (Value & 0xF000_0000) == 0xE000_0000;

    /// <summary>127.0.0.0/8.</summary>
    public bool IsLoopback => (Value >> 24) == 127;

    /// <summary>Unicast: not unspecified, broadcast, multicast or class E.</summary>
    public bool IsUnicast => Value != 0 && (Value & 0xE000_0000) != 0xE000_0000;

    /// <summary>Reads the 4 bytes at the start of <paramref name="bytes"/> in network order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is shorter than 4 bytes.</exception>
    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    /// <summary>Writes the address as 4 bytes in network order at the start of <paramref name="bytes"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is shorter than 4 bytes.</exception>
    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

    /// <summary>Orders addresses numerically, as dotted quads read left to right (10.0.0.2 before 10.0.1.1).</summary>
    public int CompareTo(Ipv4Address other) => Value.CompareTo(other.Value);

    /// <summary>Parses dotted-quad notation ("10.0.0.1").</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Address address)
    {
        address = default;
        uint v = 0;
        int parts = 0;
        while (parts < 4)
        {
            int dot = text.IndexOf('.');
            ReadOnlySpan<char> part = dot < 0 ? text : text[..dot];
            if (part.Length is 0 or > 3 || !byte.TryParse(part, System.Globalization.NumberStyles.None, null, out byte b))
            {
                return false;
            }
            v = (v << 8) | b;
            parts++;
            if (dot < 0)
            {
                break;
            }
            text = text[(dot + 1)..];
        }
        if (parts != 4)
        {
            return false;
        }
        address = new Ipv4Address(v);
        return true;
    }

    /// <summary>Parses dotted-quad notation ("10.0.0.1"), for configuration and command lines.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not four decimal octets separated by dots; the message says how to write one.</exception>
    public static Ipv4Address Parse(string text) =>
        TryParse(text, out Ipv4Address a) ? a : throw new FormatException($"'{text}' is not an IPv4 address; write it as a.b.c.d, e.g. 10.0.0.1.");

    /// <summary>Dotted-quad notation, e.g. "10.0.0.1". Allocates.</summary>
    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
