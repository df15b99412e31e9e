using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Skiff.Devices;
using Skiff.Engine;
using Skiff.Samples.DnsServer.Dns;
using Skiff.Samples.DnsServer.Server;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Samples.DnsServer.Tests;

/// <summary>
/// The server as the sample runs it (<see cref="DnsServerHost"/> on a <see cref="SkiffStack"/>), over the in-memory link,
/// with a second Skiff stack as the client: UDP through the stack's socket and the loop's stage, TCP after truncation.
/// </summary>
public sealed class InMemoryServerTests : IAsyncLifetime
{
    private static readonly Ipv4Address ServerAddress = Ipv4Address.Parse("10.53.0.1");
    private static readonly UdpEndpoint Server53 = new(ServerAddress, 53);
    private readonly PacketPool _clientPool = new(8192);
    private readonly PacketPool _serverPool = new(8192);
    private SkiffStack _client = null!;
    private SkiffStack _server = null!;
    private DnsServerHost _host = null!;
    private SkiffUdpSocket _udp = null!;

    public async Task InitializeAsync()
    {
        (InMemoryDevice c, InMemoryDevice s) = InMemoryLink.CreatePair(_clientPool, _serverPool, 4096);
        _client = SkiffStack.CreateBuilder(new SkiffStackOptions { Mac = new MacAddress(0x02_00_00_00_00_01UL), Addresses = [Ipv4Cidr.Parse("10.53.0.2/24")] }).UseDevice(c).Build();
        _server = SkiffStack.CreateBuilder(new SkiffStackOptions { Mac = new MacAddress(0x02_00_00_00_00_02UL), Addresses = [new Ipv4Cidr(ServerAddress, 24)] }).UseDevice(s).Build();
        _host = await DnsServerHost.StartAsync(_server, TestZones.Compile(TestZones.WithBigTxt));
        _udp = _client.BindUdp();
    }

    public async Task DisposeAsync()
    {
        await _udp.DisposeAsync();
        await _host.DisposeAsync();
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _clientPool.Dispose();
        _serverPool.Dispose();
    }

    private async Task<ParsedMessage?> AskUdp(byte[] query, TimeSpan? wait = null)
    {
        await _udp.SendToAsync(query, Server53);
        byte[] buffer = new byte[2048];
        using CancellationTokenSource timeout = new(wait ?? TimeSpan.FromSeconds(10));
        try
        {
            SkiffUdpReceiveResult r = await _udp.ReceiveFromAsync(buffer, timeout.Token);
            Assert.Equal(Server53, r.RemoteEndPoint);
            return DnsWire.Parse(buffer.AsSpan(0, r.ReceivedBytes));
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task UDP_queries_are_answered_through_the_stack()
    {
        ParsedMessage a = (await AskUdp(DnsWire.Query("web.example.com", 1)))!;
        Assert.Equal((0, true), (a.Rcode, a.Aa));
        Assert.Equal(new byte[] { 192, 0, 2, 80 }, Assert.Single(a.Answers).Data);
        Assert.Equal(3, (await AskUdp(DnsWire.Query("nope.example.com", 28, ednsSize: 1232)))!.Rcode);
        Assert.Equal(1, (await AskUdp([0x12, 0x34, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]))!.Rcode); // two questions announced, none there: FORMERR
        Assert.Null(await AskUdp([1, 2, 3], TimeSpan.FromMilliseconds(300))); // no header: dropped
        DnsCounters counters = _host.UdpCounters();
        Assert.Equal((4, 1, 1, 1, 1), (counters.Queries, counters.Answers, counters.NxDomain, counters.FormErr, counters.DroppedBy(DnsDropReason.ShortHeader)));
    }

    [Fact]
    public async Task A_truncated_answer_comes_whole_over_TCP_with_two_queries_on_one_connection()
    {
        ParsedMessage udp = (await AskUdp(DnsWire.Query("big.example.com", 16, ednsSize: 1232)))!;
        Assert.True(udp.Tc);
        await using SkiffConnection connection = await SkiffConnection.ConnectAsync(_client, ServerAddress, 53);
        byte[] first = DnsWire.Query("big.example.com", 16, id: 1);
        byte[] second = DnsWire.Query("web.example.com", 1, id: 2);
        byte[] both = new byte[4 + first.Length + second.Length];
        BinaryPrimitives.WriteUInt16BigEndian(both, (ushort)first.Length);
        first.CopyTo(both, 2);
        BinaryPrimitives.WriteUInt16BigEndian(both.AsSpan(2 + first.Length), (ushort)second.Length);
        second.CopyTo(both, 4 + first.Length);
        await connection.Transport.Output.WriteAsync(both);
        ParsedMessage big = await ReadTcpMessage(connection.Transport.Input);
        ParsedMessage web = await ReadTcpMessage(connection.Transport.Input);
        Assert.Equal((1, false, 40), (big.Id, big.Tc, big.Answers.Count()));
        Assert.Equal((2, 1), (web.Id, web.Answers.Count()));
        Assert.Equal(2, _host.Tcp.Counters.Answers);
    }

    [Fact]
    public async Task The_loop_allocates_nothing_to_answer_UDP()
    {
        byte[][] queries = [DnsWire.Query("web.example.com", 1), DnsWire.Query("nope.example.com", 1, ednsSize: 1232), DnsWire.Query("example.com", 15),
            DnsWire.Query("big.example.com", 16)];
        for (int i = 0; i < 3000; i++)
        {
            Assert.NotNull(await AskUdp(queries[i % queries.Length]));
        }
        long least = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = await _server.Engine.InvokeAsync(_ => GC.GetAllocatedBytesForCurrentThread());
            for (int i = 0; i < 1000; i++)
            {
                Assert.NotNull(await AskUdp(queries[i % queries.Length]));
            }
            long after = await _server.Engine.InvokeAsync(_ => GC.GetAllocatedBytesForCurrentThread());
            least = Math.Min(least, after - before);
        }
        Assert.Equal(0, least);
        Assert.Equal(0, _host.UdpCounters().Dropped);
    }

    private static async Task<ParsedMessage> ReadTcpMessage(PipeReader input)
    {
        using CancellationTokenSource timeout = new(TimeSpan.FromSeconds(10));
        while (true)
        {
            ReadResult read = await input.ReadAsync(timeout.Token);
            ReadOnlySequence<byte> buffer = read.Buffer;
            if (buffer.Length >= 2)
            {
                byte[] prefix = buffer.Slice(0, 2).ToArray();
                int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
                if (buffer.Length >= 2 + length)
                {
                    byte[] message = buffer.Slice(2, length).ToArray();
                    input.AdvanceTo(buffer.GetPosition(2 + length));
                    return DnsWire.Parse(message);
                }
            }
            Assert.False(read.IsCompleted, "the server closed the connection before answering");
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}
