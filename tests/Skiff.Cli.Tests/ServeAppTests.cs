using Skiff.Cli.Serve;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;

namespace Skiff.Cli.Tests;

/// <summary>Echo and discard of <c>skiff serve</c>, and the <c>skiff send</c> client, over the in-memory link.</summary>
public sealed class ServeAppTests
{
    private static ServeHarness Start() => new(new ServeOptions { TcpEchoPort = 7, TcpDiscardPort = 9, UdpEchoPort = 7 });

    [Theory]
    [InlineData(1)]
    [InlineData(100_000)]
    [InlineData(4 << 20)]
    public void Send_to_the_tcp_echo_gets_the_stream_back_intact(int bytes)
    {
        using ServeHarness h = Start();
        StringWriter output = new();
        int exit = new EchoSender(h.Client, output).Run(ServeHarness.ServerAddress, 7, bytes, seed: 5, default);
        Assert.True(exit == 0, output.ToString());
        Assert.Contains("integrity: ok", output.ToString());
        string[] lines = output.ToString().Split('\n');
        string sent = lines.Single(l => l.StartsWith("sha256 sent:")).Split(':')[1].Trim();
        string received = lines.Single(l => l.StartsWith("sha256 received:")).Split(':')[1].Trim();
        Assert.Equal(sent, received);
        // Let the server see the FIN and release the connection.
        Assert.True(h.WaitFor(() => h.App.ActiveConnections == 0));
        h.StopServer();
        Assert.Equal(bytes, h.App.Counters.EchoBytes);
        Assert.Equal(0, h.App.ActiveConnections);
    }

    [Fact]
    public void Send_fails_with_exit_1_when_nothing_listens()
    {
        using ServeHarness h = Start();
        StringWriter output = new();
        int exit = new EchoSender(h.Client, output).Run(ServeHarness.ServerAddress, 4444, 1000, seed: 1, default);
        Assert.Equal(1, exit);
        Assert.Contains("could not connect", output.ToString());
    }

    [Fact]
    public void Discard_drops_everything_and_closes_when_the_peer_does()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(9, out SocketHandle handle);
        byte[] data = new byte[300_000];
        int sent = 0;
        Assert.True(h.WaitFor(() =>
        {
            if (sent < data.Length && socket.CanSend)
            {
                sent += socket.Send(data.AsSpan(sent));
            }
            return sent == data.Length && socket.SendBufferUsed == 0;
        }));
        Assert.Equal(0, socket.ReceiveQueued);
        socket.Close();
        Assert.True(h.WaitFor(() => socket.IsReceiveFinished), "the discard server did not close after our FIN");
        h.Client.Interface.Tcp.Release(handle);
        h.StopServer();
        Assert.Equal(data.Length, h.App.Counters.DiscardBytes);
        Assert.Equal(0, h.App.ActiveConnections);
    }

    [Fact]
    public void Udp_echo_returns_every_datagram()
    {
        using ServeHarness h = Start();
        UdpSocket client = h.Client.Interface.Udp.Bind(0);
        UdpEndpoint server = new(ServeHarness.ServerAddress, 7);
        byte[] buffer = new byte[2048];
        int echoed = 0;
        for (int i = 0; i < 20; i++)
        {
            byte[] payload = new byte[100 + i];
            payload[0] = (byte)i;
            Assert.True(client.TrySend(payload, server));
            Assert.True(h.WaitFor(() =>
            {
                if (client.TryReceive(buffer, out int n, out UdpEndpoint from))
                {
                    Assert.Equal(server, from);
                    Assert.Equal(100 + i, n);
                    Assert.Equal((byte)i, buffer[0]);
                    echoed++;
                    return true;
                }
                return false;
            }));
        }
        Assert.Equal(20, echoed);
    }

    [Fact]
    public void Stop_releases_open_connections_and_the_ports()
    {
        using ServeHarness h = Start();
        TcpSocket socket = h.Connect(7, out SocketHandle handle);
        Assert.True(h.WaitFor(() => h.App.ActiveConnections == 1));
        h.StopServer();
        Assert.Equal(1, h.App.ActiveConnections);
        h.App.Stop();
        Assert.Equal(0, h.App.ActiveConnections);
        h.ServerHost.Loop.RunUntil(() => false, TimeSpan.FromMilliseconds(50), default);
        Assert.True(h.WaitFor(() => socket.IsReceiveFinished));
        h.Client.Interface.Tcp.Release(handle);
        // The ports are free again: a second app can listen on them.
        new ServeApp(h.ServerHost.Interface, new ServeOptions { TcpEchoPort = 7, UdpEchoPort = 7 }).Start();
    }
}
