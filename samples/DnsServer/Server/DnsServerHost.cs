using Skiff.Engine;
using Skiff.Samples.DnsServer.Dns;
using Skiff.Stack.Udp;

namespace Skiff.Samples.DnsServer.Server;

/// <summary>
/// The DNS server on a running <see cref="SkiffStack"/>: binds the stack's UDP port on each core's loop and adds a
/// <see cref="DnsUdpStage"/> there, and listens on the same TCP port (<see cref="DnsTcpServer"/>). Only public API:
/// the engine's <see cref="SkiffEngine.InvokeAsync{T}"/> to reach the loop, <see cref="SkiffEngine.AddStage"/>, the
/// stack's <see cref="Skiff.Stack.Interface.Udp"/>, <see cref="SkiffStack.Listen"/>.
/// </summary>
public sealed class DnsServerHost : IAsyncDisposable
{
    /// <summary>Datagrams the UDP socket holds between iterations on each core.</summary>
    public const int UdpQueueDatagrams = 1024;

    private readonly SkiffStack _stack;
    private readonly DnsUdpStage[] _stages;
    private readonly UdpSocket[] _sockets;
    private readonly DnsTcpServer _tcp;

    private DnsServerHost(SkiffStack stack, DnsUdpStage[] stages, UdpSocket[] sockets, DnsTcpServer tcp)
    {
        _stack = stack;
        _stages = stages;
        _sockets = sockets;
        _tcp = tcp;
    }

    /// <summary>The TCP side.</summary>
    public DnsTcpServer Tcp => _tcp;

    /// <summary>
    /// Starts serving <paramref name="zone"/> on <paramref name="port"/> of <paramref name="stack"/>, UDP answers up to
    /// <paramref name="maxUdpBytes"/>. Throws <see cref="InvalidOperationException"/> when the port is taken.
    /// </summary>
    public static async Task<DnsServerHost> StartAsync(SkiffStack stack, CompiledZone zone, ushort port = 53, int maxUdpBytes = DnsAnswerer.DefaultMaxUdpBytes)
    {
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentNullException.ThrowIfNull(zone);
        int cores = stack.Engines.Count;
        DnsUdpStage[] stages = new DnsUdpStage[cores];
        UdpSocket[] sockets = new UdpSocket[cores];
        for (int i = 0; i < cores; i++)
        {
            SkiffEngine engine = stack.Engines[i];
            DnsAnswerer answerer = new(zone, maxUdpBytes); // one per loop: the counters are the loop's own
            (sockets[i], stages[i]) = await engine.InvokeAsync(iface =>
            {
                UdpSocket socket = iface.Udp.Bind(port, receiveQueueDatagrams: UdpQueueDatagrams, sendQueueDatagrams: UdpQueueDatagrams);
                DnsUdpStage stage = new(socket, answerer);
                engine.AddStage(stage);
                return (socket, stage);
            }).ConfigureAwait(false);
        }
        DnsTcpServer tcp = new(stack, port, zone, maxUdpBytes);
        return new DnsServerHost(stack, stages, sockets, tcp);
    }

    /// <summary>The UDP counters of every core and the TCP counters, summed (a moment old).</summary>
    public DnsCounters Counters()
    {
        DnsCounters sum = new();
        foreach (DnsUdpStage stage in _stages)
        {
            sum.Add(stage.Answerer.Counters);
        }
        sum.Add(_tcp.Counters);
        return sum;
    }

    /// <summary>The UDP counters of every core, summed.</summary>
    public DnsCounters UdpCounters()
    {
        DnsCounters sum = new();
        foreach (DnsUdpStage stage in _stages)
        {
            sum.Add(stage.Answerer.Counters);
        }
        return sum;
    }

    /// <summary>Datagrams the stack dropped because the DNS socket's queue was full, summed over the cores.</summary>
    public long UdpReceiveDropped => _sockets.Sum(s => s.ReceiveDropped);

    /// <summary>Stops the TCP side. (The UDP stages end with the stack.)</summary>
    public async ValueTask DisposeAsync()
    {
        await _tcp.DisposeAsync().ConfigureAwait(false);
        GC.KeepAlive(_stack);
    }
}
