namespace Skiff.Wire;

// Neighbor discovery option, RFC 4861 section 4.6:
//
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |     Type      |    Length     |              ...              |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// ~                              ...                              ~
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Length counts 8-octet units including the type and length octets.

/// <summary>
/// Iterates the options of a neighbor discovery message (RFC 4861 section 4.6), normally <see cref="Icmpv6Packet.Data"/>.
/// A length octet of 0 (which RFC 4861 says MUST cause the packet to be discarded) or an option running past the end
/// stops the walk with <see cref="WireError.BadOptionLength"/>. Allocates nothing, never throws.
/// </summary>
public ref struct NdpOptionReader
{
    /// <summary>Bytes in one length unit.</summary>
    public const int UnitBytes = 8;

    private readonly ReadOnlySpan<byte> _options;
    private int _offset;
    private NdpOption _current;
    private WireError _error;

    /// <summary>Starts before the first option.</summary>
    /// <param name="options">The options area of a neighbor discovery message, normally <see cref="Icmpv6Packet.Data"/>.</param>
    public NdpOptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        _current = default;
        _error = WireError.Ok;
    }

    /// <summary>The option <see cref="MoveNext"/> stopped at; default before the first call.</summary>
    public readonly NdpOption Current => _current;

    /// <summary><see cref="WireError.Ok"/> while iterating and after a clean end; the reason otherwise.</summary>
    public readonly WireError Error => _error;

    /// <summary>Advances to the next option; false at the end or on a malformed length.</summary>
    public bool MoveNext()
    {
        if (_error != WireError.Ok || _offset >= _options.Length)
        {
            return false;
        }
        if (_offset + 2 > _options.Length)
        {
            _error = WireError.BadOptionLength;
            return false;
        }
        int length = _options[_offset + 1] * UnitBytes;
        if (length == 0 || _offset + length > _options.Length)
        {
            _error = WireError.BadOptionLength;
            return false;
        }
        _current = new NdpOption((NdpOptionType)_options[_offset], _offset, _options.Slice(_offset + 2, length - 2));
        _offset += length;
        return true;
    }

    /// <summary>Walks all options: <see cref="WireError.Ok"/> if every length is well formed.</summary>
    public static WireError Validate(ReadOnlySpan<byte> options)
    {
        var reader = new NdpOptionReader(options);
        while (reader.MoveNext())
        {
        }
        return reader.Error;
    }
}
