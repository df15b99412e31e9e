namespace Skiff.Wire;

/// <summary>
/// Iterates the options area of an IPv4 header (RFC 791 section 3.1): end-of-list (0) and no-operation (1) are
/// single octets; every other option is type, length (counting both), data. Yields end-of-list once and stops there.
/// </summary>
/// <remarks>
/// Use: <c>while (reader.MoveNext()) { var o = reader.Current; ... }</c> then check <see cref="Error"/>. A length
/// octet below 2 or past the end of the area stops the walk with <see cref="WireError.BadOptionLength"/>. Allocates
/// nothing, never throws.
/// </remarks>
public ref struct Ipv4OptionReader
{
    private readonly ReadOnlySpan<byte> _options;
    private int _offset;
    private Ipv4Option _current;
    private WireError _error;

    /// <summary>Reads <paramref name="options"/>, normally <see cref="Ipv4Packet.Options"/>.</summary>
    public Ipv4OptionReader(ReadOnlySpan<byte> options)
    {
        _options = options;
        _offset = 0;
        _current = default;
        _error = WireError.Ok;
    }

    /// <summary>The option the last successful <see cref="MoveNext"/> produced.</summary>
    public readonly Ipv4Option Current => _current;

    /// <summary><see cref="WireError.Ok"/> while iterating and after a clean end; the reason otherwise.</summary>
    public readonly WireError Error => _error;

    /// <summary>Advances to the next option; false at the end of the area, after end-of-list, or on a malformed length.</summary>
    public bool MoveNext()
    {
        if (_error != WireError.Ok || _offset >= _options.Length)
        {
            return false;
        }
        var type = (Ipv4OptionType)_options[_offset];
        switch (type)
        {
            case Ipv4OptionType.EndOfList:
                _current = new Ipv4Option(type, default);
                _offset = _options.Length;
                return true;
            case Ipv4OptionType.NoOperation:
                _current = new Ipv4Option(type, default);
                _offset++;
                return true;
            default:
                if (_offset + 1 >= _options.Length)
                {
                    _error = WireError.BadOptionLength;
                    return false;
                }
                int length = _options[_offset + 1];
                if (length < 2 || _offset + length > _options.Length)
                {
                    _error = WireError.BadOptionLength;
                    return false;
                }
                _current = new Ipv4Option(type, _options.Slice(_offset + 2, length - 2));
                _offset += length;
                return true;
        }
    }

    /// <summary>Walks the whole area: <see cref="WireError.Ok"/> if every option length is well formed.</summary>
    public static WireError Validate(ReadOnlySpan<byte> options)
    {
        var reader = new Ipv4OptionReader(options);
        while (reader.MoveNext())
        {
        }
        return reader.Error;
    }
}
