using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace Skiff.Wire;

/// <summary>An Ethernet (EUI-48) address, held in the low 48 bits of a <see cref="ulong"/> in wire order (first byte most significant).</summary>
public readonly record struct MacAddress
{
    /// <summary>Bytes of an Ethernet address on the wire.</summary>
    public const int Length = 6;

    private readonly ulong _value;

    /// <summary>Wraps a 48-bit address: aa:bb:cc:dd:ee:ff is 0xaabbccddeeff. Bits above 48 are discarded.</summary>
    /// <param name="value">The address, first wire byte in bits 40-47.</param>
    public MacAddress(ulong value) => _value = value & 0xFFFF_FFFF_FFFFUL;

    /// <summary>ff:ff:ff:ff:ff:ff: every station on the link (ARP requests go here).</summary>
    public static readonly MacAddress Broadcast = new(0xFFFF_FFFF_FFFFUL);

    /// <summary>00:00:00:00:00:00: no address, as in an ARP request's target hardware field.</summary>
    public static readonly MacAddress Zero = default;

    /// <summary>The address in the low 48 bits, first wire byte most significant (0xaabbccddeeff for aa:bb:cc:dd:ee:ff).</summary>
    public ulong Value => _value;

    /// <summary>The group bit (I/G, bit 0 of the first byte): multicast or broadcast.</summary>
    public bool IsMulticast => (_value & 0x0100_0000_0000UL) != 0;

    /// <summary>True for ff:ff:ff:ff:ff:ff only.</summary>
    public bool IsBroadcast => _value == 0xFFFF_FFFF_FFFFUL;

    /// <summary>True when the group bit is clear: a single station's address. The all-zero address counts as unicast.</summary>
    public bool IsUnicast => !IsMulticast;

    /// <summary>Reads 6 bytes. The span must hold at least 6.</summary>
    public static MacAddress Read(ReadOnlySpan<byte> bytes) =>
        new(((ulong)BinaryPrimitives.ReadUInt16BigEndian(bytes) << 32) | BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));

    /// <summary>Writes 6 bytes. The span must hold at least 6.</summary>
    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)(_value >> 32));
        BinaryPrimitives.WriteUInt32BigEndian(bytes[2..], (uint)_value);
    }

    /// <summary>The IPv6 multicast MAC 33:33:xx:xx:xx:xx for a multicast group (RFC 2464 section 7).</summary>
    public static MacAddress FromIpv6Multicast(Ipv6Address group) => new(0x3333_0000_0000UL | (uint)group.Value);

    /// <summary>The IPv4 multicast MAC 01:00:5e:xx:xx:xx (RFC 1112 section 6.4).</summary>
    public static MacAddress FromIpv4Multicast(Ipv4Address group) => new(0x0100_5E00_0000UL | (group.Value & 0x7F_FFFF));

    /// <summary>Parses "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff".</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out MacAddress address)
    {
        address = default;
        if (text.Length != 17)
        {
            return false;
        }
        ulong v = 0;
        for (int i = 0; i < 6; i++)
        {
            if (i > 0 && text[i * 3 - 1] is not (':' or '-'))
            {
                return false;
            }
            if (!byte.TryParse(text.Slice(i * 3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b))
            {
                return false;
            }
            v = (v << 8) | b;
        }
        address = new MacAddress(v);
        return true;
    }

    /// <summary>Parses "aa:bb:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff" (hex, either case), for configuration and command lines.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not six two-digit hex bytes; the message says how to write one.</exception>
    public static MacAddress Parse(string text) =>
        TryParse(text, out MacAddress a) ? a : throw new FormatException($"'{text}' is not a MAC address; write it as aa:bb:cc:dd:ee:ff.");

    /// <summary>Lower-case colon notation, e.g. "02:00:00:00:00:01". Allocates.</summary>
    public override string ToString()
    {
        ulong v = _value;
        return string.Create(17, v, static (span, v) =>
        {
            for (int i = 0; i < 6; i++)
            {
                byte b = (byte)(v >> (40 - 8 * i));
                if (i > 0)
                {
                    span[i * 3 - 1] = ':';
                }
                b.TryFormat(span.Slice(i * 3, 2), out _, "x2");
            }
        });
    }
}
