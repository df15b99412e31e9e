using System.Security.Cryptography;
using System.Text;
using Skiff.Cli.Demo;
using Skiff.Cli.Serve;
using Skiff.Stack;
using Skiff.Stack.Tcp;

namespace Skiff.Cli.Tests;

/// <summary>The HTTP/1.1 responder of <c>skiff serve --http</c>, driven by a Skiff client over the in-memory link.</summary>
public sealed class HttpResponderTests
{
    private const ushort Port = 80;

    private static ServeHarness Start() => new(new ServeOptions { HttpPort = Port });

    private static byte[] Get(string path, string extra = "") => ServeHarness.Ascii($"GET {path} HTTP/1.1\r\nHost: 10.0.0.2\r\n{extra}\r\n");

    [Fact]
    public void Keep_alive_serves_several_requests_on_one_connection()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        for (int i = 0; i < 3; i++)
        {
            List<HttpResponse> responses = HttpResponse.ParseAll(h.Exchange(socket, Get("/"), HttpResponse.Count(1)));
            HttpResponse r = Assert.Single(responses);
            Assert.Equal(200, r.Status);
            Assert.Equal("keep-alive", r.Header("Connection"));
            Assert.Contains("Skiff", Encoding.ASCII.GetString(r.Body));
            Assert.Equal(r.Body.Length.ToString(), r.Header("Content-Length"));
        }
        // Pipelined: three requests in one write, answered in order on the same connection.
        byte[] pipelined = [.. Get("/bytes/10"), .. Get("/nope"), .. Get("/bytes/3")];
        List<HttpResponse> three = HttpResponse.ParseAll(h.Exchange(socket, pipelined, HttpResponse.Count(3)));
        Assert.Equal([200, 404, 200], three.Select(r => r.Status));
        Assert.Equal(10, three[0].Body.Length);
        Assert.Equal(three[0].Body[..3], three[2].Body);
        Assert.True(socket.IsOpen);
        h.Client.Interface.Tcp.Release(handle);
        h.StopServer();
        Assert.Equal(6, h.App.Counters.HttpRequests);
        Assert.Equal(1, h.App.Counters.ConnectionsAccepted);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024 + 5)]
    [InlineData(3_000_001)]
    public void Bytes_N_returns_N_seeded_bytes(int n)
    {
        using ServeHarness h = Start();
        StringWriter output = new();
        int exit = new HttpFetcher(h.Client, output).Run(new HttpFetcher.Target(ServeHarness.ServerAddress, Port, "10.0.0.2", $"/bytes/{n}"), default);
        byte[] expected = new byte[n];
        SeededStream stream = new(HttpConnection.BytesSeed);
        stream.Fill(expected);
        Assert.True(exit == 0, output.ToString());
        Assert.Contains("HTTP/1.1 200 OK", output.ToString());
        Assert.Contains($"length: {n}\n", output.ToString().ReplaceLineEndings("\n"));
        Assert.Contains($"sha256: {Convert.ToHexStringLower(SHA256.HashData(expected))}", output.ToString());
    }

    [Fact]
    public void Connection_close_is_honoured()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, Get("/", "Connection: close\r\n"), HttpResponse.Count(1))));
        Assert.Equal(200, r.Status);
        Assert.Equal("close", r.Header("Connection"));
        Assert.True(h.WaitFor(() => socket.IsReceiveFinished), "the server did not close after Connection: close");
        h.Client.Interface.Tcp.Release(handle);
    }

    [Fact]
    public void Http10_closes_unless_keep_alive_is_asked()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, ServeHarness.Ascii("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), HttpResponse.Count(1))));
        Assert.Equal("keep-alive", r.Header("Connection"));
        r = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, ServeHarness.Ascii("GET / HTTP/1.0\r\n\r\n"), HttpResponse.Count(1))));
        Assert.Equal("close", r.Header("Connection"));
        Assert.True(h.WaitFor(() => socket.IsReceiveFinished));
        h.Client.Interface.Tcp.Release(handle);
    }

    [Fact]
    public void Head_sends_the_headers_without_the_body()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        byte[] data = h.Exchange(socket, ServeHarness.Ascii("HEAD /bytes/5000 HTTP/1.1\r\nHost: a\r\n\r\n"), HttpResponse.Count(1, head: true));
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(data, head: true));
        Assert.Equal("5000", r.Header("Content-Length"));
        Assert.EndsWith("\r\n\r\n", Encoding.ASCII.GetString(data));
        h.Client.Interface.Tcp.Release(handle);
    }

    [Theory]
    [InlineData("GARBAGE\r\n\r\n", 400, true)]
    [InlineData("GET /\r\n\r\n", 400, true)]
    [InlineData("GET / HTTP/1.1\r\n\r\n", 400, true)]                                 // no Host
    [InlineData("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, true)]                     // space before the colon
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 400, true)]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, true)]
    [InlineData("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, true)]
    [InlineData("GET /bytes/abc HTTP/1.1\r\nHost: a\r\n\r\n", 400, false)]
    [InlineData("GET /bytes/99999999999999 HTTP/1.1\r\nHost: a\r\n\r\n", 400, false)]
    [InlineData("GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", 404, false)]
    [InlineData("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", 405, false)]
    [InlineData("DELETE /bytes/1 HTTP/1.1\r\nHost: a\r\n\r\n", 405, false)]
    public void Malformed_and_unknown_requests_get_an_error_status(string request, int status, bool closes)
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, ServeHarness.Ascii(request), HttpResponse.Count(1))));
        Assert.Equal(status, r.Status);
        Assert.Equal(closes ? "close" : "keep-alive", r.Header("Connection"));
        if (closes)
        {
            Assert.True(h.WaitFor(() => socket.IsReceiveFinished), "the server kept a connection whose framing is in doubt");
        }
        else
        {
            // The connection still serves: the request body (if any) was skipped.
            HttpResponse next = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, Get("/bytes/7"), HttpResponse.Count(1))));
            Assert.Equal(200, next.Status);
            Assert.Equal(7, next.Body.Length);
        }
        h.Client.Interface.Tcp.Release(handle);
    }

    [Fact]
    public void An_oversized_head_gets_431_and_a_close()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        string request = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + new string('x', HttpConnection.RequestBufferBytes) + "\r\n\r\n";
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(h.Exchange(socket, ServeHarness.Ascii(request), HttpResponse.Count(1))));
        Assert.Equal(431, r.Status);
        Assert.True(h.WaitFor(() => socket.IsReceiveFinished));
        h.Client.Interface.Tcp.Release(handle);
    }

    [Fact]
    public void A_request_split_over_many_segments_is_reassembled()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(Port, out SocketHandle handle);
        byte[] request = Get("/bytes/100");
        MemoryStream received = new();
        foreach (byte b in request)
        {
            received.Write(h.Exchange(socket, [b], _ => true));
        }
        received.Write(h.Exchange(socket, [], s => HttpResponse.ParseAll([.. received.ToArray(), .. s.ToArray()]).Count == 1));
        HttpResponse r = Assert.Single(HttpResponse.ParseAll(received.ToArray()));
        Assert.Equal(100, r.Body.Length);
        h.Client.Interface.Tcp.Release(handle);
    }

    [Theory]
    [InlineData("GET /a?b=c HTTP/1.1\r\nHost: h\r\n\r\n", (int)HttpParseResult.Ok, "/a", true)]
    [InlineData("GET http://h/x/y HTTP/1.1\r\nHost: h\r\n\r\n", (int)HttpParseResult.Ok, "/x/y", true)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n", (int)HttpParseResult.Ok, "/", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\n", (int)HttpParseResult.Incomplete, "", false)]
    [InlineData("GET / HTTP/1.1\nHost: h\n\n", (int)HttpParseResult.BadRequest, "", false)]
    [InlineData("GET / HTTP/1.1\r\nHost: h\r\nHost: i\r\n\r\n", (int)HttpParseResult.BadRequest, "", false)]
    [InlineData("GET / HTTP/1.1\r\n folded\r\nHost: h\r\n\r\n", (int)HttpParseResult.BadRequest, "", false)]
    [InlineData("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", (int)HttpParseResult.BadRequest, "", false)]
    public void Parser_reads_heads_and_refuses_bad_ones(string text, int expectedResult, string path, bool keepAlive)
    {
        HttpParseResult expected = (HttpParseResult)expectedResult;
        byte[] bytes = Encoding.ASCII.GetBytes(text);
        HttpParseResult result = HttpRequestParser.TryParse(bytes, bufferFull: false, out HttpRequestHead head);
        Assert.Equal(expected, result);
        if (expected == HttpParseResult.Ok)
        {
            Assert.Equal(path, Encoding.ASCII.GetString(bytes[head.Path]));
            Assert.Equal(keepAlive, head.KeepAlive);
            Assert.Equal(bytes.Length, head.HeadLength);
        }
    }
}
