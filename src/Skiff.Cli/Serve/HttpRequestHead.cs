namespace Skiff.Cli.Serve;

/// <summary>
/// What <see cref="HttpRequestParser"/> read from one request head (RFC 9112 sections 2 to 6): ranges into the
/// connection's buffer rather than strings, so parsing allocates nothing.
/// </summary>
internal struct HttpRequestHead
{
    /// <summary>The method token (e.g. GET), as a range of the head.</summary>
    public Range Method;

    /// <summary>The path of the request target, without the query.</summary>
    public Range Path;

    /// <summary>HTTP/1.1 (true) or HTTP/1.0 (false).</summary>
    public bool IsHttp11;

    /// <summary>Whether the connection stays open after the response (the version's default, changed by a Connection header).</summary>
    public bool KeepAlive;

    /// <summary>Bytes of request body that follow the head (Content-Length); the responder discards them.</summary>
    public long ContentLength;

    /// <summary>The length of the head including its final empty line.</summary>
    public int HeadLength;
}
