namespace Skiff.Wire;

/// <summary>
/// Why bytes could not be parsed. Parsers return it instead of throwing: bad input is data. The stack
/// counts drops by these values, and <see cref="WireErrorExtensions.Describe"/> turns one into a sentence.
/// New values go at the end.
/// </summary>
public enum WireError : byte
{
    /// <summary>Not an error: the bytes parsed.</summary>
    Ok = 0,
    /// <summary>Fewer bytes than the header (or a length field) needs.</summary>
    Truncated,
    /// <summary>A version field other than the protocol's.</summary>
    BadVersion,
    /// <summary>A header-length field too small, or pointing past the packet.</summary>
    BadHeaderLength,
    /// <summary>A total/payload-length field that disagrees with the bytes present.</summary>
    BadTotalLength,
    /// <summary>A checksum that does not verify.</summary>
    BadChecksum,
    /// <summary>An option whose length byte is impossible (0, 1 where 2+ is needed, past the end).</summary>
    BadOptionLength,
    /// <summary>An option whose content is invalid for its kind.</summary>
    BadOption,
    /// <summary>Inconsistent fragment fields.</summary>
    BadFragment,
    /// <summary>An address that cannot appear there (multicast source, ...).</summary>
    BadAddress,
    /// <summary>ARP hardware type or length this stack does not speak.</summary>
    BadHardwareType,
    /// <summary>ARP protocol type or length this stack does not speak.</summary>
    BadProtocolType,
    /// <summary>An operation/type/code value the protocol does not define.</summary>
    BadOperation,
    /// <summary>An IPv6 extension-header chain that is too long or malformed.</summary>
    BadExtensionHeader,
    /// <summary>A valid feature this implementation does not handle.</summary>
    Unsupported,
    /// <summary>A file-format magic number that is not recognised.</summary>
    BadMagic,
    /// <summary>A file-format block or record that is malformed.</summary>
    BadFormat,
    /// <summary>The destination span is too small to emit into.</summary>
    BufferTooSmall,
    /// <summary>TCP flags that make no sense together (SYN+FIN, SYN+RST, none).</summary>
    BadFlags,
}

/// <summary>Text for <see cref="WireError"/>.</summary>
public static class WireErrorExtensions
{
    /// <summary>A short sentence for logs and <c>skiff read</c>.</summary>
    public static string Describe(this WireError error) => error switch
    {
        WireError.Ok => "ok",
        WireError.Truncated => "truncated",
        WireError.BadVersion => "bad version",
        WireError.BadHeaderLength => "bad header length",
        WireError.BadTotalLength => "bad total length",
        WireError.BadChecksum => "bad checksum",
        WireError.BadOptionLength => "bad option length",
        WireError.BadOption => "bad option",
        WireError.BadFragment => "bad fragment fields",
        WireError.BadAddress => "bad address",
        WireError.BadHardwareType => "unsupported hardware type",
        WireError.BadProtocolType => "unsupported protocol type",
        WireError.BadOperation => "unknown operation or type",
        WireError.BadExtensionHeader => "bad extension header chain",
        WireError.Unsupported => "unsupported",
        WireError.BadMagic => "unknown file format",
        WireError.BadFormat => "malformed record",
        WireError.BufferTooSmall => "buffer too small",
        WireError.BadFlags => "impossible flag combination",
        _ => $"error {(byte)error}",
    };
}
