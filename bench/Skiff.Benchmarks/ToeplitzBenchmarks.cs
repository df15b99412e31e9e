using BenchmarkDotNet.Attributes;
using Skiff.Wire;

namespace Skiff.Benchmarks;

/// <summary>Nanoseconds per RSS Toeplitz hash of a 4-tuple (12 bytes for IPv4, 36 for IPv6).</summary>
[MemoryDiagnoser]
public class ToeplitzBenchmarks
{
    private readonly ToeplitzHash _hash = new();
    private readonly Ipv4Address _source4 = new(66, 9, 149, 187);
    private readonly Ipv4Address _destination4 = new(161, 142, 100, 80);
    private readonly Ipv6Address _source6 = Ipv6Address.Parse("3ffe:2501:200:1fff::7");
    private readonly Ipv6Address _destination6 = Ipv6Address.Parse("3ffe:2501:200:3::1");
    private readonly byte[] _tuple6 = new byte[36];

    [Benchmark]
    public uint Ipv4FourTuple() => _hash.HashIpv4(_source4, _destination4, 2794, 1766);

    [Benchmark]
    public uint Ipv6FourTuple() => _hash.HashIpv6(_source6, _destination6, 2794, 1766);

    [Benchmark]
    public uint Ipv6FourTupleFromBytes() => _hash.Hash(_tuple6);
}
