using Skiff.Devices;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Simulation;

/// <summary>
/// Two stacks, 10.0.0.1 and 10.0.0.2 (with <c>ipv6</c> also fd00::1 and fd00::2), over the in-memory link (optionally impaired), driven by a manual
/// clock. Deterministic: the same seed gives the same run.
/// </summary>
internal sealed class StackPair : IDisposable
{
    public static readonly Ipv4Address AddressA = new(10, 0, 0, 1);
    public static readonly Ipv4Address AddressB = new(10, 0, 0, 2);
    public static readonly Ipv6Address Address6A = Ipv6Address.Parse("fd00::1");
    public static readonly Ipv6Address Address6B = Ipv6Address.Parse("fd00::2");

    private readonly IDevice _devA;
    private readonly IDevice _devB;

    public StackPair(ImpairmentOptions? impairA = null, ImpairmentOptions? impairB = null, TcpLayerOptions? tcp = null,
        int poolFrames = 16384, int mtu = 1500, Duration? linkDelay = null, InterfaceOptions? templateB = null, bool gratuitousArp = true,
        Skiff.Stack.Arp.ArpCacheOptions? arp = null, bool ipv6 = false)
    {
        PoolA = new PacketPool(poolFrames);
        PoolB = new PacketPool(poolFrames);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(PoolA, PoolB, 4096, new DeviceCapabilities(MtuBytes: mtu));
        LinkA = a;
        LinkB = b;
        if (linkDelay is Duration d)
        {
            impairA = (impairA ?? new ImpairmentOptions()) with { Delay = d };
            impairB = (impairB ?? new ImpairmentOptions()) with { Delay = d };
        }
        ImpairedA = impairA is null ? null : new ImpairedDevice(a, impairA with { QueueLimitFrames = Math.Max(impairA.QueueLimitFrames, 100_000) });
        ImpairedB = impairB is null ? null : new ImpairedDevice(b, impairB with { QueueLimitFrames = Math.Max(impairB.QueueLimitFrames, 100_000) });
        _devA = (IDevice?)ImpairedA ?? a;
        _devB = (IDevice?)ImpairedB ?? b;
        A = new Interface(new InterfaceOptions
        {
            Mac = MacAddress.Parse("02:00:00:00:00:01"),
            Addresses = [new Ipv4Cidr(AddressA, 24)],
            MtuBytes = mtu,
            GratuitousArp = gratuitousArp,
            Arp = arp ?? new(),
            SecretKey = 1,
            Tcp = tcp ?? new TcpLayerOptions(),
            Ipv6 = ipv6 ? new Skiff.Stack.Ipv6.Ipv6Options { Addresses = [new Skiff.Stack.Ipv6.Ipv6Prefix(Address6A, 64)], RouterSolicitations = false } : null,
        }, PoolA);
        B = new Interface((templateB ?? new InterfaceOptions { Mac = default, Addresses = [] }) with
        {
            Mac = MacAddress.Parse("02:00:00:00:00:02"),
            Addresses = [new Ipv4Cidr(AddressB, 24)],
            MtuBytes = mtu,
            GratuitousArp = gratuitousArp,
            Arp = arp ?? new(),
            SecretKey = 2,
            Tcp = tcp ?? new TcpLayerOptions(),
            Ipv6 = ipv6 ? new Skiff.Stack.Ipv6.Ipv6Options { Addresses = [new Skiff.Stack.Ipv6.Ipv6Prefix(Address6B, 64)], RouterSolicitations = false } : null,
        }, PoolB);
        if (ipv6)
        {
            RunFor(Duration.FromMillis(1500)); // duplicate address detection: addresses are tentative for a second
        }
    }

    public ManualClock Clock { get; } = new(Instant.FromMillis(1000));

    public PacketPool PoolA { get; }

    public PacketPool PoolB { get; }

    public InMemoryDevice LinkA { get; }

    public InMemoryDevice LinkB { get; }

    public ImpairedDevice? ImpairedA { get; }

    public ImpairedDevice? ImpairedB { get; }

    public Interface A { get; }

    public Interface B { get; }

    public Instant Now => Clock.Now;

    /// <summary>
    /// Resolves both neighbours up front, so no ARP frame crosses an impaired link (give the pair ARP options
    /// whose <c>ReachableTime</c> outlasts the run, or the entries go stale and re-resolve over it).
    /// </summary>
    public void PrimeArp()
    {
        Span<PacketBuffer> none = new PacketBuffer[16];
        A.Arp.Update(AddressB, B.Mac, Clock.Now, createIfMissing: true, none);
        B.Arp.Update(AddressA, A.Mac, Clock.Now, createIfMissing: true, none);
    }

    /// <summary>Polls both stacks once at the current time; true if either did something.</summary>
    public bool PollOnce()
    {
        bool a = A.Poll(Clock.Now, _devA);
        bool b = B.Poll(Clock.Now, _devB);
        return a || b;
    }

    /// <summary>
    /// Polls until <paramref name="done"/> holds, moving the clock to the next deadline whenever both stacks
    /// are idle (and by <paramref name="busyStep"/> while they are busy). False if <paramref name="limit"/>
    /// of simulated time passed first.
    /// </summary>
    public bool RunUntil(Func<bool> done, Duration limit, Duration? busyStep = null)
    {
        Instant end = Clock.Now + limit;
        Duration step = busyStep ?? Duration.FromMicros(10);
        while (!done())
        {
            if (Clock.Now > end)
            {
                return false;
            }
            // Busy while either stack did something, or while a frame waits in a receive ring (a device can
            // release held frames during the other stack's poll, after this one already looked).
            if (PollOnce() || LinkA.ReceivePending > 0 || LinkB.ReceivePending > 0)
            {
                Clock.Advance(step);
                continue;
            }
            Instant next = Instant.Min(A.PollAt(Clock.Now), B.PollAt(Clock.Now));
            if (ImpairedA is not null)
            {
                next = Instant.Min(next, ImpairedA.PollAt());
            }
            if (ImpairedB is not null)
            {
                next = Instant.Min(next, ImpairedB.PollAt());
            }
            if (next == Instant.Never)
            {
                if (done())
                {
                    return true;
                }
                return false;
            }
            Clock.AdvanceTo(next <= Clock.Now ? Clock.Now + step : next);
        }
        return true;
    }

    /// <summary>Runs for a stretch of simulated time.</summary>
    public void RunFor(Duration duration)
    {
        Instant end = Clock.Now + duration;
        RunUntil(() => Clock.Now >= end, duration + Duration.FromSeconds(1));
    }

    /// <summary>Frees everything still queued anywhere so the pools can be checked for leaks.</summary>
    public void Drain()
    {
        ImpairedA?.Dispose();
        ImpairedB?.Dispose();
        LinkA.DiscardPending();
        LinkB.DiscardPending();
        A.DropAllQueued();
        B.DropAllQueued();
    }

    public void Dispose()
    {
        Drain();
    }
}
