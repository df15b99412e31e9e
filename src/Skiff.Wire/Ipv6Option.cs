namespace Skiff.Wire;

/// <summary>One TLV option from a hop-by-hop or destination options header, as yielded by <see cref="Ipv6OptionReader"/>. The data aliases the packet.</summary>
public readonly ref struct Ipv6Option
{
    /// <summary>An option as the reader found it.</summary>
    /// <param name="type">The option's type octet.</param>
    /// <param name="offset">Where the type octet sits in the span given to the reader.</param>
    /// <param name="data">The option's data; empty for Pad1.</param>
    public Ipv6Option(Ipv6OptionType type, int offset, ReadOnlySpan<byte> data)
    {
        Type = type;
        Offset = offset;
        Data = data;
    }

    /// <summary>The type octet: the two high bits are <see cref="UnknownAction"/>, the third <see cref="MayChangeEnRoute"/> (RFC 8200 section 4.2).</summary>
    public Ipv6OptionType Type { get; }

    /// <summary>Offset of the option's type octet in the span given to the reader (for a parameter-problem pointer).</summary>
    public int Offset { get; }

    /// <summary>The option data (empty for Pad1).</summary>
    public ReadOnlySpan<byte> Data { get; }

    /// <summary>The action an unrecognising node takes (RFC 8200 section 4.2).</summary>
    public Ipv6OptionAction UnknownAction => (Ipv6OptionAction)((byte)Type >> 6);

    /// <summary>True if the option data may change en route (the third-highest bit of the type).</summary>
    public bool MayChangeEnRoute => ((byte)Type & 0x20) != 0;
}
