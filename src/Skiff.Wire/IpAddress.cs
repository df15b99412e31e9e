using System.Runtime.CompilerServices;

namespace Skiff.Wire;

/// <summary>
/// An IPv4 or an IPv6 address in 16 bytes, for tables and endpoints that hold both families (a TCP 4-tuple, a UDP
/// endpoint). An IPv4 address is held as its IPv4-mapped IPv6 form ::ffff:a.b.c.d (RFC 4291 section 2.5.5.2), as
/// Linux's dual-stack sockets hold it; the stack drops IPv6 packets that carry a mapped address, so the two families
/// never meet in one value. Two <see cref="ulong"/>s, so a tuple of two addresses and two ports is 40 bytes, 8-aligned.
/// The low half is stored XORed with the mapped prefix, so <c>default</c> is 0.0.0.0 (as <c>default(Ipv4Address)</c> is)
/// and an IPv4 address reads as its 32-bit value with no shift.
/// </summary>
public readonly struct IpAddress : IEquatable<IpAddress>
{
    private const ulong MappedPrefix = 0x0000_FFFF_0000_0000UL;

    private readonly ulong _high;
    private readonly ulong _low; // the address's low 64 bits XOR MappedPrefix

    /// <summary>An IPv4 address (held as ::ffff:a.b.c.d).</summary>
    /// <param name="address">The IPv4 address.</param>
    public IpAddress(Ipv4Address address)
    {
        _high = 0;
        _low = address.Value;
    }

    /// <summary>An IPv6 address. An IPv4-mapped one (::ffff:a.b.c.d) is the IPv4 address it maps.</summary>
    /// <param name="address">The IPv6 address.</param>
    public IpAddress(Ipv6Address address)
    {
        _high = address.High;
        _low = address.Low ^ MappedPrefix;
    }

    /// <summary>True for an IPv4 address.</summary>
    public bool IsIpv4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _high == 0 && (_low >> 32) == 0;
    }

    /// <summary>True for an IPv6 address.</summary>
    public bool IsIpv6 => !IsIpv4;

    /// <summary>The IPv4 address; <see cref="Ipv4Address.Any"/> for an IPv6 one.</summary>
    public Ipv4Address Ipv4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => IsIpv4 ? new Ipv4Address((uint)_low) : Ipv4Address.Any;
    }

    /// <summary>The address as IPv6: an IPv4 address as ::ffff:a.b.c.d.</summary>
    public Ipv6Address Ipv6 => new(new UInt128(_high, _low ^ MappedPrefix));

    /// <summary>True for 0.0.0.0 and for ::, the unspecified addresses; as a bind address, every address of either family.</summary>
    public bool IsUnspecified => _high == 0 && (_low == 0 || _low == MappedPrefix);

    /// <summary>A well-mixed 64-bit value of the address for table hashes (not the RSS hash).</summary>
    public ulong Fold
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _low ^ (_high * 0x9E37_79B9_7F4A_7C15UL);
    }

    /// <summary>The IPv4 address.</summary>
    public static implicit operator IpAddress(Ipv4Address address) => new(address);

    /// <summary>The IPv6 address.</summary>
    public static implicit operator IpAddress(Ipv6Address address) => new(address);

    /// <summary>True when both hold the same address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(IpAddress other) => _low == other._low && _high == other._high;

    /// <summary>True when <paramref name="obj"/> is an equal <see cref="IpAddress"/>.</summary>
    public override bool Equals(object? obj) => obj is IpAddress other && Equals(other);

    /// <summary>A hash of the address.</summary>
    public override int GetHashCode() => (int)(Fold >> 32) ^ (int)Fold;

    /// <summary>True when both hold the same address.</summary>
    public static bool operator ==(IpAddress left, IpAddress right) => left.Equals(right);

    /// <summary>True when the addresses differ.</summary>
    public static bool operator !=(IpAddress left, IpAddress right) => !left.Equals(right);

    /// <summary>Parses "10.0.0.1" or "fd00::1" (an IPv4-mapped IPv6 text is the IPv4 address). Allocates.</summary>
    /// <param name="text">The address in either family's text form.</param>
    /// <param name="address">The address, when the result is true.</param>
    public static bool TryParse(string text, out IpAddress address)
    {
        if (Ipv4Address.TryParse(text, out Ipv4Address v4))
        {
            address = v4;
            return true;
        }
        if (Ipv6Address.TryParse(text, out Ipv6Address v6))
        {
            address = v6;
            return true;
        }
        address = default;
        return false;
    }

    /// <summary>Dotted-quad text for IPv4 ("10.0.0.1"), RFC 5952 text for IPv6 ("fd00::1"). Allocates.</summary>
    public override string ToString() => IsIpv4 ? Ipv4.ToString() : Ipv6.ToString();

    /// <summary>The address as it goes into a URL or an endpoint's text: IPv6 in brackets ("[fd00::1]").</summary>
    public string ToUriHost() => IsIpv4 ? Ipv4.ToString() : $"[{Ipv6}]";
}
