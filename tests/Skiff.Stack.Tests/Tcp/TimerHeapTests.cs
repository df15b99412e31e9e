using Skiff.Stack.Tcp;
using Skiff.Stack.Tcp.Internal;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

/// <summary>The TCP layer's timer heap: earliest first, stale entries skipped, bounded by rebuilding from the live sockets.</summary>
public sealed class TimerHeapTests
{
    private static TcpSocket[] OpenSockets(int count)
    {
        TcpLayerCounters counters = new();
        TcpSocket[] sockets = new TcpSocket[count];
        for (int i = 0; i < count; i++)
        {
            sockets[i] = new TcpSocket(i, counters);
            TcpTuple tuple = new(new Ipv4Address(10, 0, 0, 1), (ushort)(1000 + i), new Ipv4Address(10, 0, 0, 2), 80);
            sockets[i].Open(TcpConfig.Default, tuple, 1460, new SeqNumber(1), 0, Instant.Zero);
        }
        return sockets;
    }

    private static void Arm(TimerHeap heap, TcpSocket[] sockets, int slot, long micros)
    {
        Instant at = new(micros);
        sockets[slot].ArmedAt = at;
        heap.Push(at, slot, sockets[slot].Generation, sockets);
    }

    [Fact]
    public void Entries_come_out_earliest_first_and_stale_ones_are_skipped()
    {
        TcpSocket[] sockets = OpenSockets(4);
        TimerHeap heap = new(4);
        Arm(heap, sockets, 0, 500);
        Arm(heap, sockets, 1, 300);
        Arm(heap, sockets, 2, 900);
        Arm(heap, sockets, 1, 100); // re-armed earlier: its entry at 300 goes stale
        sockets[2].ArmedAt = Instant.Never; // no timer any more: the entry at 900 goes stale
        Assert.Equal(new Instant(100), heap.PeekEarliest(sockets));

        List<(int Slot, long At)> fired = new();
        while (heap.TryPopDue(new Instant(1000), out int slot, out int generation, out Instant at))
        {
            TcpSocket s = sockets[slot];
            if (s.Generation == generation && s.ArmedAt == at)
            {
                fired.Add((slot, at.TotalMicros));
            }
        }
        Assert.Equal([(1, 100), (0, 500)], fired);
        Assert.Equal(0, heap.Count);
        Assert.Equal(Instant.Never, heap.PeekEarliest(sockets));
    }

    [Fact]
    public void A_full_heap_rebuilds_from_the_live_entries_and_keeps_its_order()
    {
        TcpSocket[] sockets = OpenSockets(4);
        TimerHeap heap = new(4); // room for 2 x 4 + 16 entries
        Random random = new(5);
        for (int i = 0; i < 1000; i++)
        {
            // Re-arming earlier every time: each push leaves the socket's previous entry stale.
            int slot = random.Next(4);
            Arm(heap, sockets, slot, 1_000_000 - i);
            Assert.True(heap.Count <= (2 * 4) + 16);
        }
        long previous = 0;
        int live = 0;
        while (heap.TryPopDue(Instant.FromMillis(10_000), out int slot, out int generation, out Instant at))
        {
            Assert.True(at.TotalMicros >= previous);
            previous = at.TotalMicros;
            if (sockets[slot].Generation == generation && sockets[slot].ArmedAt == at)
            {
                live++;
            }
        }
        Assert.Equal(4, live); // one live entry per socket survived every rebuild
    }
}
