using BenchmarkDotNet.Attributes;
using Skiff.Forwarding;
using Skiff.Stack.Ipv4;
using Skiff.Wire;

namespace Skiff.Benchmarks;

/// <summary>
/// ns per IPv4 longest-prefix-match lookup (issue 17): the forwarder's DIR-24-8 table (<see cref="Ipv4LpmTable"/>, DPDK
/// rte_lpm's shape) against the stack's own trie (<see cref="RouteTable"/>, the anchor) on the same routes and
/// addresses. Routes: random prefixes of random lengths /8 to /32 plus a default route; 65,536 lookup addresses, half
/// inside a route's prefix and half anywhere, visited in random order (as dpdk-test-fib's random lookups), so the
/// first level's 64 MiB is read where the addresses fall, not from one warm cache line.
/// Run: dotnet run -c Release --project bench/Skiff.Benchmarks -- --filter '*LpmBenchmarks*'
/// </summary>
public class LpmBenchmarks
{
    private const int Lookups = 65_536;
    private readonly uint[] _addresses = new uint[Lookups];
    private Ipv4LpmTable _lpm = null!;
    private RouteTable _trie = null!;

    [Params(16, 1_000, 100_000)]
    public int Routes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        Random random = new(1);
        _lpm = new Ipv4LpmTable(maxGroups: 65_536);
        _trie = new RouteTable(Routes + 1);
        _lpm.Add(new Ipv4Cidr(Ipv4Address.Any, 0), 0);
        _trie.Add(new Route(new Ipv4Cidr(Ipv4Address.Any, 0), Ipv4Address.Parse("10.0.0.1")));
        List<Ipv4Cidr> networks = [];
        while (networks.Count < Routes)
        {
            Ipv4Cidr cidr = new(new Ipv4Address((uint)random.NextInt64(0, 1L << 32)), random.Next(8, 33));
            if (_trie.Add(new Route(cidr, Ipv4Address.Any)) == RouteAddResult.Added && _lpm.Add(cidr, (uint)networks.Count + 1))
            {
                networks.Add(cidr);
            }
        }
        for (int i = 0; i < Lookups; i++)
        {
            Ipv4Cidr n = networks[random.Next(networks.Count)];
            uint host = (uint)random.NextInt64(0, 1L << 32) & ~n.Netmask;
            _addresses[i] = i % 2 == 0 ? n.Network.Value | host : (uint)random.NextInt64(0, 1L << 32);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _lpm.Dispose();

    [Benchmark(OperationsPerInvoke = Lookups)]
    public uint Dir24_8()
    {
        uint sum = 0;
        Ipv4LpmTable lpm = _lpm;
        foreach (uint a in _addresses)
        {
            lpm.TryLookup(a, out uint hop);
            sum += hop;
        }
        return sum;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Lookups)]
    public int StackRouteTrie()
    {
        int sum = 0;
        RouteTable trie = _trie;
        foreach (uint a in _addresses)
        {
            if (trie.TryLookup(new Ipv4Address(a), out RouteMatch m))
            {
                sum += (int)m.NextHop.Value;
            }
        }
        return sum;
    }
}
