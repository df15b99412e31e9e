using Skiff.Devices;

namespace Skiff.Core.Tests.Devices;

public class ImpairedDeviceTests
{
    private const int ManyFrames = 100_000;

    [Fact]
    public void DefaultOptionsPassEveryFrameUnchangedAndInOrder()
    {
        using ImpairHarness h = new(new ImpairmentOptions());
        h.Send(0, 500);
        List<int> ids = [];
        while (h.TryTakeSent(out PacketBuffer? b))
        {
            Assert.Equal(0, ImpairHarness.BitsChanged(b, ImpairHarness.IdOf(b)));
            ids.Add(ImpairHarness.IdOf(b));
            b.Free();
        }
        Assert.Equal(Enumerable.Range(0, 500), ids);
        Assert.Equal(500, h.Device.TransmitCounters.Passed);
        Assert.Equal(Instant.Never, h.Device.PollAt());
        Assert.Equal(0, h.Device.HeldFrames);
        h.AssertNoLeak();
    }

    [Fact]
    public void LossOfTenPercentDropsBetweenNineAndElevenPercentAndFreesWhatItDrops()
    {
        using ImpairHarness h = new(new ImpairmentOptions { LossProbability = 0.10, Seed = 7 });
        int delivered = 0;
        for (int i = 0; i < ManyFrames; i += 50)
        {
            h.Send(i, 50);
            delivered += h.DrainSentIds().Count;
            Assert.Equal(0, h.Pool.InUse);
        }
        ImpairmentCounters c = h.Device.TransmitCounters;
        Assert.InRange(c.Lost, 9_000, 11_000);
        Assert.Equal(ManyFrames, c.Lost + c.Passed);
        Assert.Equal(c.Passed, delivered);
        h.AssertNoLeak();
    }

    [Fact]
    public void DuplicationOfTenPercentSendsIdenticalCopiesRightAfterTheOriginal()
    {
        using ImpairHarness h = new(new ImpairmentOptions { DuplicateProbability = 0.10, Seed = 11 });
        List<int> ids = [];
        for (int i = 0; i < ManyFrames; i += 50)
        {
            h.Send(i, 50);
            while (h.TryTakeSent(out PacketBuffer? b))
            {
                int id = ImpairHarness.IdOf(b);
                Assert.Equal(0, ImpairHarness.BitsChanged(b, id));
                ids.Add(id);
                b.Free();
            }
        }
        ImpairmentCounters c = h.Device.TransmitCounters;
        Assert.InRange(c.Duplicated, 9_000, 11_000);
        Assert.Equal(ManyFrames + c.Duplicated, ids.Count);
        int repeats = 0;
        for (int i = 1; i < ids.Count; i++)
        {
            Assert.True(ids[i] == ids[i - 1] || ids[i] == ids[i - 1] + 1, $"frame {ids[i]} after {ids[i - 1]}");
            repeats += ids[i] == ids[i - 1] ? 1 : 0;
        }
        Assert.Equal(c.Duplicated, repeats);
        h.AssertNoLeak();
    }

    [Fact]
    public void DuplicateIsSkippedAndCountedWhenThePoolIsEmpty()
    {
        using ImpairHarness h = new(new ImpairmentOptions { DuplicateProbability = 1.0 }, poolFrames: 8);
        h.Send(0, 8); // the burst takes every frame of the pool, so no copy can be made
        Assert.Equal(8, h.Device.TransmitCounters.DuplicateSkippedNoBuffer);
        Assert.Equal(0, h.Device.TransmitCounters.Duplicated);
        Assert.Equal(Enumerable.Range(0, 8), h.DrainSentIds());

        h.Send(100, 4); // now half the pool is free: every frame gets its copy
        Assert.Equal(4, h.Device.TransmitCounters.Duplicated);
        Assert.Equal([100, 100, 101, 101, 102, 102, 103, 103], h.DrainSentIds());
        h.AssertNoLeak();
    }

    [Fact]
    public void CorruptionOfTenPercentFlipsExactlyOneBitInEachCorruptedFrameAndClearsItsChecksumState()
    {
        // On receive, after a device that verified checksums: the stack must not trust a corrupted frame.
        const ChecksumState Verified = ChecksumState.IpVerified | ChecksumState.L4Verified;
        using ImpairHarness h = new(
            new ImpairmentOptions { Directions = ImpairmentDirections.Receive, CorruptProbability = 0.10, Seed = 3 },
            receiveChecksum: Verified);
        PacketBuffer[] rx = new PacketBuffer[32];
        int oneBit = 0;
        int expectedId = 0;
        for (int i = 0; i < ManyFrames; i += 50)
        {
            for (int j = 0; j < 50; j++)
            {
                h.SendFromPeer(ImpairHarness.MakeFrame(h.Pool, i + j, 64));
            }
            for (int n; (n = h.Device.ReceiveBurst(rx, h.Clock.Now)) > 0;)
            {
                for (int k = 0; k < n; k++)
                {
                    // The id bytes may be the corrupted ones, so compare against the id the frame must have.
                    int bits = ImpairHarness.BitsChanged(rx[k], expectedId++);
                    Assert.InRange(bits, 0, 1);
                    Assert.Equal(bits == 1 ? ChecksumState.None : Verified, rx[k].Checksum);
                    oneBit += bits;
                    rx[k].Free();
                }
            }
        }
        Assert.Equal(ManyFrames, expectedId);
        Assert.Equal(h.Device.ReceiveCounters.Corrupted, oneBit);
        Assert.InRange(oneBit, 9_000, 11_000);
        h.AssertNoLeak();
    }

    [Fact]
    public void CorruptionReachesEveryBitOfTheFrame()
    {
        using ImpairHarness h = new(new ImpairmentOptions { CorruptProbability = 1.0, Seed = 5 });
        const int LengthBytes = 16;
        int[] hits = new int[LengthBytes * 8];
        Span<byte> expected = stackalloc byte[LengthBytes];
        for (int i = 0; i < 12_800; i++)
        {
            h.Send(i, 1, LengthBytes);
            Assert.True(h.TryTakeSent(out PacketBuffer? b));
            ImpairHarness.Fill(expected, i);
            for (int bit = 0; bit < hits.Length; bit++)
            {
                if (((expected[bit >> 3] ^ b.Data[bit >> 3]) & (1 << (bit & 7))) != 0)
                {
                    hits[bit]++;
                }
            }
            b.Free();
        }
        Assert.Equal(12_800, hits.Sum());
        // 100 expected per bit; a uniform choice stays well within these bounds.
        Assert.All(hits, n => Assert.InRange(n, 50, 160));
        h.AssertNoLeak();
    }

    [Fact]
    public void CorruptSkipBytesSparesTheFrameHeadAndStillFlipsOneBitBehindIt()
    {
        using ImpairHarness h = new(new ImpairmentOptions { CorruptProbability = 1.0, CorruptSkipBytes = 14, Seed = 6 });
        const int LengthBytes = 20;
        int[] hits = new int[LengthBytes * 8];
        Span<byte> expected = stackalloc byte[LengthBytes];
        for (int i = 0; i < 4_800; i++)
        {
            h.Send(i, 1, LengthBytes);
            Assert.True(h.TryTakeSent(out PacketBuffer? b));
            ImpairHarness.Fill(expected, i);
            for (int bit = 0; bit < hits.Length; bit++)
            {
                if (((expected[bit >> 3] ^ b.Data[bit >> 3]) & (1 << (bit & 7))) != 0)
                {
                    hits[bit]++;
                }
            }
            b.Free();
        }
        Assert.Equal(4_800, hits.Sum());
        Assert.All(hits[..(14 * 8)], n => Assert.Equal(0, n));
        // 100 expected for each of the 48 bits behind the skipped head.
        Assert.All(hits[(14 * 8)..], n => Assert.InRange(n, 50, 160));
        h.AssertNoLeak();
    }

    [Fact]
    public void CorruptOnlyEtherTypeLeavesOtherFramesAlone()
    {
        using ImpairHarness h = new(new ImpairmentOptions { CorruptProbability = 1.0, CorruptOnlyEtherType = 0x0800, Seed = 8 });
        byte[] expected = new byte[60];
        int changedIp = 0, changedOther = 0;
        for (int i = 0; i < 200; i++)
        {
            // Even frames are IPv4 (0x0800), odd ones ARP (0x0806).
            PacketBuffer frame = ImpairHarness.MakeFrame(h.Pool, i, 60);
            frame.Data[12] = 0x08;
            frame.Data[13] = (byte)(i % 2 == 0 ? 0x00 : 0x06);
            frame.Data.CopyTo(expected);
            Assert.Equal(1, h.Device.TransmitBurst([frame], h.Clock.Now));
            Assert.True(h.TryTakeSent(out PacketBuffer? b));
            bool changed = !b.Data.SequenceEqual(expected);
            if (i % 2 == 0)
            {
                changedIp += changed ? 1 : 0;
            }
            else
            {
                changedOther += changed ? 1 : 0;
            }
            b.Free();
        }
        Assert.Equal(100, changedIp);
        Assert.Equal(0, changedOther);
        Assert.Equal(100, h.Device.TransmitCounters.Corrupted);
        h.AssertNoLeak();
    }

    [Fact]
    public void SameSeedGivesTheSameOutcomesAndAnotherSeedDoesNot()
    {
        ImpairmentOptions options = new()
        {
            Seed = 42, LossProbability = 0.05, DuplicateProbability = 0.05, CorruptProbability = 0.05,
            ReorderProbability = 0.05, Delay = Duration.FromMicros(200), Jitter = Duration.FromMicros(150),
        };
        List<(int, int, long)> first = Run(options);
        List<(int, int, long)> second = Run(options);
        List<(int, int, long)> other = Run(options with { Seed = 43 });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);

        static List<(int Id, int Bits, long AtMicros)> Run(ImpairmentOptions options)
        {
            using ImpairHarness h = new(options);
            List<(int, int, long)> outcome = [];
            for (int i = 0; i < 5_000; i += 5)
            {
                h.Send(i, 5);
                h.Clock.Advance(Duration.FromMicros(37));
                h.Device.Flush(h.Clock.Now);
                while (h.TryTakeSent(out PacketBuffer? b))
                {
                    outcome.Add((ImpairHarness.IdOf(b), System.Numerics.BitOperations.PopCount((uint)b.Data[^1]), h.Clock.Now.TotalMicros));
                    b.Free();
                }
            }
            foreach ((int id, Instant at) in h.RunUntilIdle())
            {
                outcome.Add((id, -1, at.TotalMicros));
            }
            Assert.True(h.Device.TransmitCounters.Lost > 0 && h.Device.TransmitCounters.Reordered > 0);
            h.AssertNoLeak();
            return outcome;
        }
    }

    [Fact]
    public void DelayHoldsAFrameUntilItIsDueAndReleasesItExactlyThen()
    {
        using ImpairHarness h = new(new ImpairmentOptions { Delay = Duration.FromMillis(5) });
        h.Clock.Advance(Duration.FromMillis(1));
        h.Send(0, 1);
        Assert.Equal(0, h.Peer.ReceivePending);
        Assert.Equal(Instant.FromMillis(6), h.Device.PollAt());
        Assert.Equal(1, h.Device.TransmitCounters.Delayed);

        h.Device.Flush(Instant.FromMillis(6) - Duration.FromMicros(1));
        Assert.Equal(0, h.Peer.ReceivePending);

        // A later transmit also releases what is due, ahead of the new frame (which is delayed in turn).
        h.Clock.AdvanceTo(Instant.FromMillis(6));
        h.Send(1, 1);
        Assert.Equal([0], h.DrainSentIds());
        Assert.Equal(Instant.FromMillis(11), h.Device.PollAt());
        Assert.Equal([(1, Instant.FromMillis(11))], h.RunUntilIdle());
        h.AssertNoLeak();
    }

    [Fact]
    public void JitterSpreadsDelayUniformlyWithinItsBoundsAndMayReorder()
    {
        using ImpairHarness h = new(new ImpairmentOptions { Delay = Duration.FromMillis(10), Jitter = Duration.FromMillis(3), Seed = 9, QueueLimitFrames = 5_000 });
        h.Send(0, 2_000);
        List<(int Id, Instant At)> released = h.RunUntilIdle();

        Assert.Equal(2_000, released.Count);
        Assert.All(released, r => Assert.InRange(r.At.TotalMicros, 7_000, 13_000));
        Assert.InRange(released.Count(r => r.At < Instant.FromMillis(10)), 900, 1_100);
        Assert.True(released.Min(r => r.At) < Instant.FromMillis(7) + Duration.FromMicros(100));
        Assert.True(released.Max(r => r.At) > Instant.FromMillis(13) - Duration.FromMicros(100));
        Assert.NotEqual(Enumerable.Range(0, 2_000), released.Select(r => r.Id));
        h.AssertNoLeak();
    }

    [Fact]
    public void JitterKeepsOrderVariesLatencyWithoutReordering()
    {
        ImpairmentOptions options = new() { Delay = Duration.FromMillis(10), Jitter = Duration.FromMillis(3), JitterKeepsOrder = true, Seed = 9 };
        using ImpairHarness h = new(options);
        List<(int Id, Instant At)> released = [];
        for (int i = 0; i < 200; i++)
        {
            released.AddRange(h.RunUntil(new Instant(i * 100L)));
            h.Send(i, 1);
        }
        released.AddRange(h.RunUntilIdle());

        Assert.Equal(Enumerable.Range(0, 200), released.Select(r => r.Id));
        // A frame never leaves before the one ahead of it, and that one left within 13 ms of being sent earlier.
        Assert.All(released, r => Assert.InRange((r.At - new Instant(r.Id * 100L)).TotalMicros, 7_000, 13_000));
        Assert.True(released.Select(r => (r.At - new Instant(r.Id * 100L)).TotalMicros).Distinct().Count() > 10, "latency should vary");
        h.AssertNoLeak();
    }

    [Fact]
    public void RateLimitReleasesTheConfiguredBytesPerSecond()
    {
        const long Rate = 1_000_000;
        using ImpairHarness h = new(new ImpairmentOptions { RateBytesPerSecond = Rate, QueueLimitFrames = 5_000 });
        h.Send(0, 2_000, lengthBytes: 1_000);
        long bytes = 0;
        while (h.Device.PollAt() <= Instant.FromMillis(1_000))
        {
            h.Clock.AdvanceTo(h.Device.PollAt());
            h.Device.Flush(h.Clock.Now);
            while (h.TryTakeSent(out PacketBuffer? b))
            {
                bytes += b.Length;
                b.Free();
            }
        }
        // One bucket (1514 bytes) may go at once, then the rate: about 1,001,000 bytes in the first second.
        Assert.InRange(bytes, Rate * 98 / 100, Rate * 102 / 100);
        Assert.Equal(2_000 - (bytes / 1_000), h.Device.HeldFrames);
        Assert.Equal(0, h.Device.TransmitCounters.DroppedQueueFull);
        h.AssertNoLeak();
    }

    [Fact]
    public void RateLimitHoldsBackToBackFramesAtTheSerializationInterval()
    {
        using ImpairHarness h = new(new ImpairmentOptions { RateBytesPerSecond = 1_000_000, RateBurstBytes = 1_000 });
        h.Send(0, 3, lengthBytes: 500);
        Assert.Equal([0, 1], h.DrainSentIds()); // the full bucket lets 1,000 bytes go at once
        Assert.Equal(new Instant(500), h.Device.PollAt());
        Assert.Equal([(2, new Instant(500))], h.RunUntilIdle());
        h.AssertNoLeak();
    }

    [Fact]
    public void FramesOverTheRateWaitAndThoseBeyondTheQueueLimitAreDroppedAndCounted()
    {
        using ImpairHarness h = new(new ImpairmentOptions { RateBytesPerSecond = 1_000, RateBurstBytes = 100, QueueLimitFrames = 10 });
        // A burst is queued whole before the due frames leave, so the first ten fit and the other fifteen drop.
        h.Send(0, 25);
        Assert.Equal([0], h.DrainSentIds());
        Assert.Equal(9, h.Device.HeldFrames);
        Assert.Equal(15, h.Device.TransmitCounters.DroppedQueueFull);
        List<(int Id, Instant At)> released = h.RunUntilIdle();
        Assert.Equal(Enumerable.Range(1, 9), released.Select(r => r.Id));
        Assert.Equal(Enumerable.Range(1, 9).Select(i => new Instant(i * 100_000L)), released.Select(r => r.At)); // 100 bytes at 1,000 B/s
        h.AssertNoLeak();
    }

    [Fact]
    public void QueueLimitDropsDelayedFramesBeyondItAndKeepsTheRest()
    {
        using ImpairHarness h = new(new ImpairmentOptions { Delay = Duration.FromMillis(1), QueueLimitFrames = 8 });
        h.Send(0, 20);
        Assert.Equal(8, h.Device.HeldFrames);
        Assert.Equal(12, h.Device.TransmitCounters.DroppedQueueFull);
        Assert.Equal(Enumerable.Range(0, 8), h.RunUntilIdle().Select(r => r.Id));
        Assert.Equal(8, h.Device.TransmitCounters.Passed);
        h.AssertNoLeak();
    }

    [Fact]
    public void ReorderSendsAHeldFrameExactlyGapFramesLateAndLosesNothing()
    {
        const int Gap = 3;
        const int Frames = 20_000;
        using ImpairHarness h = new(new ImpairmentOptions { ReorderProbability = 0.10, ReorderGapFrames = Gap, Seed = 21 });
        List<int> ids = [];
        for (int i = 0; i < Frames; i += 20)
        {
            h.Send(i, 20);
            ids.AddRange(h.DrainSentIds());
        }
        ids.AddRange(h.RunUntilIdle().Select(r => r.Id)); // the last held frames leave after ReorderMaxHold

        Assert.Equal(Enumerable.Range(0, Frames), ids.Order());
        int late = 0;
        for (int position = 0; position < ids.Count; position++)
        {
            // Every smaller id left earlier, so position - id is how many later frames overtook this one.
            int overtakenBy = position - ids[position];
            if (overtakenBy > 0)
            {
                late++;
                Assert.True(overtakenBy == Gap || position >= Frames - 50, $"frame {ids[position]} overtaken by {overtakenBy}");
            }
        }
        Assert.Equal(h.Device.TransmitCounters.Reordered, late);
        Assert.InRange(late, 1_600, 2_400);
        h.AssertNoLeak();
    }

    [Fact]
    public void AHeldFrameWithoutFollowersLeavesAfterReorderMaxHold()
    {
        using ImpairHarness h = new(new ImpairmentOptions { ReorderProbability = 1.0, ReorderMaxHold = Duration.FromMillis(2) });
        h.Send(0, 1);
        Assert.Equal(0, h.Peer.ReceivePending);
        Assert.Equal(Instant.FromMillis(2), h.Device.PollAt());
        h.Device.Flush(Instant.FromMillis(2) - Duration.FromMicros(1));
        Assert.Equal(0, h.Peer.ReceivePending);
        Assert.Equal([(0, Instant.FromMillis(2))], h.RunUntilIdle());
        Assert.Equal(0, h.Device.TransmitCounters.Reordered); // nothing overtook it
        h.AssertNoLeak();
    }

    [Fact]
    public void FramesTheInnerDeviceRefusesStayQueuedInOrder()
    {
        using ImpairHarness h = new(new ImpairmentOptions { CorruptProbability = 0.0, Directions = ImpairmentDirections.Transmit }, linkCapacity: 4);
        h.Send(0, 10); // the link takes four; the wrapper keeps the rest and still accepts all ten
        Assert.Equal(6, h.Device.HeldFrames);
        Assert.True(h.Device.PollAt() <= h.Clock.Now);
        Assert.Equal([0, 1, 2, 3], h.DrainSentIds());
        h.Device.Flush(h.Clock.Now);
        Assert.Equal([4, 5, 6, 7], h.DrainSentIds());
        h.Send(10, 2);
        Assert.Equal([8, 9, 10, 11], h.DrainSentIds());
        Assert.Equal(0, h.Device.HeldFrames);
        Assert.Equal(12, h.Device.TransmitCounters.Passed);
        h.AssertNoLeak();
    }

    [Fact]
    public void DirectionThatIsNotImpairedPassesStraightThroughWithBackpressure()
    {
        using ImpairHarness h = new(new ImpairmentOptions { Directions = ImpairmentDirections.Receive, LossProbability = 1.0 }, linkCapacity: 2);
        PacketBuffer[] burst = [ImpairHarness.MakeFrame(h.Pool, 0), ImpairHarness.MakeFrame(h.Pool, 1), ImpairHarness.MakeFrame(h.Pool, 2)];
        Assert.Equal(2, h.Device.TransmitBurst(burst, h.Clock.Now));
        burst[2].Free();
        Assert.Equal([0, 1], h.DrainSentIds());
        Assert.Equal(2, h.Device.TransmitCounters.Passed);
        h.AssertNoLeak();
    }

    [Fact]
    public void ReceiveImpairmentsDelayInboundFramesAndStampTheirArrival()
    {
        using ImpairHarness h = new(new ImpairmentOptions { Directions = ImpairmentDirections.Receive, Delay = Duration.FromMillis(3) });
        for (int i = 0; i < 40; i++)
        {
            h.SendFromPeer(ImpairHarness.MakeFrame(h.Pool, i));
        }
        PacketBuffer[] rx = new PacketBuffer[16];
        Assert.Equal(0, h.Device.ReceiveBurst(rx, h.Clock.Now));
        Assert.Equal(0, h.Inner.ReceivePending); // pulled in at once, so each frame's delay runs from its real arrival
        Assert.Equal(Instant.FromMillis(3), h.Device.PollAt());

        h.Device.Flush(Instant.FromMillis(3)); // flush does not move received frames: only ReceiveBurst returns them
        Assert.Equal(0, h.Device.ReceiveBurst(rx, Instant.FromMillis(3) - Duration.FromMicros(1)));
        List<int> ids = [];
        for (int n; (n = h.Device.ReceiveBurst(rx, Instant.FromMillis(3))) > 0;)
        {
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(Instant.FromMillis(3), rx[i].Timestamp);
                ids.Add(ImpairHarness.IdOf(rx[i]));
                rx[i].Free();
            }
        }
        Assert.Equal(Enumerable.Range(0, 40), ids);
        Assert.Equal(40, h.Device.ReceiveCounters.Passed);
        Assert.Equal(0, h.Device.TransmitCounters.Passed);
        h.AssertNoLeak();
    }

    [Fact]
    public void DisposeFreesEveryHeldFrameInBothDirections()
    {
        using ImpairHarness h = new(new ImpairmentOptions
        {
            Directions = ImpairmentDirections.Both, Delay = Duration.FromMillis(50), ReorderProbability = 0.3, DuplicateProbability = 0.3, Seed = 1,
        }, poolFrames: 256);
        for (int i = 0; i < 20; i++)
        {
            h.SendFromPeer(ImpairHarness.MakeFrame(h.Pool, 100 + i));
        }
        h.Send(0, 20);
        Assert.Equal(0, h.Device.ReceiveBurst(new PacketBuffer[8], h.Clock.Now));
        Assert.True(h.Device.HeldFrames > 40, "duplicates should be held too");
        Assert.Equal(h.Device.HeldFrames, h.Pool.InUse);

        h.Device.Dispose();
        h.Device.Dispose();
        Assert.Equal(0, h.Pool.InUse);
        Assert.Throws<ObjectDisposedException>(() => h.Device.Flush(h.Clock.Now));
    }

    [Fact]
    public void TransmitCorruptionTurnsOffTransmitChecksumOffload()
    {
        DeviceCapabilities offloads = new(TxChecksum: ChecksumOffloads.All, RxChecksum: ChecksumOffloads.All);
        using ImpairHarness plain = new(new ImpairmentOptions { LossProbability = 0.5 }, poolFrames: 8, capabilities: offloads);
        using ImpairHarness corrupting = new(new ImpairmentOptions { CorruptProbability = 0.01 }, poolFrames: 8, capabilities: offloads);
        Assert.Equal(ChecksumOffloads.All, plain.Device.Capabilities.TxChecksum);
        Assert.Equal(ChecksumOffloads.None, corrupting.Device.Capabilities.TxChecksum);
        Assert.Equal(ChecksumOffloads.All, corrupting.Device.Capabilities.RxChecksum);
    }

    [Fact]
    public void SteadyStateTrafficAllocatesNothing()
    {
        using ImpairHarness h = new(new ImpairmentOptions
        {
            Directions = ImpairmentDirections.Both, LossProbability = 0.05, DuplicateProbability = 0.05, CorruptProbability = 0.05,
            ReorderProbability = 0.05, Delay = Duration.FromMicros(300), Jitter = Duration.FromMicros(100), RateBytesPerSecond = 100_000_000,
        });
        PacketBuffer[] burst = new PacketBuffer[16];
        PacketBuffer[] rx = new PacketBuffer[16];
        long allocated = Skiff.TestSupport.Allocations.LeastPerRound(() => RunTraffic(1), warmup: 5_000, rounds: 5, perRound: 4_000);
        Assert.Equal(0, allocated);
        h.AssertNoLeak();

        void RunTraffic(int rounds)
        {
            for (int r = 0; r < rounds; r++)
            {
                h.Pool.AllocateBurst(burst);
                for (int i = 0; i < burst.Length; i++)
                {
                    burst[i].TryAppend(200);
                }
                h.Device.TransmitBurst(burst, h.Clock.Now);
                while (h.TryTakeSent(out PacketBuffer? b))
                {
                    h.SendFromPeer(b); // loop back through the receive impairments
                }
                for (int n; (n = h.Device.ReceiveBurst(rx, h.Clock.Now)) > 0;)
                {
                    h.Pool.FreeBurst(rx.AsSpan(0, n));
                }
                h.Clock.Advance(Duration.FromMicros(50));
            }
        }
    }

    [Theory]
    [InlineData(nameof(ImpairmentOptions.LossProbability))]
    [InlineData(nameof(ImpairmentOptions.CorruptProbability))]
    [InlineData(nameof(ImpairmentOptions.Delay))]
    [InlineData(nameof(ImpairmentOptions.ReorderGapFrames))]
    [InlineData(nameof(ImpairmentOptions.QueueLimitFrames))]
    [InlineData(nameof(ImpairmentOptions.RateBytesPerSecond))]
    [InlineData(nameof(ImpairmentOptions.Directions))]
    public void ImpossibleOptionsAreRejected(string which)
    {
        ImpairmentOptions bad = which switch
        {
            nameof(ImpairmentOptions.LossProbability) => new() { LossProbability = double.NaN },
            nameof(ImpairmentOptions.CorruptProbability) => new() { CorruptProbability = 1.5 },
            nameof(ImpairmentOptions.Delay) => new() { Delay = Duration.FromMicros(-1) },
            nameof(ImpairmentOptions.ReorderGapFrames) => new() { ReorderGapFrames = 0 },
            nameof(ImpairmentOptions.QueueLimitFrames) => new() { QueueLimitFrames = 0 },
            nameof(ImpairmentOptions.RateBytesPerSecond) => new() { RateBytesPerSecond = -5 },
            _ => new() { Directions = (ImpairmentDirections)4 },
        };
        using PacketPool pool = new(8);
        (InMemoryDevice end, _) = InMemoryLink.CreatePair(pool, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImpairedDevice(end, bad));
    }
}
