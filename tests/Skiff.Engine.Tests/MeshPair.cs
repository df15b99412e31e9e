using Skiff.Devices;
using Skiff.Engine.Rss;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

/// <summary>
/// A (one core) and B (two cores) over the in-memory link, B's two queues fed by a stand-in NIC: a
/// <see cref="SoftwareRss"/> with a secret Toeplitz key, a hash Skiff cannot compute, so B's stack spreads its cores with
/// a <see cref="QueueMesh"/>. Disposing stops both stacks, drains the NIC and the wire, and checks that every buffer is
/// back in its pool.
/// </summary>
internal sealed class MeshPair : IAsyncDisposable
{
    private readonly PacketPool _poolA = new(16384);
    private readonly PacketPool _poolB = new(16384);
    private readonly InMemoryDevice _linkA;
    private readonly InMemoryDevice _linkB;

    /// <param name="seed">Seeds the NIC's secret key.</param>
    /// <param name="wrapA">Puts a test device in front of A's end of the link.</param>
    /// <param name="nicFollowsFragments">False: the NIC hashes fragments on addresses alone, as the kernel's fanout does.</param>
    public MeshPair(int seed, Func<IDevice, IDevice>? wrapA = null, bool nicFollowsFragments = true)
    {
        (_linkA, _linkB) = InMemoryLink.CreatePair(_poolA, _poolB, 4096);
        byte[] secret = new byte[ToeplitzHash.KeyLength];
        new Random(seed).NextBytes(secret);
        Nic = new SoftwareRss(_linkB, new FlowSteering(2, new ToeplitzHash(secret)), followFragments: nicFollowsFragments);
        A = SkiffStack.CreateBuilder(Options(1, EnginePair.AddressA)).UseDevice(wrapA is null ? _linkA : wrapA(_linkA)).Build();
        B = SkiffStack.CreateBuilder(Options(2, EnginePair.AddressB) with { Cores = 2 }).UseDevices([Nic.Queue(0), Nic.Queue(1)]).Build();
        Nic.SetWaker(0, B.Engines[0].Wake);
        Nic.SetWaker(1, B.Engines[1].Wake);
    }

    public SkiffStack A { get; }

    public SkiffStack B { get; }

    public SoftwareRss Nic { get; }

    public static System.Net.IPEndPoint EndPointA(ushort port) => new(System.Net.IPAddress.Parse(EnginePair.AddressA.ToString()), port);

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        Nic.DrainAll();
        _linkA.DiscardPending();
        _linkB.DiscardPending();
        Assert.Equal(0, _poolA.InUse);
        Assert.Equal(0, _poolB.InUse);
        _poolA.Dispose();
        _poolB.Dispose();
    }

    private static SkiffStackOptions Options(byte n, Ipv4Address address) => new()
    {
        Mac = new MacAddress(0x02_00_00_00_00_00UL | n),
        Addresses = [new Ipv4Cidr(address, 24)],
        Engine = new SkiffEngineOptions { ThreadName = $"skiff-mesh-{n}", Idle = new SkiffIdlePolicy { YieldIterations = 4 } },
    };
}
