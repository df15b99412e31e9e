using Skiff.Wire;

namespace Skiff.Stack.Ipv6;

/// <summary>An IPv6 address with a prefix length, as written <c>fd00::2/64</c> (RFC 4291 section 2.3).</summary>
public readonly record struct Ipv6Prefix
{
    /// <summary>An address with a prefix of <paramref name="prefixLength"/> bits; the address keeps its interface bits (see <see cref="Network"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="prefixLength"/> is negative or above 128.</exception>
    public Ipv6Prefix(Ipv6Address address, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 128);
        Address = address;
        PrefixLength = prefixLength;
    }

    /// <summary>The address as given, interface bits included.</summary>
    public Ipv6Address Address { get; }

    /// <summary>Leading bits that name the network, 0 to 128.</summary>
    public int PrefixLength { get; }

    /// <summary>The prefix's mask as a 128-bit value.</summary>
    public UInt128 Mask => PrefixLength == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - PrefixLength);

    /// <summary>The network: the address with the interface bits cleared.</summary>
    public Ipv6Address Network => new(Address.Value & Mask);

    /// <summary>True when <paramref name="address"/> lies in the prefix.</summary>
    public bool Contains(Ipv6Address address) => ((address.Value ^ Address.Value) & Mask) == UInt128.Zero;

    /// <summary>Parses <c>address/length</c>; false when it is not one.</summary>
    public static bool TryParse(string text, out Ipv6Prefix prefix)
    {
        prefix = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || !Ipv6Address.TryParse(text[..slash], out Ipv6Address a)
            || !int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out int p) || p > 128)
        {
            return false;
        }
        prefix = new Ipv6Prefix(a, p);
        return true;
    }

    /// <summary>Parses <c>address/length</c> or throws a <see cref="FormatException"/> that says how to write one.</summary>
    public static Ipv6Prefix Parse(string text) =>
        TryParse(text, out Ipv6Prefix p) ? p : throw new FormatException($"'{text}' is not an IPv6 address with a prefix; write it as e.g. fd00::2/64.");

    /// <summary>The prefix as written, e.g. <c>fd00::2/64</c>; <see cref="Parse"/> reads it back.</summary>
    public override string ToString() => $"{Address}/{PrefixLength}";
}
