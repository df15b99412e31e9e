using System.Diagnostics;
using Skiff.Devices;

namespace Skiff.Core.Tests.Devices;

public class InMemoryLinkTests
{
    private static PacketBuffer Frame(PacketPool pool, byte fill, int length)
    {
        Assert.True(pool.TryAllocate(out PacketBuffer? b));
        Assert.True(b.TryAppend(length));
        b.Data.Fill(fill);
        return b;
    }

    [Fact]
    public void FramesCrossBothWaysAsTheSameObjectsStampedOnReceive()
    {
        using PacketPool pool = new(frameCount: 16);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool);
        PacketBuffer fromA = Frame(pool, 0xA1, 60);
        PacketBuffer fromB = Frame(pool, 0xB2, 70);
        fromA.Timestamp = Instant.FromMillis(1);
        fromA.Checksum = ChecksumState.L4Verified; // the receiver must not trust what the sender set

        Assert.Equal(1, a.TransmitBurst([fromA], Instant.FromMillis(2)));
        Assert.Equal(1, b.TransmitBurst([fromB], Instant.FromMillis(2)));
        Assert.Equal(1, a.ReceivePending);

        PacketBuffer[] rx = new PacketBuffer[4];
        Assert.Equal(1, b.ReceiveBurst(rx, Instant.FromMillis(5)));
        Assert.Same(fromA, rx[0]); // zero copy
        Assert.Equal(60, rx[0].Length);
        Assert.True(rx[0].Data.IndexOfAnyExcept((byte)0xA1) < 0);
        Assert.Equal(Instant.FromMillis(5), rx[0].Timestamp);
        Assert.Equal(ChecksumState.None, rx[0].Checksum);
        Assert.Equal(0, b.ReceiveBurst(rx.AsSpan(1), Instant.FromMillis(5))); // nothing echoes back
        rx[0].Free();

        Assert.Equal(1, a.ReceiveBurst(rx, Instant.FromMillis(6)));
        Assert.Same(fromB, rx[0]);
        Assert.Equal(Instant.FromMillis(6), rx[0].Timestamp);
        rx[0].Free();
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void ReceiveChecksumOptionEmulatesOffload()
    {
        using PacketPool pool = new(frameCount: 4);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, receiveChecksum: ChecksumState.IpVerified | ChecksumState.L4Verified);
        Assert.Equal(1, a.TransmitBurst([Frame(pool, 1, 40)], Instant.Zero));
        PacketBuffer[] rx = new PacketBuffer[1];
        Assert.Equal(1, b.ReceiveBurst(rx, Instant.Zero));
        Assert.Equal(ChecksumState.IpVerified | ChecksumState.L4Verified, rx[0].Checksum);
        rx[0].Free();
    }

    [Fact]
    public void FullRingTakesWhatFitsInOrderAndTheCallerKeepsTheRest()
    {
        using PacketPool pool = new(frameCount: 16);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, capacity: 4);
        PacketBuffer[] tx = new PacketBuffer[6];
        for (int i = 0; i < tx.Length; i++)
        {
            tx[i] = Frame(pool, (byte)i, 10 + i);
        }

        Assert.Equal(4, a.TransmitBurst(tx, Instant.Zero));
        Assert.Equal(2, a.TxFull);
        Assert.Equal(4, a.TxPackets);
        Assert.Equal(10 + 11 + 12 + 13, a.TxBytes);
        Assert.True(pool.IsInUse(tx[4]) && pool.IsInUse(tx[5])); // still ours: free them
        tx[4].Free();
        tx[5].Free();

        PacketBuffer[] rx = new PacketBuffer[8];
        Assert.Equal(4, b.ReceiveBurst(rx, Instant.Zero));
        for (int i = 0; i < 4; i++)
        {
            Assert.Same(tx[i], rx[i]);
        }
        Assert.Equal(4, b.RxPackets);
        Assert.Equal(10 + 11 + 12 + 13, b.RxBytes);
        Assert.Equal(0, b.TxPackets);
        Assert.Equal(0, a.RxPackets);
        pool.FreeBurst(rx.AsSpan(0, 4));
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void BurstsAreCappedAtMaxBurstWithoutCountingARefusal()
    {
        using PacketPool pool = new(frameCount: 16);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, capabilities: new DeviceCapabilities(MaxBurst: 2));
        PacketBuffer[] tx = [Frame(pool, 1, 1), Frame(pool, 2, 1), Frame(pool, 3, 1)];
        Assert.Equal(2, a.TransmitBurst(tx, Instant.Zero));
        Assert.Equal(0, a.TxFull);
        Assert.Equal(1, a.TransmitBurst(tx.AsSpan(2), Instant.Zero));
        PacketBuffer[] rx = new PacketBuffer[3];
        Assert.Equal(2, b.ReceiveBurst(rx, Instant.Zero));
        Assert.Equal(1, b.ReceiveBurst(rx.AsSpan(2), Instant.Zero));
        Assert.Equal(tx, rx);
        pool.FreeBurst(rx);
    }

    [Fact]
    public void DefaultCapabilitiesAreTheRecordDefaultsNotZeros()
    {
        using PacketPool pool = new(frameCount: 1);
        (InMemoryDevice a, _) = InMemoryLink.CreatePair(pool);
        Assert.Equal(1500, a.Capabilities.MtuBytes);
        Assert.Equal(32, a.Capabilities.MaxBurst);
        Assert.Throws<ArgumentOutOfRangeException>(() => InMemoryLink.CreatePair(pool, capabilities: new DeviceCapabilities()));
        Assert.Throws<ArgumentOutOfRangeException>(() => InMemoryLink.CreatePair(pool, capacity: 1000));
    }

    [Fact]
    public void PerEndPoolsFramesReturnToTheirOwnPool()
    {
        using PacketPool poolA = new(frameCount: 8);
        using PacketPool poolB = new(frameCount: 8);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(poolA, poolB);
        Assert.Same(poolA, a.Pool);
        Assert.Same(poolB, b.Pool);

        Assert.Equal(1, a.TransmitBurst([Frame(a.Pool, 9, 20)], Instant.Zero));
        PacketBuffer[] rx = new PacketBuffer[1];
        Assert.Equal(1, b.ReceiveBurst(rx, Instant.Zero));
        Assert.Same(poolA, rx[0].Pool);
        rx[0].Free(); // B's side frees; the frame goes home to A's pool
        Assert.Equal(0, poolA.InUse);
        Assert.Equal(0, poolB.InUse);
    }

    [Fact]
    public void DiscardPendingFreesFramesLeftInFlight()
    {
        using PacketPool pool = new(frameCount: 8);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool);
        Assert.Equal(3, a.TransmitBurst([Frame(pool, 1, 1), Frame(pool, 2, 1), Frame(pool, 3, 1)], Instant.Zero));
        Assert.Equal(3, pool.InUse);
        Assert.Equal(3, b.DiscardPending());
        Assert.Equal(0, b.RxPackets);
        Assert.Equal(0, pool.InUse);
    }

    [Fact]
    public void OneThreadPerEndMovesEveryFrameIntactInOrder()
    {
        const int Frames = 200_000;
        using PacketPool pool = new(frameCount: 512);
        (InMemoryDevice a, InMemoryDevice b) = InMemoryLink.CreatePair(pool, capacity: 64);
        TimeSpan bound = TimeSpan.FromSeconds(60);
        Stopwatch clock = Stopwatch.StartNew();
        string? error = null;

        Thread sender = new(() =>
        {
            PacketBatch batch = new(32);
            int next = 0;
            while (next < Frames && clock.Elapsed < bound)
            {
                while (!batch.IsFull && next + batch.Count < Frames && pool.TryAllocate(out PacketBuffer? f))
                {
                    f.TryAppend(sizeof(int));
                    BitConverter.TryWriteBytes(f.Data, next + batch.Count);
                    batch.TryAdd(f);
                }
                int sent = a.TransmitBurst(batch.AsSpan(), Instant.Zero);
                batch.RemoveFirst(sent);
                next += sent;
                if (sent == 0)
                {
                    Thread.Yield();
                }
            }
            batch.FreeAll();
        });
        sender.Start();

        PacketBuffer[] rx = new PacketBuffer[32];
        int expected = 0;
        while (expected < Frames && clock.Elapsed < bound)
        {
            int n = b.ReceiveBurst(rx, new Instant(expected));
            for (int i = 0; i < n; i++)
            {
                int value = BitConverter.ToInt32(rx[i].Data);
                if (value != expected && error is null)
                {
                    error = $"frame {expected} arrived as {value}";
                }
                expected++;
                rx[i].Free();
            }
            if (n == 0)
            {
                Thread.Yield();
            }
        }
        Assert.True(sender.Join(bound));
        Assert.Null(error);
        Assert.Equal(Frames, expected);
        Assert.Equal(Frames, a.TxPackets);
        Assert.Equal(Frames, b.RxPackets);
        Assert.Equal(Frames * 4L, b.RxBytes);
        Assert.Equal(0, pool.InUse);
    }
}
