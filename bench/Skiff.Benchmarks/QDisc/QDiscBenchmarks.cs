using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Skiff.QDisc;
using Skiff.QDisc.Spec;
using Skiff.Wire;

namespace Skiff.Benchmarks.QDisc;

/// <summary>
/// Per-frame cost of one enqueue plus one dequeue for each qdisc, with 1, 64 and 4096 active flows (UDP source ports):
/// 1024 classified 1514-byte frames go in, then 1024 come out, at one instant (shapers have a bucket big enough that
/// none waits, so the cost measured is the bookkeeping, not the waiting). pfifo is the anchor: a queue and nothing else.
/// Zero allocation is checked by the MemoryDiagnoser column (and by QDisc.Tests' allocation test).
/// </summary>
[MemoryDiagnoser]
public class QDiscBenchmarks
{
    private const int Frames = 1024;

    private PacketPool _pool = null!;
    private readonly PacketBuffer[] _frames = new PacketBuffer[Frames];
    private QueueDiscipline _q = null!;
    private long _now = 1_000_000;

    [Params("pfifo", "prio", "tbf", "fq_codel", "htb")]
    public string Kind { get; set; } = "";

    [Params(1, 64, 4096)]
    public int Flows { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _pool = new PacketPool(Frames + 64);
        for (int i = 0; i < Frames; i++)
        {
            _pool.TryAllocate(out PacketBuffer? b);
            b!.TrySetLength(1514);
            Span<byte> d = b.Data;
            d.Clear();
            BinaryPrimitives.WriteUInt16BigEndian(d[12..], 0x0800);
            d[14] = 0x45;
            BinaryPrimitives.WriteUInt16BigEndian(d[16..], 1500);
            d[22] = 64;
            d[23] = 17;
            BinaryPrimitives.WriteUInt32BigEndian(d[26..], 0x0A000001);
            BinaryPrimitives.WriteUInt32BigEndian(d[30..], 0x0A000002);
            BinaryPrimitives.WriteUInt16BigEndian(d[34..], (ushort)(1024 + i % Flows));
            BinaryPrimitives.WriteUInt16BigEndian(d[36..], 9);
            PacketClassifier.Classify(b); // the egress stage's frames come classified from the TX hooks or once here
            _frames[Frames - 1 - i] = b;
        }
        // With 4096 flows and 1024 frames per round, each round touches a different quarter of the flows.
        Array.Sort(_frames, (a, b) => a.Index.CompareTo(b.Index));
        _q = Kind switch
        {
            "pfifo" => FifoQDisc.Packets(Frames),
            "prio" => PrioQDisc.Create(bandLimit: Frames), // a round fits in one band: a drop would free a frame the next round reuses
            "tbf" => new TbfQDisc(new Rate(100_000_000_000), 4 << 20, 4 << 20),
            "fq_codel" => new FqCodelQDisc(),
            _ => QDiscSpec.ParseFile("htb default 20\nclass 1 rate 100gbit burst 4mb cburst 4mb\nclass 10 parent 1 rate 50gbit ceil 100gbit burst 2mb cburst 4mb\n" +
                "class 20 parent 1 rate 50gbit ceil 100gbit burst 2mb cburst 4mb qdisc pfifo limit 2000\nfilter 10 mark 1").Build(),
        };
    }

    [Benchmark(OperationsPerInvoke = Frames)]
    public int EnqueueDequeue()
    {
        Instant now = new(_now += 1_000_000); // a second later each round: every shaper's bucket is full again
        foreach (PacketBuffer f in _frames)
        {
            _q.Enqueue(f, now);
        }
        int n = 0;
        while (_q.Dequeue(now) is not null)
        {
            n++;
        }
        return n;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (PacketBuffer f in _frames)
        {
            f.Free();
        }
        _pool.Dispose();
    }
}
