using System.Net;
using Skiff.Devices;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

/// <summary>
/// Two <see cref="SkiffStack"/>s, 10.0.0.1 (A) and 10.0.0.2 (B), over the in-memory link, each with its own
/// engine thread. Disposing stops both engines, discards frames still on the wire, and checks that every
/// buffer is back in its pool.
/// </summary>
internal sealed class EnginePair : IAsyncDisposable
{
    public static readonly Ipv4Address AddressA = new(10, 0, 0, 1);
    public static readonly Ipv4Address AddressB = new(10, 0, 0, 2);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly InMemoryDevice _linkA;
    private readonly InMemoryDevice _linkB;

    /// <param name="wrapA">Puts a test device in front of A's end of the link (one that fragments, say).</param>
    public EnginePair(Func<SkiffStackOptions, SkiffStackOptions>? configure = null, int poolFrames = 16384, Func<IDevice, IDevice>? wrapA = null)
    {
        PoolA = new PacketPool(poolFrames);
        PoolB = new PacketPool(poolFrames);
        (_linkA, _linkB) = InMemoryLink.CreatePair(PoolA, PoolB, 4096);
        configure ??= o => o;
        A = SkiffStack.CreateBuilder(configure(Options(1, AddressA))).UseDevice(wrapA is null ? _linkA : wrapA(_linkA)).Build();
        B = SkiffStack.CreateBuilder(configure(Options(2, AddressB))).UseDevice(_linkB).Build();
    }

    private static SkiffStackOptions Options(byte n, Ipv4Address address) => new()
    {
        Mac = new MacAddress(0x02_00_00_00_00_00UL | n),
        Addresses = [new Ipv4Cidr(address, 24)],
        SecretKey = n,
        // Few yields: on a loaded machine (CI runs test assemblies side by side) a sched_yield can give away a whole
        // time slice, while a parked loop is woken promptly by the request that needs it.
        Engine = new SkiffEngineOptions { ThreadName = $"skiff-test-{n}", Idle = new SkiffIdlePolicy { YieldIterations = 4 } },
    };

    public PacketPool PoolA { get; }

    public PacketPool PoolB { get; }

    public SkiffStack A { get; }

    public SkiffStack B { get; }

    public static IPEndPoint EndPointB(ushort port) => new(IPAddress.Parse(AddressB.ToString()), port);

    public async ValueTask DisposeAsync()
    {
        await A.DisposeAsync();
        await B.DisposeAsync();
        // Frames one engine sent after the other stopped are still on the wire; the link owns them.
        _linkA.DiscardPending();
        _linkB.DiscardPending();
        Assert.Null(A.Engine.Failure);
        Assert.Null(B.Engine.Failure);
        Assert.Equal(0, PoolA.InUse);
        Assert.Equal(0, PoolB.InUse);
        PoolA.Dispose();
        PoolB.Dispose();
    }
}
