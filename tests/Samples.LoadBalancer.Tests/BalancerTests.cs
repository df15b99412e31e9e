namespace Samples.LoadBalancer.Tests;

/// <summary>The balancer's flow placement: Maglev for new flows, the connection table for established ones.</summary>
public sealed class BalancerTests
{
    internal static readonly Ipv4Address Vip = new(10, 0, 0, 100);
    internal static readonly Ipv4Address[] Backends = [new(10, 0, 0, 11), new(10, 0, 0, 12), new(10, 0, 0, 13), new(10, 0, 0, 14)];
    internal static readonly MacAddress LocalMac = MacAddress.Parse("02:00:00:00:00:01");

    /// <summary>A VIP on port 80 over <paramref name="backends"/>; the host fills in its own address and MAC.</summary>
    internal static BalancerOptions Port80(Ipv4Address vip, Ipv4Address[] backends) =>
        new() { Vip = vip, Port = 80, Backends = backends, LocalAddress = default, LocalMac = default };

    /// <summary>Health checks to port 80 every <paramref name="interval"/>, 500 ms to answer, fall 2, rise 2.</summary>
    internal static HealthCheckOptions Checks(HealthCheckKind kind, Duration interval) =>
        new() { Kind = kind, Port = 80, Interval = interval, Timeout = Duration.FromMillis(500), Fall = 2, Rise = 2 };

    internal static Balancer Create(int backends, ForwardingMode mode = ForwardingMode.Ipip, int up = -1)
    {
        Balancer balancer = new(new BalancerOptions
        {
            Vip = Vip,
            Port = 80,
            Backends = Backends[..backends],
            Mode = mode,
            LocalAddress = new Ipv4Address(10, 0, 0, 2),
            LocalMac = LocalMac,
            Connections = 1 << 18,
        });
        for (int i = 0; i < (up < 0 ? backends : up); i++)
        {
            balancer.SetNextHopMac(i, new MacAddress(0x0200_0000_0B00UL + (ulong)i));
            balancer.SetHealthy(i, true);
        }
        return balancer;
    }

    private static int[] Place(Balancer balancer, (uint Source, ushort Port)[] flows, Instant now) =>
        [.. flows.Select(f => balancer.Pick(f.Source, Vip.Value, f.Port, 80, 6, now))];

    [Fact]
    public void AFailedBackendsFlowsMoveAndNoOthersDo()
    {
        Balancer balancer = Create(3);
        (uint, ushort)[] flows = MaglevTests.ClientFlows(60_000);
        Instant t = Instant.FromMillis(1000);
        int[] before = Place(balancer, flows, t);
        Assert.All(new[] { 0, 1, 2 }, b => Assert.InRange(before.Count(x => x == b), 18_000, 22_000));
        balancer.SetHealthy(1, false);
        int[] after = Place(balancer, flows, t + Duration.FromSeconds(1));
        for (int i = 0; i < flows.Length; i++)
        {
            if (before[i] == 1)
            {
                Assert.NotEqual(1, after[i]);
            }
            else
            {
                Assert.Equal(before[i], after[i]); // established elsewhere: the connection table keeps them
            }
        }
        Assert.Equal(before.Count(x => x == 1), balancer.Counters.Rescheduled);
        // The failed backend's flows spread over the two that are left, about half each.
        int[] moved = [.. Enumerable.Range(0, flows.Length).Where(i => before[i] == 1).Select(i => after[i])];
        Assert.InRange(moved.Count(x => x == 0) / (double)moved.Length, 0.4, 0.6);
    }

    [Fact]
    public void AFourthBackendTakesNewFlowsOnlyAndEstablishedOnesStay()
    {
        Balancer balancer = Create(4, up: 3);
        (uint, ushort)[] established = MaglevTests.ClientFlows(30_000, seed: 1);
        Instant t = Instant.FromMillis(1000);
        int[] before = Place(balancer, established, t);
        Assert.DoesNotContain(3, before);
        balancer.SetNextHopMac(3, new MacAddress(0x0200_0000_0B03UL));
        balancer.SetHealthy(3, true);
        Assert.Equal(before, Place(balancer, established, t + Duration.FromSeconds(1)));
        (uint, ushort)[] fresh = MaglevTests.ClientFlows(40_000, seed: 2);
        int[] placed = Place(balancer, fresh, t + Duration.FromSeconds(1));
        Assert.InRange(placed.Count(x => x == 3) / (double)fresh.Length, 0.23, 0.27);
    }

    [Fact]
    public void AnIdleFlowFollowsTheTableAgainOnceItsEntryExpired()
    {
        Balancer balancer = Create(4, up: 3);
        (uint, ushort)[] flows = MaglevTests.ClientFlows(20_000, seed: 3);
        Instant t = Instant.FromMillis(1000);
        Place(balancer, flows, t);
        balancer.SetNextHopMac(3, new MacAddress(0x0200_0000_0B03UL));
        balancer.SetHealthy(3, true);
        int[] later = Place(balancer, flows, t + balancer.Options.IdleTimeout + Duration.FromSeconds(1));
        Assert.InRange(later.Count(x => x == 3) / (double)flows.Length, 0.23, 0.27);
    }

    [Fact]
    public void WithNoBackendUpFramesForTheVipAreDroppedAndCounted()
    {
        Balancer balancer = Create(3, up: 0);
        using PacketPool pool = new(8);
        PacketBuffer frame = Frames.Client(pool, Frames.ClientTcpSyn());
        Assert.Equal(Skiff.Hooks.HookVerdict.Drop, balancer.Process(frame, Instant.FromMillis(1)));
        Assert.Equal(1, balancer.Counters.NoBackend);
        frame.Free();
    }

    [Fact]
    public void AMacWithoutHealthOrHealthWithoutAMacIsNotUsable()
    {
        Balancer balancer = Create(2, up: 0);
        balancer.SetHealthy(0, true);
        Assert.False(balancer.IsUsable(0));
        balancer.SetNextHopMac(1, new MacAddress(0x0200_0000_0B01UL));
        Assert.False(balancer.IsUsable(1));
        Assert.All(balancer.Table.ToArray(), s => Assert.Equal(-1, s));
        balancer.SetNextHopMac(0, new MacAddress(0x0200_0000_0B00UL));
        Assert.True(balancer.IsUsable(0));
        Assert.All(balancer.Table.ToArray(), s => Assert.Equal(0, s));
    }
}
