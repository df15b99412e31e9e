using System.Text;

namespace Skiff.Cli.Tests;

/// <summary>One HTTP/1.1 response cut from a byte stream by its Content-Length (the test's side of the wire).</summary>
internal sealed record HttpResponse(int Status, string Head, byte[] Body)
{
    public string? Header(string name)
    {
        foreach (string line in Head.Split("\r\n").Skip(1))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line[..colon].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }
        return null;
    }

    /// <summary>Cuts every complete response out of <paramref name="data"/> (bodies of HEAD responses are assumed absent when <paramref name="head"/>).</summary>
    public static List<HttpResponse> ParseAll(byte[] data, bool head = false)
    {
        List<HttpResponse> responses = [];
        int offset = 0;
        while (offset < data.Length)
        {
            int end = data.AsSpan(offset).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                break;
            }
            string text = Encoding.ASCII.GetString(data, offset, end);
            HttpResponse r = new(int.Parse(text.Split(' ')[1]), text, []);
            int length = head ? 0 : int.Parse(r.Header("Content-Length") ?? "0");
            int bodyStart = offset + end + 4;
            if (bodyStart + length > data.Length)
            {
                break;
            }
            responses.Add(r with { Body = data[bodyStart..(bodyStart + length)] });
            offset = bodyStart + length;
        }
        return responses;
    }

    /// <summary>A done-condition for <see cref="ServeHarness.Exchange"/>: <paramref name="count"/> complete responses arrived.</summary>
    public static Func<MemoryStream, bool> Count(int count, bool head = false) => s => ParseAll(s.ToArray(), head).Count >= count;
}
