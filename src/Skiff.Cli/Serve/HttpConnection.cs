using System.Text;
using Skiff.Cli.Demo;
using Skiff.Stack.Tcp;

namespace Skiff.Cli.Serve;

/// <summary>
/// One HTTP/1.1 connection of <see cref="ServeApp"/>'s responder: reads request heads, answers
/// <c>GET /</c> (a short page) and <c>GET /bytes/N</c> (N bytes of <see cref="SeededStream"/> seeded with
/// <see cref="BytesSeed"/>), HEAD of both, and 400, 404, 405, 431 or 505 for the rest. Keep-alive is the
/// HTTP/1.1 default; <c>Connection: close</c> (or HTTP/1.0 without keep-alive) closes after the response, as
/// does every error that leaves the stream's framing in doubt. Pipelined requests are answered in order,
/// one at a time: bytes of the next request stay in the socket while a response is being sent.
/// </summary>
/// <remarks>
/// Instances are pooled by <see cref="ServeApp"/>; every buffer is allocated once, so serving a request
/// allocates nothing. Not thread-safe: the poll thread owns it.
/// </remarks>
internal sealed class HttpConnection
{
    /// <summary>The largest request head accepted; a longer one gets 431.</summary>
    public const int RequestBufferBytes = 8192;

    /// <summary>The seed of the <see cref="SeededStream"/> whose first N bytes <c>GET /bytes/N</c> returns.</summary>
    public const ulong BytesSeed = 1;

    /// <summary>The largest N of <c>/bytes/N</c> (1 TiB).</summary>
    public const long MaxBytes = 1L << 40;

    // A multiple of 8, so chunked generation yields the same stream as one Fill of N bytes.
    private const int ChunkBytes = 16 * 1024;

    private static readonly byte[] s_page = Encoding.ASCII.GetBytes(
        "<!doctype html>\n<html><head><title>Skiff</title></head>\n<body><h1>Skiff</h1>\n" +
        "<p>Served over Skiff's user-space TCP/IP stack.</p>\n<p>Try <a href=\"/bytes/1048576\">/bytes/1048576</a>.</p>\n</body></html>\n");

    private static readonly byte[] s_badRequest = "The request line or a header field is malformed (RFC 9112).\n"u8.ToArray();
    private static readonly byte[] s_missingHost = "An HTTP/1.1 request needs a Host header (RFC 9112 section 3.2).\n"u8.ToArray();
    private static readonly byte[] s_badFraming = "Request bodies must be framed by one Content-Length; Transfer-Encoding is not accepted.\n"u8.ToArray();
    private static readonly byte[] s_badBytes = "Write /bytes/N with N a whole number of bytes up to 1099511627776.\n"u8.ToArray();
    private static readonly byte[] s_notFound = "Not found. This server has / and /bytes/N.\n"u8.ToArray();
    private static readonly byte[] s_methodNotAllowed = "Only GET and HEAD are served.\n"u8.ToArray();
    private static readonly byte[] s_headTooLarge = "The request head is larger than 8192 bytes.\n"u8.ToArray();
    private static readonly byte[] s_versionNotSupported = "Only HTTP/1.0 and HTTP/1.1 are served.\n"u8.ToArray();

    private enum Phase : byte
    {
        Reading,
        Sending,
        Draining,
    }

    private readonly ServeCounters _counters;
    private readonly byte[] _request = new byte[RequestBufferBytes];
    private readonly byte[] _head = new byte[512];
    private readonly byte[] _chunk = new byte[ChunkBytes];
    private int _requestLength;
    private long _discardBody;
    private Phase _phase;
    private bool _closeAfter;
    private int _headLength;
    private int _headSent;
    private byte[]? _body;
    private int _bodySent;
    private SeededStream _stream;
    private long _seededRemaining;
    private int _chunkOffset;
    private int _chunkLength;

    public HttpConnection(ServeCounters counters)
    {
        _counters = counters;
    }

    /// <summary>Readies a pooled instance for a new connection.</summary>
    public void Reset()
    {
        RequestSeen = false;
        _requestLength = 0;
        _discardBody = 0;
        _phase = Phase.Reading;
        _closeAfter = false;
        _headLength = _headSent = 0;
        _body = null;
        _bodySent = 0;
        _seededRemaining = 0;
        _chunkOffset = _chunkLength = 0;
    }

    /// <summary>True once a whole request head arrived on this connection (well-formed or not).</summary>
    public bool RequestSeen { get; private set; }

    /// <summary>
    /// Does what the socket allows: sends the pending response, reads and answers requests. Returns false
    /// when the connection is finished and its handle should be released (the peer closed or reset it, or
    /// a closing response has been sent and the peer's FIN arrived).
    /// </summary>
    public bool Service(TcpSocket socket)
    {
        while (true)
        {
            if (socket.State == TcpState.Closed)
            {
                return false;
            }
            switch (_phase)
            {
                case Phase.Sending:
                    if (!Pump(socket))
                    {
                        return true;
                    }
                    if (_closeAfter)
                    {
                        socket.Close();
                        _phase = Phase.Draining;
                    }
                    else
                    {
                        _phase = Phase.Reading;
                    }
                    break;
                case Phase.Draining:
                    while (socket.TryPeek(out ReadOnlySpan<byte> data))
                    {
                        socket.Consume(data.Length);
                    }
                    return !socket.IsReceiveFinished;
                default:
                    if (!Read(socket))
                    {
                        // No complete head: wait for more, unless the peer has finished sending.
                        return !socket.IsReceiveFinished;
                    }
                    break;
            }
        }
    }

    /// <summary>Reads into the request buffer and starts a response when a head is complete; false when more input is needed.</summary>
    private bool Read(TcpSocket socket)
    {
        DiscardBody(socket);
        if (_discardBody > 0)
        {
            return false;
        }
        if (_requestLength < _request.Length)
        {
            _requestLength += socket.Receive(_request.AsSpan(_requestLength));
        }
        if (_requestLength == 0)
        {
            return false;
        }
        HttpParseResult result = HttpRequestParser.TryParse(_request.AsSpan(0, _requestLength), _requestLength == _request.Length, out HttpRequestHead head);
        if (result == HttpParseResult.Incomplete)
        {
            return false;
        }
        _counters.HttpRequests++;
        RequestSeen = true;
        if (result == HttpParseResult.Ok)
        {
            Respond(head);
            // Drop the head (and what is buffered of its body); what follows is the next request.
            int consumed = head.HeadLength;
            long bodyBuffered = Math.Min(head.ContentLength, _requestLength - consumed);
            consumed += (int)bodyBuffered;
            _discardBody = head.ContentLength - bodyBuffered;
            _request.AsSpan(consumed, _requestLength - consumed).CopyTo(_request);
            _requestLength -= consumed;
        }
        else
        {
            (int status, byte[] body) = result switch
            {
                HttpParseResult.MissingHost => (400, s_missingHost),
                HttpParseResult.BadFraming => (400, s_badFraming),
                HttpParseResult.HeadTooLarge => (431, s_headTooLarge),
                HttpParseResult.VersionNotSupported => (505, s_versionNotSupported),
                _ => (400, s_badRequest),
            };
            // The stream's framing is in doubt: answer, then close and drain.
            StartStatic(status, body, keepAlive: false, headOnly: false);
            _requestLength = 0;
        }
        _phase = Phase.Sending;
        return true;
    }

    private void DiscardBody(TcpSocket socket)
    {
        while (_discardBody > 0 && socket.TryPeek(out ReadOnlySpan<byte> data))
        {
            int n = (int)Math.Min(data.Length, _discardBody);
            socket.Consume(n);
            _discardBody -= n;
        }
    }

    private void Respond(in HttpRequestHead head)
    {
        ReadOnlySpan<byte> method = _request.AsSpan(head.Method);
        ReadOnlySpan<byte> path = _request.AsSpan(head.Path);
        bool isHead = method.SequenceEqual("HEAD"u8);
        if (!isHead && !method.SequenceEqual("GET"u8))
        {
            StartStatic(405, s_methodNotAllowed, head.KeepAlive, headOnly: false);
            return;
        }
        if (path.IsEmpty || path.SequenceEqual("/"u8))
        {
            StartStatic(200, s_page, head.KeepAlive, isHead);
            return;
        }
        if (path.StartsWith("/bytes/"u8))
        {
            if (!TryParseCount(path["/bytes/".Length..], out long count))
            {
                StartStatic(400, s_badBytes, head.KeepAlive, isHead);
                return;
            }
            WriteHead(200, "application/octet-stream"u8, count, head.KeepAlive);
            _body = null;
            _stream = new SeededStream(BytesSeed);
            _seededRemaining = isHead ? 0 : count;
            _chunkOffset = _chunkLength = 0;
            return;
        }
        StartStatic(404, s_notFound, head.KeepAlive, isHead);
    }

    private static bool TryParseCount(ReadOnlySpan<byte> text, out long count)
    {
        count = 0;
        if (text.IsEmpty || text.Length > 13)
        {
            return false;
        }
        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
            count = count * 10 + (b - '0');
        }
        return count <= MaxBytes;
    }

    private void StartStatic(int status, byte[] body, bool keepAlive, bool headOnly)
    {
        WriteHead(status, status == 200 ? "text/html; charset=utf-8"u8 : "text/plain; charset=utf-8"u8, body.Length, keepAlive);
        _body = headOnly ? null : body;
        _bodySent = 0;
        _seededRemaining = 0;
        _chunkOffset = _chunkLength = 0;
    }

    private void WriteHead(int status, ReadOnlySpan<byte> contentType, long contentLength, bool keepAlive)
    {
        _closeAfter = !keepAlive;
        switch (status / 100)
        {
            case 2: _counters.HttpResponses2xx++; break;
            case 4: _counters.HttpResponses4xx++; break;
            default: _counters.HttpResponses5xx++; break;
        }
        Span<byte> h = _head;
        int n = 0;
        Append(h, ref n, "HTTP/1.1 "u8);
        Append(h, ref n, status switch
        {
            200 => "200 OK"u8,
            400 => "400 Bad Request"u8,
            404 => "404 Not Found"u8,
            405 => "405 Method Not Allowed"u8,
            431 => "431 Request Header Fields Too Large"u8,
            _ => "505 HTTP Version Not Supported"u8,
        });
        Append(h, ref n, "\r\nServer: skiff\r\nDate: "u8);
        DateTime.UtcNow.TryFormat(h[n..], out int written, "R");
        n += written;
        Append(h, ref n, "\r\nContent-Type: "u8);
        Append(h, ref n, contentType);
        Append(h, ref n, "\r\nContent-Length: "u8);
        contentLength.TryFormat(h[n..], out written);
        n += written;
        if (status == 405)
        {
            Append(h, ref n, "\r\nAllow: GET, HEAD"u8);
        }
        Append(h, ref n, keepAlive ? "\r\nConnection: keep-alive\r\n\r\n"u8 : "\r\nConnection: close\r\n\r\n"u8);
        _headLength = n;
        _headSent = 0;
    }

    private static void Append(Span<byte> destination, ref int offset, ReadOnlySpan<byte> text)
    {
        text.CopyTo(destination[offset..]);
        offset += text.Length;
    }

    /// <summary>Queues as much of the response as the send buffer takes; true when all of it is queued.</summary>
    private bool Pump(TcpSocket socket)
    {
        while (_headSent < _headLength)
        {
            if (!socket.CanSend)
            {
                return false;
            }
            _headSent += socket.Send(_head.AsSpan(_headSent, _headLength - _headSent));
        }
        if (_body is not null)
        {
            while (_bodySent < _body.Length)
            {
                if (!socket.CanSend)
                {
                    return false;
                }
                int n = socket.Send(_body.AsSpan(_bodySent));
                _bodySent += n;
                _counters.HttpBodyBytes += n;
            }
            _body = null;
        }
        while (_seededRemaining > 0 || _chunkOffset < _chunkLength)
        {
            if (_chunkOffset == _chunkLength)
            {
                _chunkLength = (int)Math.Min(ChunkBytes, _seededRemaining);
                _stream.Fill(_chunk.AsSpan(0, _chunkLength));
                _seededRemaining -= _chunkLength;
                _chunkOffset = 0;
            }
            if (!socket.CanSend)
            {
                return false;
            }
            int n = socket.Send(_chunk.AsSpan(_chunkOffset, _chunkLength - _chunkOffset));
            _chunkOffset += n;
            _counters.HttpBodyBytes += n;
        }
        return true;
    }
}
