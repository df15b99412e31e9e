using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Kestrel.Tests;

/// <summary>
/// Kestrel over Skiff over the in-memory link: a server <see cref="SkiffStack"/> (10.0.0.2) hosting a minimal-API app
/// through <c>UseSkiff</c> on port 80, and a client stack (10.0.0.1) whose connections feed an <see cref="HttpClient"/>
/// (SocketsHttpHandler's ConnectCallback opens a <see cref="SkiffConnection"/> and counts it). Disposing stops the host,
/// both engines, and checks that every buffer is back in its pool.
/// </summary>
internal sealed class KestrelOverSkiff : IAsyncDisposable
{
    public static readonly Ipv4Address ClientAddress = new(10, 0, 0, 1);
    public static readonly Ipv4Address ServerAddress = new(10, 0, 0, 2);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    public const ushort Port = 80;

    private readonly InMemoryDevice _linkClient;
    private readonly InMemoryDevice _linkServer;
    private int _connects;
    private bool _stopped;

    private KestrelOverSkiff(Action<WebApplication>? map, Action<IWebHostBuilder>? configure)
    {
        ClientPool = new PacketPool(16384);
        ServerPool = new PacketPool(16384);
        (_linkClient, _linkServer) = InMemoryLink.CreatePair(ClientPool, ServerPool, 4096);
        Client = SkiffStack.CreateBuilder(Options(1, ClientAddress)).UseDevice(_linkClient).Build();
        Server = SkiffStack.CreateBuilder(Options(2, ServerAddress)).UseDevice(_linkServer).Build();

        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(Log);
        // Per-request hosting lines would drown what the transport and Kestrel say; keep their warnings and errors.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (configure is null)
        {
            builder.WebHost.UseSkiff(Server);
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Any, Port));
        }
        else
        {
            configure(builder.WebHost);
        }
        App = builder.Build();
        (map ?? MapDefault)(App);
    }

    /// <summary>Builds the stacks and starts the host; <paramref name="configure"/> replaces the default UseSkiff(Server) and Listen(0.0.0.0:80).</summary>
    public static async Task<KestrelOverSkiff> StartAsync(Action<WebApplication>? map = null, Action<IWebHostBuilder>? configure = null)
    {
        KestrelOverSkiff k = new(map, configure);
        try
        {
            await k.App.StartAsync().WaitAsync(Timeout);
        }
        catch
        {
            await k.DisposeAsync();
            throw;
        }
        return k;
    }

    public PacketPool ClientPool { get; }

    public PacketPool ServerPool { get; }

    public SkiffStack Client { get; }

    public SkiffStack Server { get; }

    public WebApplication App { get; }

    public CapturingLoggerProvider Log { get; } = new();

    /// <summary>Connections the HTTP clients opened so far.</summary>
    public int Connects => Volatile.Read(ref _connects);

    public static Uri Url(string path) => new($"http://{ServerAddress}:{Port}{path}");

    /// <summary>An HttpClient whose connections are Skiff connections from <see cref="Client"/>.</summary>
    public HttpClient CreateHttpClient(int maxConnections = int.MaxValue)
    {
        SocketsHttpHandler handler = new()
        {
            MaxConnectionsPerServer = maxConnections,
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref _connects);
                SkiffConnection connection = await Client.ConnectAsync(new IPEndPoint(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port), cancellationToken);
                return connection.AsStream();
            },
        };
        return new HttpClient(handler) { Timeout = Timeout };
    }

    /// <summary>The endpoints of the sample (<c>/</c>, <c>/json</c>) and a few for transport behaviour.</summary>
    private static void MapDefault(WebApplication app)
    {
        app.MapGet("/", () => "Hello, World!\n");
        app.MapGet("/json", () => new Greeting("Hello, World!", "Kestrel over Skiff"));
        app.MapGet("/whoami", (HttpContext c) => $"{c.Connection.RemoteIpAddress}:{c.Connection.RemotePort} -> {c.Connection.LocalIpAddress}:{c.Connection.LocalPort} {c.Connection.Id}");
        app.MapPost("/echo", async (HttpContext c) =>
        {
            c.Response.ContentType = "application/octet-stream";
            await c.Request.Body.CopyToAsync(c.Response.Body);
        });
        app.MapGet("/abort", (HttpContext c) => c.Abort());
    }

    private static SkiffStackOptions Options(byte n, Ipv4Address address) => new()
    {
        Mac = new MacAddress(0x02_00_00_00_00_00UL | n),
        Addresses = [new Ipv4Cidr(address, 24)],
        SecretKey = n,
        Engine = new SkiffEngineOptions { ThreadName = $"skiff-kestrel-test-{n}", Idle = new SkiffIdlePolicy { YieldIterations = 4 } },
    };

    /// <summary>Stops the host (Kestrel closes its connections and unbinds); idempotent.</summary>
    public async Task StopHostAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await App.StopAsync().WaitAsync(Timeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        await App.DisposeAsync();
        await Client.DisposeAsync();
        await Server.DisposeAsync();
        // Frames one engine sent after the other stopped are still on the wire; the link owns them.
        _linkClient.DiscardPending();
        _linkServer.DiscardPending();
        Assert.Null(Client.Engine.Failure);
        Assert.Null(Server.Engine.Failure);
        Assert.Equal(0, ClientPool.InUse);
        Assert.Equal(0, ServerPool.InUse);
        ClientPool.Dispose();
        ServerPool.Dispose();
    }
}

/// <summary>The sample's <c>/json</c> document.</summary>
internal sealed record Greeting(string Message, string Server);
