using System.Buffers.Binary;

namespace Skiff.Wire;

/// <summary>An IPv4 address, held as a host-order <see cref="uint"/> (a.b.c.d = a&lt;&lt;24 | ... | d).</summary>
public readonly record struct Ipv4Address(uint Value) : IComparable<Ipv4Address>
{
    public const int Length = 4;

    public static readonly Ipv4Address Any = default;

    public static readonly Ipv4Address Broadcast = new(0xFFFF_FFFF);

    public Ipv4Address(byte a, byte b, byte c, byte d) : this(((uint)a << 24) | ((uint)b << 16) | ((uint)c << 8) | d)
    {
    }

    public bool IsUnspecified => Value == 0;

    public bool IsBroadcast => Value == 0xFFFF_FFFF;

    /// <summary>224.0.0.0/4 (RFC 5771).</summary>
    public bool IsMulticast => (Value & 0xF000_0000) == 0xE000_0000;

    /// <summary>127.0.0.0/8.</summary>
    public bool IsLoopback => (Value >> 24) == 127;

    /// <summary>Unicast: not unspecified, broadcast, multicast or class E.</summary>
    public bool IsUnicast => Value != 0 && (Value & 0xE000_0000) != 0xE000_0000;

    public static Ipv4Address Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

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

    public static Ipv4Address Parse(string text) =>
        TryParse(text, out Ipv4Address a) ? a : throw new FormatException($"'{text}' is not an IPv4 address; write it as a.b.c.d, e.g. 10.0.0.1.");

    public override string ToString() => $"{Value >> 24}.{(Value >> 16) & 0xFF}.{(Value >> 8) & 0xFF}.{Value & 0xFF}";
}
