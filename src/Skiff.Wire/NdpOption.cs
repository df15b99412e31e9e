namespace Skiff.Wire;

/// <summary>One neighbor discovery option as yielded by <see cref="NdpOptionReader"/> (RFC 4861 section 4.6). The data aliases the packet.</summary>
public readonly ref struct NdpOption
{
    /// <summary>An option as the reader found it.</summary>
    /// <param name="type">The option's type octet.</param>
    /// <param name="offset">Where the type octet sits in the span given to the reader.</param>
    /// <param name="data">The bytes after the type and length octets.</param>
    public NdpOption(NdpOptionType type, int offset, ReadOnlySpan<byte> data)
    {
        Type = type;
        Offset = offset;
        Data = data;
    }

    /// <summary>The type octet; unknown types are kept as numbers and, per RFC 4861 section 4.6, skipped by receivers.</summary>
    public NdpOptionType Type { get; }

    /// <summary>Offset of the option's type octet in the span given to the reader.</summary>
    public int Offset { get; }

    /// <summary>The bytes after the type and length octets (length x 8 - 2 bytes).</summary>
    public ReadOnlySpan<byte> Data { get; }
}
