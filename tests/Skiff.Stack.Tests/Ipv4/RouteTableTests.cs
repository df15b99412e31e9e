using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Ipv4;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Ipv4;

public class RouteTableTests
{
    private static readonly Ipv4Address s_gateway = Ipv4Address.Parse("10.0.0.1");

    // The definition of longest-prefix match, nothing clever: the reference the table must agree with.
    private static Route? BruteForce(List<Route> routes, Ipv4Address destination)
    {
        Route? best = null;
        foreach (Route r in routes)
        {
            if (r.Destination.Contains(destination) && (best is null || r.Destination.PrefixLength > best.Value.Destination.PrefixLength))
            {
                best = r;
            }
        }
        return best;
    }

    [Fact]
    public void LongestPrefixWins_AndNextHopIsGatewayOrDestination()
    {
        var table = new RouteTable();
        table.Add(new Route(Ipv4Cidr.Parse("0.0.0.0/0"), s_gateway));
        table.Add(new Route(Ipv4Cidr.Parse("10.0.0.0/8"), Ipv4Address.Any, InterfaceIndex: 1));
        table.Add(new Route(Ipv4Cidr.Parse("10.1.0.0/16"), Ipv4Address.Parse("10.0.0.254"), InterfaceIndex: 2));
        table.Add(new Route(Ipv4Cidr.Parse("10.1.2.3/32"), Ipv4Address.Any, InterfaceIndex: 3));

        Assert.True(table.TryLookup(Ipv4Address.Parse("8.8.8.8"), out RouteMatch m));
        Assert.Equal(s_gateway, m.NextHop);
        Assert.Equal(0, m.Route.Destination.PrefixLength);

        Assert.True(table.TryLookup(Ipv4Address.Parse("10.9.9.9"), out m));
        Assert.Equal(Ipv4Address.Parse("10.9.9.9"), m.NextHop); // on-link: ARP for the destination itself
        Assert.Equal(1, m.InterfaceIndex);

        Assert.True(table.TryLookup(Ipv4Address.Parse("10.1.200.1"), out m));
        Assert.Equal(Ipv4Address.Parse("10.0.0.254"), m.NextHop);
        Assert.Equal(2, m.InterfaceIndex);

        Assert.True(table.TryLookup(Ipv4Address.Parse("10.1.2.3"), out m));
        Assert.Equal(3, m.InterfaceIndex);
        Assert.Equal(0, table.Misses);
    }

    [Fact]
    public void WithoutDefaultRoute_UncoveredDestinationMissesAndIsCounted()
    {
        var table = new RouteTable();
        table.Add(new Route(Ipv4Cidr.Parse("192.168.1.0/24"), Ipv4Address.Any));
        Assert.False(table.TryLookup(Ipv4Address.Parse("192.168.2.1"), out _));
        Assert.Equal(1, table.Misses);
    }

    [Fact]
    public void Remove_FallsBackToLessSpecificRoute()
    {
        var table = new RouteTable();
        table.Add(new Route(Ipv4Cidr.Parse("0.0.0.0/0"), s_gateway));
        table.Add(new Route(Ipv4Cidr.Parse("172.16.0.0/12"), Ipv4Address.Any));
        Assert.True(table.Remove(Ipv4Cidr.Parse("172.16.0.0/12")));
        Assert.False(table.Remove(Ipv4Cidr.Parse("172.16.0.0/12")));
        Assert.True(table.TryLookup(Ipv4Address.Parse("172.20.1.1"), out RouteMatch m));
        Assert.Equal(s_gateway, m.NextHop);
        Assert.True(table.Remove(Ipv4Cidr.Parse("0.0.0.0/0")));
        Assert.False(table.TryLookup(Ipv4Address.Parse("172.20.1.1"), out _));
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void HostBitsAreIgnored_AndSamePrefixReplaces()
    {
        var table = new RouteTable();
        Assert.Equal(RouteAddResult.Added, table.Add(new Route(Ipv4Cidr.Parse("10.1.2.3/8"), Ipv4Address.Any)));
        Assert.Equal(RouteAddResult.Replaced, table.Add(new Route(Ipv4Cidr.Parse("10.0.0.0/8"), s_gateway)));
        Assert.Equal(1, table.Count);
        Assert.True(table.TryLookup(Ipv4Address.Parse("10.200.0.1"), out RouteMatch m));
        Assert.Equal(s_gateway, m.NextHop);
        Assert.Equal(Ipv4Cidr.Parse("10.0.0.0/8"), m.Route.Destination);
        Assert.True(table.Remove(Ipv4Cidr.Parse("10.9.9.9/8")));
    }

    [Fact]
    public void FullTable_RefusesNewPrefixesAndCounts_ButStillReplaces()
    {
        var table = new RouteTable(maxRoutes: 2);
        table.Add(new Route(Ipv4Cidr.Parse("10.0.0.0/8"), Ipv4Address.Any));
        table.Add(new Route(Ipv4Cidr.Parse("11.0.0.0/8"), Ipv4Address.Any));
        Assert.Equal(RouteAddResult.TableFull, table.Add(new Route(Ipv4Cidr.Parse("12.0.0.0/8"), Ipv4Address.Any)));
        Assert.Equal(1, table.RefusedFull);
        Assert.False(table.TryLookup(Ipv4Address.Parse("12.0.0.1"), out _));
        Assert.Equal(RouteAddResult.Replaced, table.Add(new Route(Ipv4Cidr.Parse("11.0.0.0/8"), s_gateway)));
        Assert.Equal(1, table.RefusedFull);
    }

    [Fact]
    public void NonUnicastGateway_IsAConfigurationError()
    {
        var table = new RouteTable();
        Assert.Throws<ArgumentException>(() => table.Add(new Route(Ipv4Cidr.Parse("10.0.0.0/8"), Ipv4Address.Broadcast)));
    }

    [Fact]
    public void LookupMatchesBruteForce_UnderRandomAddsAndRemoves_Property()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<int>(), seed =>
        {
            var random = new Random(seed);
            int capacity = random.Next(1, 200);
            var table = new RouteTable(capacity);
            var reference = new List<Route>();
            // Few distinct networks so that prefixes nest, collide and get replaced and removed.
            uint[] bases = new uint[8];
            for (int i = 0; i < bases.Length; i++)
            {
                bases[i] = (uint)random.NextInt64(0, 1L << 32);
            }
            for (int op = 0; op < 400; op++)
            {
                uint address = bases[random.Next(bases.Length)] ^ (uint)(random.Next(4) == 0 ? random.NextInt64(0, 1L << 32) : random.Next(0, 256));
                var cidr = new Ipv4Cidr(new Ipv4Address(address), random.Next(0, 33));
                var network = new Ipv4Cidr(cidr.Network, cidr.PrefixLength);
                if (random.Next(3) == 0)
                {
                    bool had = reference.RemoveAll(r => r.Destination == network) > 0;
                    if (table.Remove(cidr) != had)
                    {
                        return false;
                    }
                }
                else
                {
                    var route = new Route(cidr, random.Next(2) == 0 ? Ipv4Address.Any : new Ipv4Address(0x0A00_0000u | (uint)random.Next(1, 1 << 24)), random.Next(4));
                    int existing = reference.FindIndex(r => r.Destination == network);
                    RouteAddResult result = table.Add(route);
                    RouteAddResult expected = existing >= 0 ? RouteAddResult.Replaced : reference.Count == capacity ? RouteAddResult.TableFull : RouteAddResult.Added;
                    if (result != expected)
                    {
                        return false;
                    }
                    if (existing >= 0)
                    {
                        reference[existing] = route with { Destination = network };
                    }
                    else if (result == RouteAddResult.Added)
                    {
                        reference.Add(route with { Destination = network });
                    }
                }
                for (int q = 0; q < 8; q++)
                {
                    var destination = new Ipv4Address(bases[random.Next(bases.Length)] ^ (uint)(random.Next(2) == 0 ? random.Next(0, 1 << 12) : random.NextInt64(0, 1L << 32)));
                    Route? want = BruteForce(reference, destination);
                    bool found = table.TryLookup(destination, out RouteMatch got);
                    if (found != want.HasValue || (found && (got.Route != want!.Value || got.NextHop != (want.Value.IsOnLink ? destination : want.Value.Gateway))))
                    {
                        return false;
                    }
                }
            }
            return table.Count == reference.Count;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Lookup_DoesNotAllocate()
    {
        var table = new RouteTable();
        var random = new Random(7);
        for (int i = 0; i < 1000; i++)
        {
            table.Add(new Route(new Ipv4Cidr(new Ipv4Address((uint)random.NextInt64(0, 1L << 32)), random.Next(8, 33)), Ipv4Address.Any));
        }
        uint k = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() => table.TryLookup(new Ipv4Address(k++ * 2_654_435_761u), out _)));
    }
}
