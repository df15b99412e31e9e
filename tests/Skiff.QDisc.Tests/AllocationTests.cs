using Skiff.QDisc.Spec;
using Skiff.TestSupport;

namespace Skiff.QDisc.Tests;

/// <summary>Steady state allocates nothing: enqueue and dequeue of every qdisc, drops and CoDel's control law included.</summary>
public sealed class AllocationTests
{
    [Theory]
    [InlineData("pfifo limit 100")]
    [InlineData("bfifo limit 100000")]
    [InlineData("pfifo_fast")]
    [InlineData("prio bands 4 priomap 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3")]
    [InlineData("tbf rate 1gbit burst 64kb latency 10ms")]
    [InlineData("codel limit 100")]
    [InlineData("fq_codel limit 100")]
    [InlineData("HTB")]
    public void Enqueue_and_dequeue_allocate_nothing(string spec)
    {
        using TestFrames f = new(512);
        QueueDiscipline q = spec == "HTB"
            ? QDiscSpec.ParseFile("htb default 20\nclass 1 rate 1gbit\nclass 10 parent 1 rate 500mbit ceil 1gbit qdisc fq_codel\nclass 20 parent 1 rate 500mbit ceil 1gbit\nfilter 10 mark 1").Build()
            : QDiscSpec.Parse(spec).Build();
        PacketBuffer[] frames = [.. Enumerable.Range(0, 200).Select(i => f.Udp(1000, flow: i % 37, tos: (byte)(i % 4 * 8)))];
        for (int i = 0; i < frames.Length; i += 3)
        {
            frames[i].Mark = 1;
        }
        Stack<PacketBuffer> spare = new(256);
        foreach (PacketBuffer b in frames)
        {
            spare.Push(b);
        }
        long micros = 1_000_000;
        int k = 0;
        long bytes = Allocations.LeastPerRound(() =>
        {
            // Three in, one out per millisecond: the queue fills to its limit and drops, and CoDel's sojourn times grow.
            Instant now = new(micros += 1000);
            for (int i = 0; i < 3 && spare.Count > 0; i++)
            {
                q.Enqueue(spare.Pop(), now); // a frame the qdisc drops is freed; fresh ones come from the pool below
            }
            while ((k++ & 1) == 0 && q.Dequeue(now) is PacketBuffer out1)
            {
                spare.Push(out1);
            }
            while (spare.Count < 100 && f.Pool.TryAllocate(out PacketBuffer? fresh))
            {
                fresh.TrySetLength(1000);
                frames[0].Data.CopyTo(fresh.Data);
                spare.Push(fresh);
            }
        }, warmup: 3000, rounds: 5, perRound: 2000);
        Assert.Equal(0, bytes);
        q.Reset();
        while (spare.Count > 0)
        {
            spare.Pop().Free();
        }
    }
}
