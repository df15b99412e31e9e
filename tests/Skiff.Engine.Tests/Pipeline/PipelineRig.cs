using Skiff.Devices;
using Skiff.Stack;
using Skiff.Wire;

namespace Skiff.Engine.Tests.Pipeline;

/// <summary>
/// An engine over 10.77.0.1 (an address no other engine test uses, so meter tests running beside it see one loop of
/// theirs per address) on the manual clock, driven by <see cref="SkiffEngine.RunOnce"/>, and a peer stack 10.77.0.2
/// on the other end of an in-memory link, driven by <see cref="Interface.Poll"/>; optionally a second port whose far
/// end the test reads. Everything happens on the test's thread at instants the test chooses.
/// </summary>
internal sealed class PipelineRig : IDisposable
{
    public static readonly Ipv4Address EngineAddress = new(10, 77, 0, 1);
    public static readonly Ipv4Address PeerAddress = new(10, 77, 0, 2);

    public PipelineRig(bool secondPort = false, IPacketConsumer? consumer = null)
    {
        Pool = new PacketPool(4096);
        (Device, PeerDevice) = InMemoryLink.CreatePair(Pool, 1024);
        List<IDevice> ports = [Device];
        if (secondPort)
        {
            (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(Pool, 1024);
            ports.Add(a);
            SecondPortFarEnd = b;
        }
        Interface = new Interface(Options(1, EngineAddress), Pool);
        Peer = new Interface(Options(2, PeerAddress), Pool);
        Engine = new SkiffEngine(Interface, ports, new SkiffEngineOptions { Clock = Clock }, consumer);
    }

    private static InterfaceOptions Options(byte n, Ipv4Address address) => new()
    {
        Mac = new MacAddress(0x02_00_00_00_00_00UL | n),
        Addresses = [new Ipv4Cidr(address, 24)],
        SecretKey = n,
    };

    public ManualClock Clock { get; } = new(Instant.FromMillis(1));

    public PacketPool Pool { get; }

    public InMemoryDevice Device { get; }

    public InMemoryDevice PeerDevice { get; }

    public InMemoryDevice? SecondPortFarEnd { get; }

    public Interface Interface { get; }

    public Interface Peer { get; }

    public SkiffEngine Engine { get; }

    /// <summary>One round: the peer, then the engine, then the peer again, each at the clock's instant; then 1 ms passes.</summary>
    public void Round()
    {
        Peer.Poll(Clock.Now, PeerDevice);
        Engine.RunOnce();
        Peer.Poll(Clock.Now, PeerDevice);
        Clock.Advance(Duration.FromMillis(1));
    }

    /// <summary>Pings the engine from the peer and runs <paramref name="rounds"/> rounds; returns the replies the peer got.</summary>
    public int Ping(ushort sequence, int rounds = 5)
    {
        Peer.SendEchoRequest(Clock.Now, EngineAddress, 0x5347, sequence, 32);
        for (int i = 0; i < rounds; i++)
        {
            Round();
        }
        int replies = 0;
        while (Peer.TryReceiveEchoReply(out Interface.EchoReply reply))
        {
            Assert.Equal(EngineAddress, reply.Source);
            replies++;
        }
        return replies;
    }

    public void Dispose()
    {
        Engine.Stop();
        Peer.DropAllQueued();
        PeerDevice.DiscardPending();
        Device.DiscardPending();
        SecondPortFarEnd?.DiscardPending();
        Peer.Tcp.FreeAll();
        Peer.Arp.Remove(EngineAddress);
        Interface.Arp.Remove(PeerAddress);
        Assert.Equal(0, Pool.InUse);
        Pool.Dispose();
    }
}
