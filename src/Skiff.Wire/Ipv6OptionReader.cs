namespace Skiff.Wire;

/// <summary>
/// Iterates the TLV-encoded options of a hop-by-hop or destination options header (RFC 8200 section 4.2): Pad1 is a
/// single octet; every other option is type, data length, data. Padding is yielded like any other option.
/// </summary>
/// <remarks>
/// Give it the header's bytes after the next-header and length octets. <c>while (r.MoveNext()) { ... }</c>, then check
/// <see cref="Error"/>: an option whose data runs past the end stops the walk with <see cref="WireError.BadOptionLength"/>.
/// Allocates nothing, never throws.
/// </remarks>
public ref struct Ipv6OptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;
    private Ipv6Option _current;
    private WireError _error;

    /// <summary>Starts before the first option.</summary>
    /// <param name="options">The options area: the extension header after its next-header and length octets.</param>
    public Ipv6OptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        _current = default;
        _error = WireError.Ok;
    }

    /// <summary>The option <see cref="MoveNext"/> stopped at; default before the first call.</summary>
    public readonly Ipv6Option Current => _current;

    /// <summary><see cref="WireError.Ok"/> while iterating and after a clean end; the reason otherwise.</summary>
    public readonly WireError Error => _error;

    /// <summary>Advances to the next option; false at the end or on a malformed length.</summary>
    public bool MoveNext()
    {
        if (_error != WireError.Ok || _offset >= _options.Length)
        {
            return false;
        }
        var type = (Ipv6OptionType)_options[_offset];
        if (type == Ipv6OptionType.Pad1)
        {
            _current = new Ipv6Option(type, _offset, default);
            _offset++;
            return true;
        }
        if (_offset + 2 > _options.Length || _offset + 2 + _options[_offset + 1] > _options.Length)
        {
            _error = WireError.BadOptionLength;
            return false;
        }
        int dataLength = _options[_offset + 1];
        _current = new Ipv6Option(type, _offset, _options.Slice(_offset + 2, dataLength));
        _offset += 2 + dataLength;
        return true;
    }

    /// <summary>Walks all options: <see cref="WireError.Ok"/> if every length is well formed.</summary>
    public static WireError Validate(ReadOnlySpan<byte> options)
    {
        var reader = new Ipv6OptionReader(options);
        while (reader.MoveNext())
        {
        }
        return reader.Error;
    }
}
