namespace Skiff.Wire;

/// <summary>
/// One IPv4 option as yielded by <see cref="Ipv4OptionReader"/>: its type and the bytes after the type and
/// length octets (empty for end-of-list and no-operation). The data aliases the packet.
/// </summary>
public readonly ref struct Ipv4Option
{
    /// <summary>An option as the reader found it.</summary>
    /// <param name="type">The option's type octet.</param>
    /// <param name="data">The bytes after the type and length octets; empty for single-octet options.</param>
    public Ipv4Option(Ipv4OptionType type, ReadOnlySpan<byte> data)
    {
        Type = type;
        Data = data;
    }

    /// <summary>The type octet: copied flag (bit 7), class (bits 5-6) and number (bits 0-4) (RFC 791 section 3.1).</summary>
    public Ipv4OptionType Type { get; }

    /// <summary>The option's value bytes (the length octet's value minus 2).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The copied flag (RFC 791 section 3.1): copy the option into every fragment.</summary>
    public bool IsCopied => ((byte)Type & 0x80) != 0;
}
