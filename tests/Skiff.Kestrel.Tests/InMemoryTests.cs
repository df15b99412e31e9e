using System.Net.Sockets;
using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Wire;

namespace Skiff.Kestrel.Tests;

/// <summary>Kestrel over Skiff over the in-memory link (<see cref="KestrelOverSkiff"/>), with an HTTP/1.1 client on a second Skiff stack.</summary>
public sealed class InMemoryTests
{
    [Fact]
    public async Task Keep_alive_serves_many_requests_over_one_connection()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        using HttpClient http = k.CreateHttpClient(maxConnections: 1);

        for (int i = 0; i < 300; i++)
        {
            if (i % 2 == 0)
            {
                using HttpResponseMessage response = await http.GetAsync(KestrelOverSkiff.Url("/"));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("Hello, World!\n", await response.Content.ReadAsStringAsync());
                Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.ToString());
            }
            else
            {
                Greeting? greeting = await http.GetFromJsonAsync<Greeting>(KestrelOverSkiff.Url("/json"));
                Assert.Equal(new Greeting("Hello, World!", "Kestrel over Skiff"), greeting);
            }
        }
        Assert.Equal(1, k.Connects);
    }

    [Fact]
    public async Task Connection_close_ends_every_connection_after_its_response()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        using HttpClient http = k.CreateHttpClient();
        const int requests = 100;

        for (int i = 0; i < requests; i++)
        {
            using HttpRequestMessage request = new(HttpMethod.Get, KestrelOverSkiff.Url(i % 2 == 0 ? "/" : "/json"));
            request.Headers.ConnectionClose = true;
            using HttpResponseMessage response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(response.Headers.ConnectionClose, "Kestrel did not answer Connection: close.");
            Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
        }
        Assert.Equal(requests, k.Connects);
    }

    [Fact]
    public async Task Connection_close_on_a_raw_connection_ends_with_the_servers_FIN()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        await using SkiffConnection connection = await ConnectAsync(k);
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /json HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\n\r\nGET / HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\nConnection: close\r\n\r\n"));

        // Both pipelined responses, then end of stream: Kestrel closed after the second, gracefully.
        string all = await ReadToEndAsync(connection.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);
        Assert.Equal(2, CountOccurrences(all, "HTTP/1.1 200 OK"));
        Assert.Contains("\"message\":\"Hello, World!\"", all);
        Assert.EndsWith("Hello, World!\n\r\n0\r\n\r\n", all); // the last chunk
        Assert.Contains("Connection: close", all);
    }

    [Fact]
    public async Task Concurrent_connections_each_serve_requests_and_echo_bodies()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        using HttpClient http = k.CreateHttpClient();
        const int connections = 32;
        const int requestsEach = 10;

        Task[] clients = new Task[connections];
        for (int c = 0; c < connections; c++)
        {
            int seed = c;
            clients[c] = Task.Run(async () =>
            {
                // Each client its own handler with one connection, so there really are this many connections.
                using HttpClient own = k.CreateHttpClient(maxConnections: 1);
                for (int r = 0; r < requestsEach; r++)
                {
                    byte[] body = new byte[new Random(seed * 100 + r).Next(1, 200_000)];
                    new Random(seed * 100 + r).NextBytes(body);
                    using ByteArrayContent content = new(body);
                    using HttpResponseMessage response = await own.PostAsync(KestrelOverSkiff.Url("/echo"), content);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Equal(SHA256.HashData(body), SHA256.HashData(await response.Content.ReadAsByteArrayAsync()));
                }
            });
        }
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(connections, k.Connects);
    }

    [Fact]
    public async Task The_connection_features_carry_both_endpoints()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        await using SkiffConnection connection = await ConnectAsync(k);
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /whoami HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\nConnection: close\r\n\r\n"));
        string response = await ReadToEndAsync(connection.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);

        IPEndPoint local = connection.LocalEndPoint;
        Assert.Contains($"{local.Address}:{local.Port} -> {KestrelOverSkiff.ServerAddress}:{KestrelOverSkiff.Port} skiff-", response);
    }

    [Fact]
    public async Task Accepted_connections_run_with_NoDelay_as_on_Kestrels_socket_transport()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync(app =>
            app.MapGet("/nodelay", (HttpContext c) => c.Features.Get<ISkiffConnectionFeature>() is { } f ? $"nodelay={f.Connection.NoDelay}" : "no feature"));
        await using SkiffConnection connection = await ConnectAsync(k);
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /nodelay HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\nConnection: close\r\n\r\n"));
        string response = await ReadToEndAsync(connection.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);
        Assert.Contains("nodelay=True", response);
        Assert.False(connection.NoDelay); // the client stack's own default keeps Nagle
    }

    [Fact]
    public async Task A_client_abort_fires_RequestAborted_in_the_running_handler()
    {
        TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        TaskCompletionSource aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync(map: app =>
        {
            app.MapGet("/wait", async (HttpContext c) =>
            {
                started.TrySetResult();
                try
                {
                    await Task.Delay(Timeout.Infinite, c.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    aborted.TrySetResult();
                }
            });
            app.MapGet("/", () => "still here");
        });

        await using (SkiffConnection connection = await ConnectAsync(k))
        {
            await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"GET /wait HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\n\r\n"));
            await started.Task.WaitAsync(KestrelOverSkiff.Timeout);
            Assert.False(aborted.Task.IsCompleted);
            connection.Abort(); // RST while the handler runs and nobody reads the connection
            await aborted.Task.WaitAsync(KestrelOverSkiff.Timeout);
        }

        // A half-sent request aborted: the server drops it and keeps serving.
        await using (SkiffConnection connection = await ConnectAsync(k))
        {
            await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x"));
            connection.Abort();
        }
        using HttpClient http = k.CreateHttpClient();
        Assert.Equal("still here", await http.GetStringAsync(KestrelOverSkiff.Url("/")));
    }

    [Fact]
    public async Task HttpContext_Abort_closes_the_clients_connection_as_the_socket_transport_does()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        await using SkiffConnection connection = await ConnectAsync(k);
        await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"GET /abort HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\n\r\n"));

        // Kestrel's socket transport aborts with shutdown(SHUT_RDWR): the client sees the connection end (a FIN), no
        // response and no reset.
        string all = await ReadToEndAsync(connection.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);
        Assert.Equal("", all);
    }

    [Fact]
    public async Task Stopping_the_host_unbinds_the_port_and_closes_idle_connections()
    {
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        await using SkiffConnection idle = await ConnectAsync(k);
        await idle.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {KestrelOverSkiff.ServerAddress}\r\n\r\n"));
        ReadResult first = await idle.Transport.Input.ReadAsync().AsTask().WaitAsync(KestrelOverSkiff.Timeout);
        Assert.StartsWith("HTTP/1.1 200 OK", Encoding.ASCII.GetString(first.Buffer.FirstSpan));
        idle.Transport.Input.AdvanceTo(first.Buffer.End);

        await k.StopHostAsync();

        // Kestrel closed the kept-alive connection (end of stream), and the port is free for a new listener.
        await ReadToEndAsync(idle.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);
        await using SkiffListener again = k.Server.Listen(KestrelOverSkiff.Port);
    }

    [Fact]
    public async Task A_device_factory_stack_is_built_by_the_transport_and_serves()
    {
        PacketPool? serverPool = null;
        InMemoryDevice? clientEnd = null;
        PacketPool clientPool = new(4096);
        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync(configure: web =>
        {
            web.UseSkiff(o =>
            {
                o.StackOptions = new SkiffStackOptions { Mac = new MacAddress(0x02_00_00_00_00_09UL), Addresses = [Ipv4Cidr.Parse("10.0.1.2/24")], PoolFrames = 4096 };
                o.DeviceFactory = pool =>
                {
                    serverPool = pool;
                    (clientEnd, InMemoryDevice serverEnd) = InMemoryLink.CreatePair(clientPool, pool, 1024);
                    return serverEnd;
                };
            });
            web.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse("10.0.1.2"), 8080));
        });
        Assert.NotNull(clientEnd);
        Assert.Contains(k.Log.Lines, l => l.Contains("Kestrel serves over Skiff: Skiff stack 10.0.1.2/24"));
        SkiffStack client = SkiffStack.CreateBuilder(new SkiffStackOptions { Mac = new MacAddress(0x02_00_00_00_00_08UL), Addresses = [Ipv4Cidr.Parse("10.0.1.1/24")] })
            .UseDevice(clientEnd).Build();
        try
        {
            await using (SkiffConnection connection = await client.ConnectAsync(new IPEndPoint(IPAddress.Parse("10.0.1.2"), 8080)).AsTask().WaitAsync(KestrelOverSkiff.Timeout))
            {
                await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
                string response = await ReadToEndAsync(connection.Transport.Input).WaitAsync(KestrelOverSkiff.Timeout);
                Assert.StartsWith("HTTP/1.1 200 OK", response);
                Assert.EndsWith("Hello, World!\n\r\n0\r\n\r\n", response);
            }
            await k.StopHostAsync();
        }
        finally
        {
            // The client first: frames on the link come from the server's pool, which the transport disposes with the host.
            await client.DisposeAsync();
            clientEnd.DiscardPending();
        }
        Assert.Equal(0, clientPool.InUse);
        await k.App.DisposeAsync(); // disposes the transport, which stops the stack it built and frees its pool
        Assert.True(IsFreed(serverPool!), "The transport did not dispose the pool of the stack it built.");
        clientPool.Dispose();
    }

    /// <summary>
    /// ControlSocket opens the control socket of the stack the transport built (what skiff stats and skiff capture
    /// attach to): it answers a snapshot with that stack's address while the app runs, and is gone when it stops.
    /// </summary>
    [Fact]
    public async Task The_transport_opens_a_control_socket_for_skiff_stats_and_capture()
    {
        string directory = Directory.CreateTempSubdirectory("skiff-kestrel-control-").FullName;
        string path = Path.Combine(directory, "app.sock");
        PacketPool clientPool = new(1024);
        InMemoryDevice? clientEnd = null;
        try
        {
            await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync(configure: web =>
            {
                web.UseSkiff(o =>
                {
                    o.StackOptions = new SkiffStackOptions { Mac = new MacAddress(0x02_00_00_00_00_09UL), Addresses = [Ipv4Cidr.Parse("10.0.2.2/24")], PoolFrames = 4096 };
                    o.DeviceFactory = pool =>
                    {
                        (clientEnd, InMemoryDevice serverEnd) = InMemoryLink.CreatePair(clientPool, pool, 1024);
                        return serverEnd;
                    };
                    o.ControlSocket = true;
                    o.ControlSocketPath = path;
                });
                web.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Parse("10.0.2.2"), 8080));
            });
            Assert.Contains(k.Log.Lines, l => l.Contains($"skiff stats --socket {path}"));
            using (Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path)).WaitAsync(KestrelOverSkiff.Timeout);
                await using NetworkStream stream = new(socket);
                await using StreamWriter writer = new(stream) { NewLine = "\n", AutoFlush = true };
                using StreamReader reader = new(stream);
                await writer.WriteLineAsync("snapshot");
                string? answer = await reader.ReadLineAsync().WaitAsync(KestrelOverSkiff.Timeout);
                Assert.NotNull(answer);
                Assert.Contains("\"10.0.2.2\"", answer);
            }
            await k.StopHostAsync();
            await k.App.DisposeAsync();
            Assert.False(File.Exists(path), "the control socket outlived the transport");
        }
        finally
        {
            clientEnd?.DiscardPending();
            clientPool.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Endpoints_skiff_cannot_serve_fail_the_start_with_a_sentence()
    {
        OptionsValidationException noStack = await Assert.ThrowsAsync<OptionsValidationException>(() => KestrelOverSkiff.StartAsync(configure: web =>
        {
            web.UseSkiff(o => { });
            web.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Any, 80));
        }));
        Assert.StartsWith("Say which driver Skiff opens", Assert.Single(noStack.Failures));

        await using KestrelOverSkiff k = await KestrelOverSkiff.StartAsync();
        SkiffTransportException wrongAddress = await Assert.ThrowsAsync<SkiffTransportException>(() => StartSecondHostAsync(k, IPAddress.Parse("10.0.0.77"), 81));
        Assert.Contains("does not own 10.0.0.77", wrongAddress.Message);
        IOException inUse = await Assert.ThrowsAsync<IOException>(() => StartSecondHostAsync(k, IPAddress.Any, KestrelOverSkiff.Port));
        Assert.Contains("address already in use", inUse.Message);
    }

    /// <summary>A second host on <paramref name="k"/>'s server stack, listening on <paramref name="address"/>:<paramref name="port"/>.</summary>
    private static async Task StartSecondHostAsync(KestrelOverSkiff k, IPAddress address, ushort port)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseSkiff(k.Server);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(address, port));
        await using WebApplication app = builder.Build();
        app.MapGet("/", () => "second");
        await app.StartAsync().WaitAsync(KestrelOverSkiff.Timeout);
        await app.StopAsync();
    }

    private static async Task<SkiffConnection> ConnectAsync(KestrelOverSkiff k) =>
        await k.Client.ConnectAsync(new IPEndPoint(IPAddress.Parse(KestrelOverSkiff.ServerAddress.ToString()), KestrelOverSkiff.Port)).AsTask().WaitAsync(KestrelOverSkiff.Timeout);

    private static async Task<string> ReadToEndAsync(PipeReader input)
    {
        StringBuilder text = new();
        while (true)
        {
            ReadResult result = await input.ReadAsync();
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                text.Append(Encoding.UTF8.GetString(segment.Span));
            }
            input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return text.ToString();
            }
        }
    }

    private static unsafe bool IsFreed(PacketPool pool) => pool.DangerousSlabPointer == null;

    private static int CountOccurrences(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }
        return count;
    }
}
