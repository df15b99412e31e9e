using System.Text;

namespace Skiff.Cli.Serve;

/// <summary>
/// Parses an HTTP/1.x request head (RFC 9112): request line, header fields, the empty line. Strict where
/// laxness would be a smuggling risk (whitespace before a colon, bare CR, conflicting lengths, any
/// Transfer-Encoding), allocation-free, never throws on bad input.
/// </summary>
internal static class HttpRequestParser
{
    /// <summary>
    /// Parses the head at the start of <paramref name="buffer"/>. <see cref="HttpParseResult.Incomplete"/> when the
    /// empty line has not arrived yet (<see cref="HttpParseResult.HeadTooLarge"/> instead when
    /// <paramref name="bufferFull"/>); otherwise a complete head or the reason it is malformed.
    /// </summary>
    public static HttpParseResult TryParse(ReadOnlySpan<byte> buffer, bool bufferFull, out HttpRequestHead head)
    {
        head = default;
        int end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            // A request line that is already malformed need not wait for the rest.
            int firstLine = buffer.IndexOf((byte)'\n');
            if (firstLine >= 0 && (firstLine == 0 || buffer[firstLine - 1] != '\r'))
            {
                return HttpParseResult.BadRequest;
            }
            return bufferFull ? HttpParseResult.HeadTooLarge : HttpParseResult.Incomplete;
        }
        head.HeadLength = end + 4;
        ReadOnlySpan<byte> text = buffer[..(end + 2)]; // every line with its CRLF

        int lineEnd = text.IndexOf("\r\n"u8);
        HttpParseResult result = ParseRequestLine(text[..lineEnd], ref head);
        if (result != HttpParseResult.Ok)
        {
            return result;
        }
        head.KeepAlive = head.IsHttp11;
        bool sawHost = false;
        bool sawLength = false;
        int offset = lineEnd + 2;
        while (offset < text.Length)
        {
            ReadOnlySpan<byte> rest = text[offset..];
            int n = rest.IndexOf("\r\n"u8);
            ReadOnlySpan<byte> line = rest[..n];
            offset += n + 2;
            if (line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
            {
                return HttpParseResult.BadRequest; // bare CR or LF, or NUL, inside a field (RFC 9112 section 2.2)
            }
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                return HttpParseResult.BadRequest; // includes obs-fold and whitespace before the colon (RFC 9112 section 5.1)
            }
            ReadOnlySpan<byte> name = line[..colon];
            ReadOnlySpan<byte> value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "host"u8))
            {
                if (sawHost)
                {
                    return HttpParseResult.BadRequest; // RFC 9112 section 3.2: more than one Host
                }
                sawHost = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                ApplyConnection(value, ref head);
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-length"u8))
            {
                if (!TryParseLength(value, out long length) || sawLength && length != head.ContentLength)
                {
                    return HttpParseResult.BadFraming;
                }
                sawLength = true;
                head.ContentLength = length;
            }
            else if (Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
            {
                return HttpParseResult.BadFraming;
            }
        }
        if (head.IsHttp11 && !sawHost)
        {
            return HttpParseResult.MissingHost;
        }
        return HttpParseResult.Ok;
    }

    private static HttpParseResult ParseRequestLine(ReadOnlySpan<byte> line, ref HttpRequestHead head)
    {
        int sp1 = line.IndexOf((byte)' ');
        if (sp1 <= 0 || !IsToken(line[..sp1]))
        {
            return HttpParseResult.BadRequest;
        }
        int sp2 = line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp2 <= 0)
        {
            return HttpParseResult.BadRequest;
        }
        sp2 += sp1 + 1;
        ReadOnlySpan<byte> target = line[(sp1 + 1)..sp2];
        ReadOnlySpan<byte> version = line[(sp2 + 1)..];
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)version[5]) || version[6] != '.' || !char.IsAsciiDigit((char)version[7]))
        {
            return HttpParseResult.BadRequest;
        }
        if (version[5] != '1' || version[7] is not ((byte)'0' or (byte)'1'))
        {
            return HttpParseResult.VersionNotSupported;
        }
        head.IsHttp11 = version[7] == '1';
        head.Method = new Range(0, sp1);

        // origin-form ("/path?query"); absolute-form ("http://host/path", RFC 9112 section 3.2.2) is reduced to its path.
        int pathStart = sp1 + 1;
        if (target.StartsWith("http://"u8) || target.StartsWith("https://"u8))
        {
            int schemeEnd = target.IndexOf("//"u8) + 2;
            int slash = target[schemeEnd..].IndexOf((byte)'/');
            if (slash < 0)
            {
                head.Path = new Range(sp2, sp2); // empty path: treated as "/"
                return HttpParseResult.Ok;
            }
            pathStart += schemeEnd + slash;
            target = target[(schemeEnd + slash)..];
        }
        else if (target.Length == 0 || target[0] != '/')
        {
            return target.SequenceEqual("*"u8) ? HttpParseResult.Ok : HttpParseResult.BadRequest;
        }
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] <= 0x20 || target[i] >= 0x7F)
            {
                return HttpParseResult.BadRequest;
            }
        }
        int query = target.IndexOfAny((byte)'?', (byte)'#');
        head.Path = new Range(pathStart, pathStart + (query < 0 ? target.Length : query));
        return HttpParseResult.Ok;
    }

    /// <summary>Connection: a comma-separated list of tokens (RFC 9110 section 7.6.1); close wins over keep-alive.</summary>
    private static void ApplyConnection(ReadOnlySpan<byte> value, ref HttpRequestHead head)
    {
        bool close = false;
        bool keepAlive = false;
        foreach (Range r in value.Split((byte)','))
        {
            ReadOnlySpan<byte> option = value[r].Trim(" \t"u8);
            close |= Ascii.EqualsIgnoreCase(option, "close"u8);
            keepAlive |= Ascii.EqualsIgnoreCase(option, "keep-alive"u8);
        }
        if (close)
        {
            head.KeepAlive = false;
        }
        else if (keepAlive)
        {
            head.KeepAlive = true;
        }
    }

    private static bool TryParseLength(ReadOnlySpan<byte> value, out long length)
    {
        length = 0;
        if (value.IsEmpty || value.Length > 18)
        {
            return false;
        }
        foreach (byte b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
            length = length * 10 + (b - '0');
        }
        return true;
    }

    /// <summary>RFC 9110 section 5.6.2 token: visible ASCII except delimiters.</summary>
    internal static bool IsToken(ReadOnlySpan<byte> text)
    {
        if (text.IsEmpty)
        {
            return false;
        }
        foreach (byte b in text)
        {
            if (b <= 0x20 || b >= 0x7F || "\"(),/:;<=>?@[\\]{}"u8.Contains(b))
            {
                return false;
            }
        }
        return true;
    }
}
