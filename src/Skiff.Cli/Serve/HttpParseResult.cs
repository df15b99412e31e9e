namespace Skiff.Cli.Serve;

/// <summary>The outcome of <see cref="HttpRequestParser.TryParse"/>. Every failure maps to the status the responder sends.</summary>
internal enum HttpParseResult : byte
{
    /// <summary>A complete, well-formed head.</summary>
    Ok,

    /// <summary>The head is not complete yet: read more.</summary>
    Incomplete,

    /// <summary>Not HTTP/1.x syntax (400).</summary>
    BadRequest,

    /// <summary>HTTP/1.1 without a Host header (400, RFC 9112 section 3.2).</summary>
    MissingHost,

    /// <summary>A Transfer-Encoding or conflicting Content-Length the responder will not frame (400, RFC 9112 section 6.3).</summary>
    BadFraming,

    /// <summary>The head does not fit the request buffer (431, RFC 6585 section 5).</summary>
    HeadTooLarge,

    /// <summary>An HTTP version other than 1.0 or 1.1 (505).</summary>
    VersionNotSupported,
}
