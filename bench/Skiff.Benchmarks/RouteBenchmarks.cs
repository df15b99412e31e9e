using BenchmarkDotNet.Attributes;
using Skiff.Stack.Ipv4;
using Skiff.Wire;

namespace Skiff.Benchmarks;

/// <summary>
/// Longest-prefix-match cost of <see cref="RouteTable.TryLookup"/>, per lookup. 16 routes: a host's table
/// (default, a few /8 /16 /24 subnets, host routes: 5 distinct lengths). 1024 routes: random lengths /8 to /32
/// plus a default route, the worst case for a per-length hash (about 25 lengths probed on a miss-heavy walk).
/// Run: dotnet run -c Release --project bench/Skiff.Benchmarks -- --filter '*RouteBenchmarks*' --job short
/// </summary>
[MemoryDiagnoser]
public class RouteBenchmarks
{
    private const int Lookups = 1024;
    private readonly Ipv4Address[] _destinations = new Ipv4Address[Lookups];
    private RouteTable _table = new();

    [Params(16, 1024)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _table = new RouteTable(Routes);
        _table.Add(new Route(new Ipv4Cidr(Ipv4Address.Any, 0), Ipv4Address.Parse("10.0.0.1")));
        int[] hostLengths = [8, 16, 24, 32];
        var networks = new List<Ipv4Cidr>();
        while (_table.Count < Routes)
        {
            int length = Routes <= 16 ? hostLengths[random.Next(hostLengths.Length)] : random.Next(8, 33);
            var cidr = new Ipv4Cidr(new Ipv4Address((uint)random.NextInt64(0, 1L << 32)), length);
            if (_table.Add(new Route(cidr, Ipv4Address.Any)) == RouteAddResult.Added)
            {
                networks.Add(cidr);
            }
        }
        // Half the lookups land inside a random route's prefix, half anywhere (most of those fall to the default).
        for (int i = 0; i < Lookups; i++)
        {
            Ipv4Cidr n = networks[random.Next(networks.Count)];
            uint host = (uint)random.NextInt64(0, 1L << 32) & ~n.Netmask;
            _destinations[i] = i % 2 == 0 ? new Ipv4Address(n.Network.Value | host) : new Ipv4Address((uint)random.NextInt64(0, 1L << 32));
        }
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Lookup()
    {
        int interfaces = 0;
        foreach (Ipv4Address destination in _destinations)
        {
            if (_table.TryLookup(destination, out RouteMatch match))
            {
                interfaces += match.InterfaceIndex + 1;
            }
        }
        return interfaces;
    }
}
