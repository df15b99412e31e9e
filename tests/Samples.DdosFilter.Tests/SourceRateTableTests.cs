using DdosFilter;

namespace Samples.DdosFilter.Tests;

public sealed class SourceRateTableTests
{
    [Fact]
    public void A_source_gets_its_burst_then_its_rate()
    {
        SourceRateTable table = new(1024, rate: 100, burst: 10, seed: 7);
        const uint Source = 0x0A00_0001;
        int allowed = 0;
        for (int i = 0; i < 50; i++)
        {
            allowed += table.TryTake(Source, 1_000_000) ? 1 : 0; // 50 at once: the burst passes
        }
        Assert.Equal(10, allowed);
        // One second later, 100 more tokens, but the bucket holds 10.
        allowed = 0;
        for (int i = 0; i < 50; i++)
        {
            allowed += table.TryTake(Source, 2_000_000) ? 1 : 0;
        }
        Assert.Equal(10, allowed);
        // Then one packet every 10 ms is exactly the rate: all pass, for 5 s.
        allowed = 0;
        for (int i = 1; i <= 500; i++)
        {
            allowed += table.TryTake(Source, 2_000_000 + i * 10_000L) ? 1 : 0;
        }
        Assert.Equal(500, allowed);
        // Twice the rate: about half pass.
        allowed = 0;
        for (int i = 1; i <= 1000; i++)
        {
            allowed += table.TryTake(Source, 7_000_000 + i * 5_000L) ? 1 : 0;
        }
        Assert.InRange(allowed, 495, 515);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void A_million_spoofed_sources_never_grow_the_table()
    {
        SourceRateTable table = new(4096, rate: 10, burst: 10, seed: 11);
        Random random = new(5);
        for (int i = 0; i < 1_000_000; i++)
        {
            Assert.True(table.TryTake((uint)random.Next(), 1_000_000 + i));
        }
        Assert.Equal(4096, table.Capacity);
        Assert.Equal(4096, table.Count);
        Assert.Equal(4096, table.Inserted);
        // Every new source past the first 4096 replaced one (a few random sources repeat while still in the table).
        Assert.InRange(table.Evicted, 1_000_000 - 4096 - 2000, 1_000_000 - 4096);
    }

    [Fact]
    public void A_flood_of_new_sources_evicts_the_quiet_entries_not_the_busiest_attackers()
    {
        SourceRateTable table = new(1024, rate: 10, burst: 10, seed: 3);
        // Four attackers in one set (found by the table's own hash), each sending 1000 packets.
        int target = table.SetOf(0x0A00_0000);
        uint[] attackers = [.. SameSet(table, target, 0x0A00_0000, 4)];
        for (int i = 0; i < 1000; i++)
        {
            foreach (uint a in attackers)
            {
                table.TryTake(a, 1_000_000 + i);
            }
        }
        // 10,000 spoofed one-packet sources aimed at that same set.
        foreach (uint s in SameSet(table, target, 0xC000_0000, 10_000))
        {
            Assert.True(table.TryTake(s, 1_002_000)); // a new source starts with a full bucket
        }
        // Three of the four attackers keep their entries (and empty buckets); only one way churns under the flood.
        int kept = attackers.Count(a => table.TryGet(a, out uint hits) && hits >= 1000);
        Assert.Equal(3, kept);
        Assert.Equal(3, attackers.Count(a => !table.TryTake(a, 1_002_001))); // still limited
    }

    [Fact]
    public void An_idle_entry_decays_and_gives_way()
    {
        SourceRateTable table = new(1024, rate: 10, burst: 10, decayMicros: 1_000_000, seed: 9);
        uint[] set = [.. SameSet(table, table.SetOf(0x0A00_0000), 0x0A00_0000, 6)];
        // Four busy sources; one of them (set[0]) then goes quiet for 20 s while the others keep sending a little.
        for (int i = 0; i < 500; i++)
        {
            for (int s = 0; s < 4; s++)
            {
                table.TryTake(set[s], 1_000_000 + i);
            }
        }
        for (int t = 1; t <= 20; t++)
        {
            for (int s = 1; s < 4; s++)
            {
                table.TryTake(set[s], 1_000_000 + t * 1_000_000L);
            }
        }
        // A newcomer, then a second one: the idle entry (500 >> 20 = 0) goes first, then the newcomer (1 packet).
        table.TryTake(set[4], 21_000_001);
        Assert.False(table.TryGet(set[0], out _));
        Assert.True(table.TryGet(set[4], out _));
        table.TryTake(set[5], 21_000_002);
        Assert.False(table.TryGet(set[4], out _));
        Assert.True(table.TryGet(set[1], out _) && table.TryGet(set[2], out _) && table.TryGet(set[3], out _));
    }

    [Fact]
    public void The_steady_state_allocates_nothing()
    {
        SourceRateTable table = new(65536, rate: 1000, burst: 1000);
        uint source = 1;
        long now = 0;
        Assert.Equal(0, Allocations.LeastPerRound(() => table.TryTake(source++ * 2654435761u, now += 3)));
    }

    /// <summary>The first <paramref name="count"/> addresses from <paramref name="start"/> on that fall into <paramref name="set"/>.</summary>
    private static IEnumerable<uint> SameSet(SourceRateTable table, int set, uint start, int count)
    {
        for (uint a = start; count > 0; a++)
        {
            if (table.SetOf(a) == set)
            {
                count--;
                yield return a;
            }
        }
    }
}
