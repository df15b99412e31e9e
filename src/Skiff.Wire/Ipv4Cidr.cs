namespace Skiff.Wire;

/// <summary>An IPv4 address with a prefix length ("10.0.0.1/24"): an interface address or a route's destination.</summary>
public readonly record struct Ipv4Cidr
{
    /// <summary>Pairs an address with a prefix length. The host bits are kept: 10.0.0.1/24 is an interface address, <see cref="Network"/> its subnet.</summary>
    /// <param name="address">The address, host bits and all.</param>
    /// <param name="prefixLength">Leading bits that name the network, 0 to 32.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="prefixLength"/> is negative or above 32.</exception>
    public Ipv4Cidr(Ipv4Address address, int prefixLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(prefixLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefixLength, 32);
        Address = address;
        PrefixLength = prefixLength;
    }

    /// <summary>The address as given, host bits included.</summary>
    public Ipv4Address Address { get; }

    /// <summary>Leading bits that name the network, 0 (everything: a default route) to 32 (one host).</summary>
    public int PrefixLength { get; }

    /// <summary>The prefix as a host-order mask: /24 is 0xFFFFFF00 (255.255.255.0), /0 is 0.</summary>
    public uint Netmask => PrefixLength == 0 ? 0 : 0xFFFF_FFFFu << (32 - PrefixLength);

    /// <summary>The network address (host bits cleared).</summary>
    public Ipv4Address Network => new(Address.Value & Netmask);

    /// <summary>The directed broadcast address of the subnet.</summary>
    public Ipv4Address BroadcastAddress => new(Address.Value | ~Netmask);

    /// <summary>True when <paramref name="address"/> is in this prefix: its first <see cref="PrefixLength"/> bits equal <see cref="Address"/>'s. A /0 contains every address.</summary>
    public bool Contains(Ipv4Address address) => ((address.Value ^ Address.Value) & Netmask) == 0;

    /// <summary>Parses "a.b.c.d/n" with n from 0 to 32. False, with <paramref name="cidr"/> default, for a missing slash, a bad address or a prefix out of range. Never throws.</summary>
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

    /// <summary>Parses "a.b.c.d/n" with n from 0 to 32, for configuration and command lines.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is not an address with a prefix length; the message says how to write one.</exception>
    public static Ipv4Cidr Parse(string text) =>
        TryParse(text, out Ipv4Cidr c) ? c : throw new FormatException($"'{text}' is not an IPv4 address with a prefix; write it as a.b.c.d/nn, e.g. 10.0.0.1/24.");

    /// <summary>"a.b.c.d/n" with the address as given (host bits kept), e.g. "10.0.0.1/24". Allocates.</summary>
    public override string ToString() => $"{Address}/{PrefixLength}";
}
