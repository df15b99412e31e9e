using Skiff.Stack.Arp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Arp;

public sealed class ArpCacheTests : IDisposable
{
    private static readonly Ipv4Address s_peer = Ipv4Address.Parse("192.168.1.20");
    private static readonly Ipv4Address s_other = Ipv4Address.Parse("192.168.1.30");
    private static readonly MacAddress s_peerMac = MacAddress.Parse("02:00:00:00:00:20");
    private static readonly Instant s_t0 = Instant.FromMillis(1_000_000);

    private readonly PacketPool _pool = new(64);
    private readonly PacketBuffer[] _out = new PacketBuffer[16];
    private readonly ArpRequest[] _requests = new ArpRequest[16];

    public void Dispose() => _pool.Dispose();

    private static Instant At(double seconds) => s_t0 + Duration.FromMicros((long)(seconds * 1_000_000));

    private PacketBuffer Packet(byte tag)
    {
        Assert.True(_pool.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TryAppend(1));
        b.Data[0] = tag;
        return b;
    }

    private void FreeOut(int count)
    {
        for (int i = 0; i < count; i++)
        {
            _out[i].Free();
        }
    }

    [Fact]
    public void Unknown_AsksForOneRequest_ThenAtMostOnePerSecond()
    {
        var cache = new ArpCache();
        Assert.Equal(ArpLookupResult.SendRequest, cache.Lookup(s_peer, At(0), out _));
        Assert.Equal(ArpEntryState.Incomplete, cache.GetState(s_peer, out _));
        Assert.Equal(ArpLookupResult.Wait, cache.Lookup(s_peer, At(0.5), out _));
        Assert.Equal(ArpLookupResult.Wait, cache.Lookup(s_peer, At(0.999), out _));
        Assert.Equal(ArpLookupResult.SendRequest, cache.Lookup(s_peer, At(1), out _)); // RFC 1122 2.3.2.1
        Assert.Equal(ArpLookupResult.Wait, cache.Lookup(s_peer, At(1.5), out _));
        // The limit is per destination: another address is not held back.
        Assert.Equal(ArpLookupResult.SendRequest, cache.Lookup(s_other, At(1.5), out _));
        // Poll does not double up a request that Lookup just paid for.
        Assert.Equal(0, cache.Poll(At(1.9), _requests, _out).RequestCount);
    }

    [Fact]
    public void Reply_ReleasesQueuedPacketsOldestFirst()
    {
        var cache = new ArpCache();
        cache.Lookup(s_peer, At(0), out _);
        Assert.True(cache.Enqueue(s_peer, Packet(1)));
        Assert.True(cache.Enqueue(s_peer, Packet(2)));
        int n = cache.Update(s_peer, s_peerMac, At(0.2), createIfMissing: false, _out);
        Assert.Equal(2, n);
        Assert.Equal(new byte[] { 1, 2 }, new[] { _out[0].Data[0], _out[1].Data[0] });
        FreeOut(n);
        Assert.Equal(ArpLookupResult.Found, cache.Lookup(s_peer, At(0.3), out MacAddress mac));
        Assert.Equal(s_peerMac, mac);
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void QueueOverflow_DropsAndFreesTheOldest()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxPendingPerDestination = 3 });
        cache.Lookup(s_peer, At(0), out _);
        for (byte i = 1; i <= 5; i++)
        {
            Assert.True(cache.Enqueue(s_peer, Packet(i)));
        }
        Assert.Equal(2, cache.PendingDroppedOverflow);
        Assert.Equal(3, _pool.InUse);
        int n = cache.Update(s_peer, s_peerMac, At(0.1), false, _out);
        Assert.Equal(new byte[] { 3, 4, 5 }, _out[..n].Select(b => b.Data[0]).ToArray());
        FreeOut(n);
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void Enqueue_WithoutIncompleteEntry_LeavesTheBufferWithTheCaller()
    {
        var cache = new ArpCache();
        PacketBuffer b = Packet(1);
        Assert.False(cache.Enqueue(s_peer, b)); // no Lookup yet
        cache.Update(s_peer, s_peerMac, At(0), createIfMissing: true, _out);
        Assert.False(cache.Enqueue(s_peer, b)); // already Reachable: send it instead
        Assert.True(_pool.IsInUse(b));
        b.Free();
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void MergeRule_UpdatesExistingEntries_CreatesOnlyWhenTargeted()
    {
        // RFC 826: a packet we are not the target of only refreshes what we already have.
        var cache = new ArpCache();
        Assert.Equal(0, cache.Update(s_peer, s_peerMac, At(0), createIfMissing: false, _out));
        Assert.Equal(ArpEntryState.None, cache.GetState(s_peer, out _));
        Assert.Equal(0, cache.Count);

        cache.Update(s_peer, s_peerMac, At(0), createIfMissing: true, _out);
        Assert.Equal(ArpEntryState.Reachable, cache.GetState(s_peer, out MacAddress mac));
        Assert.Equal(s_peerMac, mac);

        MacAddress moved = MacAddress.Parse("02:00:00:00:00:99");
        cache.Update(s_peer, moved, At(1), createIfMissing: false, _out);
        Assert.Equal(ArpLookupResult.Found, cache.Lookup(s_peer, At(1), out mac));
        Assert.Equal(moved, mac);
    }

    [Fact]
    public void InvalidSender_IsRefusedAndCounted()
    {
        var cache = new ArpCache();
        cache.Update(s_peer, MacAddress.Broadcast, At(0), true, _out);
        cache.Update(s_peer, MacAddress.Parse("01:00:5e:00:00:01"), At(0), true, _out);
        cache.Update(s_peer, MacAddress.Zero, At(0), true, _out);
        cache.Update(Ipv4Address.Broadcast, s_peerMac, At(0), true, _out);
        cache.Update(Ipv4Address.Any, s_peerMac, At(0), true, _out);
        Assert.Equal(5, cache.InvalidUpdates);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void UnansweredResolution_RetriesThenHandsPacketsBackAsUnreachable()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxRequests = 3 });
        Assert.Equal(ArpLookupResult.SendRequest, cache.Lookup(s_peer, At(0), out _));
        cache.Enqueue(s_peer, Packet(1));
        cache.Enqueue(s_peer, Packet(2));
        Assert.Equal(At(1), cache.PollAt());

        Assert.Equal(default, cache.Poll(At(0.9), _requests, _out));
        ArpPollResult r = cache.Poll(At(1), _requests, _out);
        Assert.Equal(1, r.RequestCount);
        Assert.Equal(new ArpRequest(s_peer, MacAddress.Broadcast), _requests[0]);
        Assert.Equal(1, cache.Poll(At(2), _requests, _out).RequestCount);
        Assert.Equal(At(3), cache.PollAt());

        r = cache.Poll(At(3), _requests, _out); // three requests, none answered within a second of the last
        Assert.Equal(0, r.RequestCount);
        Assert.Equal(2, r.UnreachableCount);
        Assert.Equal(1, cache.ResolutionFailures);
        Assert.Equal(ArpEntryState.None, cache.GetState(s_peer, out _));
        Assert.Equal(Instant.Never, cache.PollAt());
        FreeOut(r.UnreachableCount); // the caller would send ICMP host unreachable first
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void FailedResolution_FreesWhatTheCallerHasNoRoomFor()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxRequests = 1 });
        cache.Lookup(s_peer, At(0), out _);
        cache.Enqueue(s_peer, Packet(1));
        cache.Enqueue(s_peer, Packet(2));
        ArpPollResult r = cache.Poll(At(1), _requests, Span<PacketBuffer>.Empty);
        Assert.Equal(0, r.UnreachableCount);
        Assert.Equal(2, cache.PendingDroppedUnresolved);
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void ReachableTurnsStale_UseStartsUnicastPoll_SilenceRemovesIt()
    {
        var cache = new ArpCache(new ArpCacheOptions { ReachableTime = Duration.FromSeconds(60), MaxRequests = 2 });
        cache.Update(s_peer, s_peerMac, At(0), true, _out);
        Assert.Equal(At(60), cache.PollAt());
        Assert.Equal(ArpLookupResult.Found, cache.Lookup(s_peer, At(59.9), out _));

        cache.Poll(At(60), _requests, _out);
        Assert.Equal(ArpEntryState.Stale, cache.GetState(s_peer, out _));
        // Stale is still usable, and the first use asks for a unicast poll (RFC 1122 2.3.2.1).
        Assert.Equal(ArpLookupResult.FoundSendRequest, cache.Lookup(s_peer, At(70), out MacAddress mac));
        Assert.Equal(s_peerMac, mac);
        Assert.Equal(ArpLookupResult.Found, cache.Lookup(s_peer, At(70.5), out _));

        ArpPollResult r = cache.Poll(At(71), _requests, _out);
        Assert.Equal(1, r.RequestCount);
        Assert.Equal(new ArpRequest(s_peer, s_peerMac), _requests[0]); // unicast, not broadcast
        cache.Poll(At(72), _requests, _out);
        Assert.Equal(ArpEntryState.None, cache.GetState(s_peer, out _));
        Assert.Equal(1, cache.StaleRemoved);
    }

    [Fact]
    public void ReplyToPoll_MakesTheEntryReachableAgain()
    {
        var cache = new ArpCache();
        cache.Update(s_peer, s_peerMac, At(0), true, _out);
        Assert.Equal(ArpLookupResult.FoundSendRequest, cache.Lookup(s_peer, At(61), out _)); // aged, even without a Poll
        cache.Update(s_peer, s_peerMac, At(61.1), false, _out);
        Assert.Equal(ArpEntryState.Reachable, cache.GetState(s_peer, out _));
        Assert.Equal(0, cache.Poll(At(65), _requests, _out).RequestCount);
        Assert.Equal(At(121.1), cache.PollAt());
    }

    [Fact]
    public void UnusedStaleEntry_IsRemovedAfterStaleTime()
    {
        var cache = new ArpCache(new ArpCacheOptions { ReachableTime = Duration.FromSeconds(60), StaleTime = Duration.FromSeconds(30) });
        cache.Update(s_peer, s_peerMac, At(0), true, _out);
        cache.Poll(At(60), _requests, _out);
        cache.Poll(At(89), _requests, _out);
        Assert.Equal(ArpEntryState.Stale, cache.GetState(s_peer, out _));
        cache.Poll(At(90), _requests, _out);
        Assert.Equal(0, cache.Count);
        Assert.Equal(1, cache.StaleRemoved);
    }

    [Fact]
    public void FullCache_EvictsLeastRecentlyUsed_FreeingItsQueue()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxEntries = 3 });
        Ipv4Address a = Ipv4Address.Parse("10.0.0.1"), b = Ipv4Address.Parse("10.0.0.2"), c = Ipv4Address.Parse("10.0.0.3"), d = Ipv4Address.Parse("10.0.0.4");
        cache.Lookup(a, At(0), out _);
        cache.Enqueue(a, Packet(1));
        cache.Lookup(b, At(0), out _);
        cache.Enqueue(b, Packet(2));
        cache.Update(c, s_peerMac, At(0), true, _out);
        cache.Lookup(a, At(0.5), out _); // a is now more recent than b

        cache.Lookup(d, At(0.6), out _);
        Assert.Equal(3, cache.Count);
        Assert.Equal(1, cache.Evictions);
        Assert.Equal(ArpEntryState.None, cache.GetState(b, out _));
        Assert.Equal(ArpEntryState.Incomplete, cache.GetState(a, out _));
        Assert.Equal(1, cache.PendingDroppedEvicted);
        Assert.Equal(1, _pool.InUse);
        Assert.True(cache.Remove(a));
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void HostileFlood_StaysWithinBounds_AndEveryEntryStillResolves()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxEntries = 64 });
        var random = new Random(42);
        for (int i = 0; i < 10_000; i++)
        {
            var ip = new Ipv4Address(0x0A00_0000u | (uint)random.Next(1, 1 << 20));
            if (random.Next(2) == 0)
            {
                cache.Update(ip, new MacAddress(0x0200_0000_0000UL | (uint)i), At(i * 0.001), true, _out);
            }
            else if (cache.Lookup(ip, At(i * 0.001), out _) is ArpLookupResult.SendRequest or ArpLookupResult.Wait)
            {
                Assert.True(cache.Enqueue(ip, Packet(1)));
            }
            Assert.True(cache.Count <= 64);
            Assert.True(_pool.InUse <= 64 * 3);
        }
        // The index survived thousands of evictions: every live entry is still found.
        cache.Update(s_peer, s_peerMac, At(20), true, _out);
        Assert.Equal(ArpLookupResult.Found, cache.Lookup(s_peer, At(20), out _));
        for (double t = 20; cache.Count > 0 && t < 400; t += 1)
        {
            ArpPollResult r = cache.Poll(At(t), _requests, _out);
            FreeOut(r.UnreachableCount);
        }
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, _pool.InUse);
    }

    [Fact]
    public void PollWithFullRequestSpan_DefersTheRest()
    {
        var cache = new ArpCache();
        cache.Lookup(s_peer, At(0), out _);
        cache.Lookup(s_other, At(0), out _);
        ArpPollResult r = cache.Poll(At(1), _requests.AsSpan(0, 1), _out);
        Assert.Equal(1, r.RequestCount);
        Assert.True(r.HasMore);
        Assert.Equal(At(1), cache.PollAt());
        Assert.Equal(1, cache.Poll(At(1), _requests, _out).RequestCount);
    }

    [Fact]
    public void Update_RequiresRoomForAWholeQueue()
    {
        var cache = new ArpCache(new ArpCacheOptions { MaxPendingPerDestination = 4 });
        Assert.Throws<ArgumentException>(() => cache.Update(s_peer, s_peerMac, At(0), true, new PacketBuffer[3]));
    }

    [Fact]
    public void SteadyState_DoesNotAllocate()
    {
        var cache = new ArpCache();
        void Cycle(int i)
        {
            var ip = new Ipv4Address(0x0A00_0000u | (uint)(i % 2000));
            if (cache.Lookup(ip, At(i * 0.01), out _) is not (ArpLookupResult.Found or ArpLookupResult.FoundSendRequest))
            {
                cache.Enqueue(ip, Packet(1));
                FreeOut(cache.Update(ip, s_peerMac, At(i * 0.01), false, _out));
            }
            cache.Poll(At(i * 0.01), _requests, _out);
        }
        int n = 0;
        Assert.Equal(0, Skiff.TestSupport.Allocations.LeastPerRound(() => Cycle(n++), warmup: 3000, rounds: 5, perRound: 1000));
        Assert.Equal(0, _pool.InUse);
    }
}
