using Skiff.Cli.Serve;
using Skiff.Stack.Tcp;

namespace Skiff.Cli.Tests;

/// <summary>
/// skiff serve under a connection flood (issue 15 item 6): connections that never send a request are closed after the
/// header timeout, and at the connection limit the oldest of them makes room for a new client; a per-source limit is
/// an option.
/// </summary>
public sealed class ServeConnectionFloodTests
{
    private static readonly byte[] s_get = ServeHarness.Ascii("GET / HTTP/1.1\r\nHost: skiff\r\n\r\n");

    [Fact]
    public void A_connection_that_sends_no_request_is_closed_after_the_header_timeout()
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, HeaderTimeout = Duration.FromMillis(300) });
        TcpSocket idle = h.Connect(80, out _);
        TcpSocket asking = h.Connect(80, out _);
        GetPage(h, asking);

        AssertReset(h, idle, "the idle connection");
        Assert.True(asking.IsOpen, "the connection that asked was closed too");
        h.StopServer();
        Assert.Equal(1, h.App.Counters.HeaderTimeouts);
    }

    [Theory]
    [InlineData(false)] // they sent no request: the oldest is reset to make room, the newcomer is served
    [InlineData(true)]  // every one asked (keep-alive): the newcomer is refused
    public void At_the_limit_the_oldest_connection_without_a_request_makes_room(bool existingAsked)
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, MaxConnections = 2 });
        TcpSocket first = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default); // the server accepts it first
        TcpSocket second = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default);
        if (existingAsked)
        {
            GetPage(h, first);
            GetPage(h, second);
        }

        TcpSocket newcomer = h.Connect(80, out _);
        if (existingAsked)
        {
            AssertReset(h, newcomer, "the newcomer");
            Assert.True(first.IsOpen);
        }
        else
        {
            GetPage(h, newcomer);
            AssertReset(h, first, "the oldest idle connection");
        }
        Assert.True(second.IsOpen);
        h.StopServer();
        Assert.Equal(existingAsked ? 0 : 1, h.App.Counters.ConnectionsEvicted);
        Assert.Equal(existingAsked ? 1 : 0, h.App.Counters.ConnectionsRefused);
    }

    [Fact]
    public void A_limit_per_source_refuses_the_connection_over_it()
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, MaxConnectionsPerSource = 1 });
        TcpSocket first = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default);
        TcpSocket second = h.Connect(80, out _);
        AssertReset(h, second, "the second connection");
        Assert.True(first.IsOpen);
        h.StopServer();
        Assert.Equal(1, h.App.Counters.ConnectionsRefusedPerSource);
    }

    private static void GetPage(ServeHarness h, TcpSocket socket)
    {
        byte[] page = h.Exchange(socket, s_get, r => r.ToArray().AsSpan().IndexOf("</html>\n"u8) >= 0);
        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.ASCII.GetString(page));
    }

    private static void AssertReset(ServeHarness h, TcpSocket socket, string what)
    {
        Assert.True(h.WaitFor(() => socket.State == TcpState.Closed), $"{what} is still {socket.State}");
        Assert.Equal(TcpError.Reset, socket.Error);
    }
}
