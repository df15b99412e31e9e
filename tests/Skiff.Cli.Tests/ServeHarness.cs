using System.Text;
using Skiff.Cli.Drivers;
using Skiff.Cli.Serve;
using Skiff.Devices;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Cli.Tests;

/// <summary>
/// Two Skiff stacks over the in-memory link on the real clock: 10.0.0.1 (the client, polled by the test thread through
/// <see cref="Client"/>) and 10.0.0.2 running <see cref="ServeApp"/> on its own thread.
/// </summary>
internal sealed class ServeHarness : IDisposable
{
    public static readonly Ipv4Address ServerAddress = new(10, 0, 0, 2);

    private readonly PacketPool _poolA = new(8192);
    private readonly PacketPool _poolB = new(8192);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _server;
    private Exception? _serverFailure;

    public ServeHarness(ServeOptions options)
    {
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(_poolA, _poolB, 4096);
        Interface client = new(new InterfaceOptions { Mac = MacAddress.Parse("02:00:0a:00:00:01"), Addresses = [Ipv4Cidr.Parse("10.0.0.1/24")], SecretKey = 1 }, _poolA);
        Interface server = new(new InterfaceOptions { Mac = MacAddress.Parse("02:00:0a:00:00:02"), Addresses = [Ipv4Cidr.Parse("10.0.0.2/24")], SecretKey = 2 }, _poolB);
        Client = new StackHost(client, a);
        ServerHost = new StackHost(server, b);
        App = new ServeApp(server, options);
        App.Start();
        _server = new Thread(() =>
        {
            try
            {
                ServerHost.Loop.Run(now => new PollLoop.StepResult(App.Service(now), false), _stop.Token);
            }
            catch (Exception e)
            {
                _serverFailure = e;
            }
        }) { IsBackground = true, Name = "serve-harness" };
        _server.Start();
    }

    public StackHost Client { get; }

    public StackHost ServerHost { get; }

    /// <summary>The server's app; read its counters only after <see cref="StopServer"/>.</summary>
    public ServeApp App { get; }

    /// <summary>Opens a TCP connection to the server and waits until it is established.</summary>
    public TcpSocket Connect(ushort port, out SocketHandle handle)
    {
        Interface iface = Client.Interface;
        handle = iface.Tcp.Connect(Client.Loop.Now, iface.PrimaryAddress, ServerAddress, port);
        TcpSocket socket = iface.Tcp.Get(handle);
        Assert.True(Client.Loop.RunUntil(() => socket.State != TcpState.SynSent, TimeSpan.FromSeconds(10), default), "no answer to the SYN");
        Assert.True(socket.IsConnected, $"not connected: {socket.State} {socket.Error}");
        return socket;
    }

    /// <summary>Sends <paramref name="request"/> and reads until <paramref name="done"/> holds for what arrived (or the peer closes, or 10 s pass).</summary>
    public byte[] Exchange(TcpSocket socket, byte[] request, Func<MemoryStream, bool> done)
    {
        int sent = 0;
        MemoryStream received = new();
        Client.Loop.RunUntil(() =>
        {
            if (sent < request.Length && socket.CanSend)
            {
                sent += socket.Send(request.AsSpan(sent));
            }
            while (socket.TryPeek(out ReadOnlySpan<byte> data))
            {
                received.Write(data);
                socket.Consume(data.Length);
            }
            return sent == request.Length && done(received) || socket.IsReceiveFinished;
        }, TimeSpan.FromSeconds(10), default);
        return received.ToArray();
    }

    /// <summary>Polls the client until <paramref name="condition"/> holds or 10 s pass.</summary>
    public bool WaitFor(Func<bool> condition) => Client.Loop.RunUntil(condition, TimeSpan.FromSeconds(10), default);

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    /// <summary>Stops the server thread (its counters are then safe to read).</summary>
    public void StopServer()
    {
        _stop.Cancel();
        _server.Join();
        if (_serverFailure is not null)
        {
            throw new InvalidOperationException($"The server loop failed: {_serverFailure.Message}", _serverFailure);
        }
    }

    public void Dispose()
    {
        StopServer();
        Client.Dispose();
        ServerHost.Dispose();
        _poolA.Dispose();
        _poolB.Dispose();
    }
}
