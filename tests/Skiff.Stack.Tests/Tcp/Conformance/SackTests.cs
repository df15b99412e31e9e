using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>ESTABLISHED with loss: SACK (RFC 2018), SACK-based recovery (RFC 6675) and fast retransmit (RFC 5681).</summary>
public sealed class SackTests
{
    private static (uint Left, uint Right)[] Blocks(in EmittedSegment s)
    {
        var blocks = new (uint, uint)[s.Repr.SackBlocks.Count];
        for (int i = 0; i < blocks.Length; i++)
        {
            blocks[i] = s.Repr.SackBlocks[i];
        }
        return blocks;
    }

    [Fact]
    public void OutOfOrderSegmentsProduceSackBlocksMostRecentFirst()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        uint n = peer.Nxt;

        Assert.True(peer.SendDataAt(n + 1000, TcpHarness.Bytes(100)));
        EmittedSegment a1 = h.DispatchOne(); // out of order: ACKed at once (RFC 5681 4.2)
        Assert.Equal(n, a1.Ack);
        Assert.Equal([(n + 1000, n + 1100)], Blocks(a1));

        Assert.True(peer.SendDataAt(n + 3000, TcpHarness.Bytes(100)));
        Assert.Equal([(n + 3000, n + 3100), (n + 1000, n + 1100)], Blocks(h.DispatchOne()));

        // RFC 2018 4: the first block holds the most recent segment, and reports the whole run it joined.
        Assert.True(peer.SendDataAt(n + 1100, TcpHarness.Bytes(100)));
        Assert.Equal([(n + 1000, n + 1200), (n + 3000, n + 3100)], Blocks(h.DispatchOne()));

        // Filling the first hole moves RCV.NXT over the held run; the block for it disappears.
        Assert.True(peer.SendDataAt(n, TcpHarness.Bytes(1000)));
        EmittedSegment a4 = h.DispatchOne();
        Assert.Equal(n + 1200, a4.Ack);
        Assert.Equal([(n + 3000, n + 3100)], Blocks(a4));
        Assert.Equal(1200, s.ReceiveQueued);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SenderRetransmitsExactlyTheHolesSackReports()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(10 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(10, flight.Count);
        Assert.All(flight, x => Assert.Equal(mss, x.Length));
        uint una = flight[0].Seq;

        // Segments 0 and 3 are lost; the peer SACKs the others as they arrive.
        List<EmittedSegment> retransmitted = new();
        HashSet<int> sacked = new();
        foreach (int arrived in new[] { 1, 2, 4, 5, 6, 7, 8, 9 })
        {
            sacked.Add(arrived);
            TcpSackBlocks blocks = default;
            uint right = flight[arrived].Seq + (uint)mss;
            if (arrived >= 4)
            {
                blocks.TryAdd(flight[4].Seq, right); // the most recent block first (RFC 2018 4)
                blocks.TryAdd(flight[1].Seq, flight[3].Seq);
            }
            else
            {
                blocks.TryAdd(flight[1].Seq, right);
            }
            peer.Observe(flight[arrived]);
            h.Deliver(peer.AckSegment(ack: una) with { SackBlocks = blocks });
            foreach (EmittedSegment r in h.Dispatch())
            {
                int index = flight.FindIndex(f => f.Seq == r.Seq);
                Assert.True(index >= 0, $"{r} starts at no original segment");
                Assert.DoesNotContain(index, sacked); // RFC 6675: never resend what the receiver holds
                Assert.Equal(flight[index].Payload, r.Payload);
                retransmitted.Add(r);
            }
        }
        // RFC 6675 NextSeg rule 1: the holes first, lowest first (a later rescue of unSACKed data is allowed).
        Assert.True(retransmitted.Count >= 2);
        Assert.Equal(flight[0].Seq, retransmitted[0].Seq);
        Assert.Equal(flight[3].Seq, retransmitted[1].Seq);
        Assert.Equal(1L, s.Counters.FastRetransmits);

        peer.AckAll(flight);
        Assert.Equal(0, s.SendBufferUsed);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ThreeDuplicateAcksTriggerFastRetransmitWithoutSack()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.SackPermitted = false;
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        h.Deliver(peer.AckSegment()); // the peer's first ACK after the handshake carries its scaled window
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(10 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(10, flight.Count);
        Assert.All(flight, x => Assert.Equal(0, x.Repr.SackBlocks.Count));

        // Segment 0 is lost: each later arrival repeats ACK = SND.UNA (RFC 5681 2, duplicate ACK).
        peer.Observe(flight[1]);
        h.Deliver(peer.AckSegment(ack: flight[0].Seq));
        h.Deliver(peer.AckSegment(ack: flight[0].Seq));
        Assert.Empty(h.Dispatch());
        h.Deliver(peer.AckSegment(ack: flight[0].Seq));
        EmittedSegment fast = h.DispatchOne(); // RFC 5681 3.2 step 2
        Assert.Equal(flight[0].Seq, fast.Seq);
        Assert.Equal(flight[0].Payload, fast.Payload);
        Assert.Equal(1L, s.Counters.FastRetransmits);

        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void OutOfOrderQueueCapIsHonouredAndCounted()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { MaxOutOfOrderSegments = 4 });
        uint n = peer.Nxt;
        for (uint k = 1; k <= 6; k++)
        {
            bool taken = peer.SendDataAt(n + 1000 * k, TcpHarness.Bytes(100));
            Assert.Equal(k <= 4, taken);
        }
        Assert.Equal(4L, s.Counters.OutOfOrderSegments);
        Assert.Equal(2L, s.Counters.DroppedOutOfOrderFull);
        Assert.Equal(4, h.Pool.InUse); // only what the queue holds

        h.Dispatch();
        Assert.True(peer.SendDataAt(n, TcpHarness.Bytes(1000)));
        Assert.Equal(1100, s.ReceiveQueued);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(n + 1100, ack.Ack);
        Assert.Equal(3, ack.Repr.SackBlocks.Count); // 2000, 3000 and 4000 are still held
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void OutOfOrderCapOfAReusedSocketFollowsTheNewConfig()
    {
        using TcpHarness h = new(new TcpLayerOptions { MaxConnections = 1 });
        TcpPeer first = h.Peer(port: 443, localPort: 50_000);
        h.OpenActive(first);
        h.Layer.Get(first.Handle).Abort();
        h.Dispatch();
        h.Layer.Release(first.Handle);
        Assert.Equal(0, h.Layer.ConnectionCount);

        // The same pooled socket, now with a cap of 2 (the pool must not keep the old queue's bound).
        TcpPeer peer = h.Peer(port: 443, localPort: 50_001);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { MaxOutOfOrderSegments = 2, MaxReceiveSegments = 4 });
        uint n = peer.Nxt;
        for (uint k = 1; k <= 3; k++)
        {
            peer.SendDataAt(n + 1000 * k, TcpHarness.Bytes(100));
        }
        Assert.Equal(2L, s.Counters.OutOfOrderSegments);
        Assert.Equal(1L, s.Counters.DroppedOutOfOrderFull);
        h.AssertAllReleased(peer);
    }
}
