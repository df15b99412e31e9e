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
        byte[] page = h.Exchange(asking, s_get, r => r.ToArray().AsSpan().IndexOf("</html>\n"u8) >= 0);
        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.ASCII.GetString(page));

        Assert.True(h.WaitFor(() => idle.State == TcpState.Closed), $"the idle connection is still {idle.State}");
        Assert.Equal(TcpError.Reset, idle.Error);
        Assert.True(asking.IsOpen, "the connection that asked was closed too");
        h.StopServer();
        Assert.Equal(1, h.App.Counters.HeaderTimeouts);
    }

    [Fact]
    public void At_the_limit_the_oldest_connection_without_a_request_makes_room()
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, MaxConnections = 2 });
        TcpSocket first = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default); // the server accepts it first
        TcpSocket second = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default);

        TcpSocket newcomer = h.Connect(80, out _);
        byte[] page = h.Exchange(newcomer, s_get, r => r.ToArray().AsSpan().IndexOf("</html>\n"u8) >= 0);
        Assert.StartsWith("HTTP/1.1 200", System.Text.Encoding.ASCII.GetString(page));
        Assert.True(h.WaitFor(() => first.State == TcpState.Closed), $"the oldest idle connection is still {first.State}");
        Assert.True(second.IsOpen);
        h.StopServer();
        Assert.Equal(1, h.App.Counters.ConnectionsEvicted);
        Assert.Equal(0, h.App.Counters.ConnectionsRefused);
    }

    [Fact]
    public void At_the_limit_with_every_connection_busy_the_newcomer_is_refused()
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, MaxConnections = 1 });
        TcpSocket busy = h.Connect(80, out _);
        h.Exchange(busy, s_get, r => r.ToArray().AsSpan().IndexOf("</html>\n"u8) >= 0); // keep-alive, and it asked

        TcpSocket newcomer = h.Connect(80, out _);
        Assert.True(h.WaitFor(() => newcomer.State == TcpState.Closed), $"the newcomer is still {newcomer.State}");
        Assert.True(busy.IsOpen);
        h.StopServer();
        Assert.Equal(0, h.App.Counters.ConnectionsEvicted);
        Assert.Equal(1, h.App.Counters.ConnectionsRefused);
    }

    [Fact]
    public void A_limit_per_source_refuses_the_connection_over_it()
    {
        using ServeHarness h = new(new ServeOptions { HttpPort = 80, MaxConnectionsPerSource = 1 });
        TcpSocket first = h.Connect(80, out _);
        h.Client.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(200), default);
        TcpSocket second = h.Connect(80, out _);
        Assert.True(h.WaitFor(() => second.State == TcpState.Closed), $"the second connection is still {second.State}");
        Assert.True(first.IsOpen);
        h.StopServer();
        Assert.Equal(1, h.App.Counters.ConnectionsRefusedPerSource);
    }
}
