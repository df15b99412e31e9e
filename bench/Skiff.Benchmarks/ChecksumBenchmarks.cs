using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Skiff.Wire;

namespace Skiff.Benchmarks;

/// <summary>
/// Internet checksum throughput next to a memcpy of the same bytes (the floor for touching them once).
/// Ratio column: checksum time / memcpy time. The scalar row is the previous 8-bytes-per-step loop.
/// </summary>
[MemoryDiagnoser]
public class ChecksumBenchmarks
{
    private byte[] _source = [];
    private byte[] _destination = [];

    [Params(64, 576, 1500, 9000)]
    public int SizeBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _source = new byte[SizeBytes];
        _destination = new byte[SizeBytes];
        new Random(42).NextBytes(_source);
    }

    [Benchmark(Baseline = true)]
    public void Memcpy() => _source.AsSpan().CopyTo(_destination);

    [Benchmark]
    public uint Checksum() => Skiff.Wire.Checksum.Accumulate(_source);

    [Benchmark]
    public uint ChecksumScalar() => ScalarAccumulate(_source);

    private static uint ScalarAccumulate(ReadOnlySpan<byte> data)
    {
        ulong acc = 0;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
        {
            ulong w = BinaryPrimitives.ReadUInt64LittleEndian(data[i..]);
            acc += (w & 0xFFFF_FFFF) + (w >> 32);
        }
        ulong sum = BinaryPrimitives.ReverseEndianness((ushort)Skiff.Wire.Checksum.Fold32(acc));
        for (; i + 2 <= data.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        }
        return Skiff.Wire.Checksum.Fold32(sum);
    }
}
