namespace Skiff.Wire;

/// <summary>
/// Iterates the options area of a TCP header (RFC 9293 section 3.2) without allocating: use
/// <c>foreach</c> or <see cref="MoveNext"/>/<see cref="Current"/>, then check <see cref="Error"/>.
/// </summary>
/// <remarks>
/// Yields every option, NOP and EOL included, in wire order; stops after EOL (RFC 9293: the end of the
/// option list) or the end of the area. Lengths are validated as the option is reached: a length byte
/// below 2 or past the end of the area, or a length wrong for a known kind (MSS 4, window scale 3,
/// SACK-permitted 2, SACK 2 + 8n with 1 &lt;= n &lt;= 4, timestamps 10; RFC 9293 section 3.2,
/// RFC 7323 sections 2.2 and 3.2, RFC 2018 sections 2 and 3), stops the iteration with
/// <see cref="Error"/> = <see cref="WireError.BadOptionLength"/>. Unknown kinds are yielded with their
/// value bytes so a caller can skip them. Never throws.
/// </remarks>
public ref struct TcpOptionReader
{
    private ReadOnlySpan<byte> _remaining;
    private ReadOnlySpan<byte> _currentData;
    private TcpOptionKind _currentKind;

    /// <summary>Reads <paramref name="options"/>, the bytes between the fixed 20-byte header and the data offset.</summary>
    public TcpOptionReader(ReadOnlySpan<byte> options)
    {
        _remaining = options;
        _currentData = default;
        _currentKind = TcpOptionKind.EndOfList;
        Error = WireError.Ok;
    }

    /// <summary><see cref="WireError.Ok"/> unless the iteration stopped on a malformed option.</summary>
    public WireError Error { get; private set; }

    /// <summary>The option most recently read by <see cref="MoveNext"/>.</summary>
    public readonly TcpOption Current => new(_currentKind, _currentData);

    /// <summary>Returns this reader, for <c>foreach</c>.</summary>
    public readonly TcpOptionReader GetEnumerator() => this;

    /// <summary>Advances to the next option; false at the end, after EOL, or on a malformed option (see <see cref="Error"/>).</summary>
    public bool MoveNext()
    {
        if (_remaining.IsEmpty)
        {
            return false;
        }
        var kind = (TcpOptionKind)_remaining[0];
        switch (kind)
        {
            case TcpOptionKind.EndOfList:
                _currentKind = kind;
                _currentData = default;
                _remaining = default;
                return true;
            case TcpOptionKind.NoOperation:
                _currentKind = kind;
                _currentData = default;
                _remaining = _remaining[1..];
                return true;
        }
        if (_remaining.Length < 2)
        {
            return Fail();
        }
        int length = _remaining[1];
        if (length < 2 || length > _remaining.Length || !IsValidLength(kind, length))
        {
            return Fail();
        }
        _currentKind = kind;
        _currentData = _remaining.Slice(2, length - 2);
        _remaining = _remaining[length..];
        return true;
    }

    private static bool IsValidLength(TcpOptionKind kind, int length) => kind switch
    {
        TcpOptionKind.MaxSegmentSize => length == 4,
        TcpOptionKind.WindowScale => length == 3,
        TcpOptionKind.SackPermitted => length == 2,
        TcpOptionKind.Sack => length >= 10 && (length - 2) % 8 == 0 && (length - 2) / 8 <= TcpSackBlocks.Capacity,
        TcpOptionKind.Timestamp => length == 10,
        // Unknown and formatting-only kinds: any length >= 2 that fits, skipped by the parser.
        _ => true,
    };

    private bool Fail()
    {
        Error = WireError.BadOptionLength;
        _remaining = default;
        return false;
    }
}
