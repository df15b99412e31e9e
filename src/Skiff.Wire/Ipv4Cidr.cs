namespace Skiff.Wire;

/// <summary>An IPv4 address with a prefix length ("10.0.0.1/24"): an interface address or a route's destination.</summary>
public readonly record struct Ipv4Cidr
{
    public Ipv4Cidr(Ipv4Address address, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        Address = address;
        PrefixLength = prefixLength;
    }

    public Ipv4Address Address { get; }

    public int PrefixLength { get; }

    public uint Netmask => PrefixLength == 0 ? 0 : 0xFFFF_FFFFu << (32 - PrefixLength);

    /// <summary>The network address (host bits cleared).</summary>
    public Ipv4Address Network => new(Address.Value & Netmask);

    /// <summary>The directed broadcast address of the subnet.</summary>
    public Ipv4Address BroadcastAddress => new(Address.Value | ~Netmask);

    public bool Contains(Ipv4Address address) => ((address.Value ^ Address.Value) & Netmask) == 0;

    public static bool TryParse(ReadOnlySpan<char> text, out Ipv4Cidr cidr)
    {
        cidr = default;
        int slash = text.IndexOf('/');
        if (slash < 0 || !Ipv4Address.TryParse(text[..slash], out Ipv4Address a)
            || !int.TryParse(text[(slash + 1)..], System.Globalization.NumberStyles.None, null, out int p) || p > 32)
        {
            return false;
        }
        cidr = new Ipv4Cidr(a, p);
        return true;
    }

    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out Ipv4Cidr c) ? c : throw new FormatException($"'{text}' is not an IPv4 address with a prefix; write it as a.b.c.d/nn, e.g. 10.0.0.1/24.");

    public override string ToString() => $"{Address}/{PrefixLength}";
}
