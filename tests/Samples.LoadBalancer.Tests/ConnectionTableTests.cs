namespace Samples.LoadBalancer.Tests;

public sealed class ConnectionTableTests
{
    private static readonly Instant T0 = Instant.FromMillis(1_000);

    private static (ulong A, ulong B, ulong H) Flow(int i)
    {
        uint source = 0x0A00_0000u | (uint)i;
        (ulong a, ulong b) = ConnectionTable.KeyOf(source, 0x0A00_0064, (ushort)(1024 + i % 60000), 80, 6);
        return (a, b, Maglev.FlowHash(source, 0x0A00_0064, (ushort)(1024 + i % 60000), 80, 6));
    }

    [Fact]
    public void AnEntryLivesWhileItSeesPacketsAndExpiresWhenIdle()
    {
        ConnectionTable table = new(64, Duration.FromSeconds(10));
        (ulong a, ulong b, ulong h) = Flow(1);
        table.Set(a, b, h, T0, 2);
        Assert.True(table.TryGet(a, b, h, T0 + Duration.FromSeconds(9), out int backend));
        Assert.Equal(2, backend);
        // The lookup at 9 s restarted its idle time: still there at 18 s, gone at 19 s + 1 µs.
        Assert.True(table.TryGet(a, b, h, T0 + Duration.FromSeconds(18), out _));
        Assert.False(table.TryGet(a, b, h, T0 + Duration.FromSeconds(28) + Duration.FromMicros(1), out _));
        Assert.Equal(0, table.Count(T0 + Duration.FromSeconds(29)));
    }

    [Fact]
    public void AFloodOfFlowsNeverGrowsTheTableAndEvictsTheLongestIdle()
    {
        ConnectionTable table = new(1024, Duration.FromSeconds(60));
        Assert.Equal(1024, table.Capacity);
        (ulong a, ulong b, ulong h) busy = Flow(0);
        table.Set(busy.a, busy.b, busy.h, T0, 1);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        int lostAt = -1;
        for (int i = 1; i <= 100_000; i++)
        {
            (ulong a, ulong b, ulong h) = Flow(i);
            Instant now = T0 + Duration.FromMicros(i);
            table.Set(a, b, h, now, i % 3);
            if (i % 16 == 0 && !table.TryGet(busy.a, busy.b, busy.h, now, out _) && lostAt < 0)
            {
                lostAt = i;
            }
        }
        Assert.Equal(allocated, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(-1, lostAt); // the busy flow, seen every 16 new flows, was never the longest idle
        Assert.Equal(1024, table.Count(T0 + Duration.FromSeconds(1)));
        Assert.True(table.Evictions >= 100_000 - 1024, $"{table.Evictions} evictions");
    }

    [Fact]
    public void ExpiredSlotsAreReusedWithoutEvictingLiveEntries()
    {
        ConnectionTable table = new(8, Duration.FromSeconds(1));
        for (int i = 0; i < 8; i++)
        {
            (ulong a, ulong b, ulong h) = Flow(i);
            table.Set(a, b, h, T0, 0);
        }
        for (int i = 8; i < 16; i++)
        {
            (ulong a, ulong b, ulong h) = Flow(i);
            table.Set(a, b, h, T0 + Duration.FromSeconds(2), 1);
        }
        Assert.Equal(0, table.Evictions);
        Assert.Equal(8, table.Count(T0 + Duration.FromSeconds(2)));
    }

    [Fact]
    public void ABadSizeOrTimeoutIsRefusedWithASentence()
    {
        Assert.Contains("entries", Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionTable(0, Duration.FromSeconds(1))).Message);
        Assert.Contains("idle timeout", Assert.Throws<ArgumentOutOfRangeException>(() => new ConnectionTable(8, Duration.FromMicros(0))).Message);
    }
}
