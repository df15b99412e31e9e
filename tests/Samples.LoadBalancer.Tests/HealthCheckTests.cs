using Skiff.Devices;
using Skiff.Stack;
using Skiff.Stack.Tcp;

namespace Samples.LoadBalancer.Tests;

/// <summary>
/// The health checker on the engine's manual clock, against a Skiff stack as the backend over the in-memory link:
/// rise and fall counted in probes, at the engine's time to the tick of the test's step.
/// </summary>
public sealed class HealthCheckTests
{
    private static readonly Instant T0 = Instant.FromMillis(10_000);
    private static readonly Duration Step = Duration.FromMillis(5);

    private sealed class Rig : IDisposable
    {
        public readonly PacketPool Pool = new(1024);
        public readonly ManualClock Clock = new(T0);
        public readonly InMemoryDevice BackendDevice;
        public readonly Interface Backend;
        public readonly LoadBalancerHost Host;
        public readonly List<(Instant At, bool Up)> Changes = [];
        public bool BackendOnline = true;

        public Rig(HealthCheckKind kind)
        {
            (InMemoryDevice lb, InMemoryDevice backend) = InMemoryLink.CreatePair(Pool);
            BackendDevice = backend;
            Backend = new Interface(new InterfaceOptions { Mac = MacAddress.Parse("02:00:00:00:00:0b"), Addresses = [Ipv4Cidr.Parse("10.0.0.11/24")] }, Pool);
            LoadBalancerSettings settings = new()
            {
                Address = Ipv4Cidr.Parse("10.0.0.2/24"),
                Balancer = BalancerTests.Port80(BalancerTests.Vip, [new Ipv4Address(10, 0, 0, 11)]),
                HealthCheck = BalancerTests.Checks(kind, Duration.FromSeconds(1)),
            };
            Host = new LoadBalancerHost(settings, lb, BalancerTests.LocalMac, Clock);
            Host.HealthChecker.BackendChanged += (_, up) => Changes.Add((Clock.Now, up));
        }

        /// <summary>Runs both sides until <paramref name="until"/>, in steps of 5 ms of the manual clock.</summary>
        public void RunUntil(Instant until)
        {
            while (Clock.Now < until)
            {
                Clock.Advance(Step);
                Host.Engine.RunOnce();
                if (BackendOnline)
                {
                    Backend.Poll(Clock.Now, BackendDevice);
                }
                else
                {
                    BackendDevice.DiscardPending();
                }
                Host.Engine.RunOnce();
            }
        }

        public void Dispose()
        {
            Host.Dispose();
            Pool.Dispose();
        }
    }

    [Fact]
    public void ATcpCheckBringsABackendUpAfterRiseProbesAndTakesItOutAfterFallRefusals()
    {
        using Rig rig = new(HealthCheckKind.Tcp);
        TcpListener listener = rig.Backend.Tcp.Listen(80);
        Assert.False(rig.Host.Balancer.IsUsable(0)); // backends start down
        rig.RunUntil(T0 + Duration.FromSeconds(3));
        // Probes at T0 and T0 + 1 s (the first iteration's time is T0 + 5 ms): up after the second one's handshake.
        (Instant upAt, bool up) = Assert.Single(rig.Changes);
        Assert.True(up);
        Assert.InRange((upAt - T0).TotalMillis, 1000, 1050);
        Assert.True(rig.Host.Balancer.IsUsable(0));
        Assert.NotNull(rig.Host.Balancer.NextHopMac(0)); // resolved by the probes' ARP exchange

        rig.Backend.Tcp.CloseListener(listener);
        Instant closedAt = rig.Clock.Now;
        rig.RunUntil(closedAt + Duration.FromSeconds(3));
        Assert.Equal(2, rig.Changes.Count);
        (Instant downAt, bool stillUp) = rig.Changes[1];
        Assert.False(stillUp);
        // Two refused probes, one second apart: down within 2 s of the close, and not before the second refusal.
        Assert.InRange((downAt - closedAt).TotalMillis, 1000, 2050);
        Assert.False(rig.Host.Balancer.IsUsable(0));
        Assert.All(rig.Host.Balancer.Table.ToArray(), s => Assert.Equal(-1, s));
        Assert.True(rig.Host.HealthChecker.Failures >= 2);
    }

    [Fact]
    public void AnIcmpCheckTakesOutABackendThatStopsAnsweringAfterFallTimeouts()
    {
        using Rig rig = new(HealthCheckKind.Icmp);
        rig.RunUntil(T0 + Duration.FromSeconds(3));
        Assert.True(rig.Host.Balancer.IsUsable(0));
        rig.BackendOnline = false;
        Instant goneAt = rig.Clock.Now;
        rig.RunUntil(goneAt + Duration.FromSeconds(4));
        (Instant downAt, bool up) = rig.Changes[^1];
        Assert.False(up);
        // The next two probes time out after 500 ms each: down 1.5 to 2.5 s after the backend went silent.
        Assert.InRange((downAt - goneAt).TotalMillis, 1500, 2550);
        rig.BackendOnline = true;
        rig.RunUntil(rig.Clock.Now + Duration.FromSeconds(3));
        Assert.True(rig.Host.Balancer.IsUsable(0));
    }
}
