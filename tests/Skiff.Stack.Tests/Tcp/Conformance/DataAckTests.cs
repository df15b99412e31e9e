using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>ESTABLISHED data transfer: delayed ACK, Nagle, zero window and persist, receive window (RFC 9293 3.8, RFC 1122 4.2.3).</summary>
public sealed class DataAckTests
{
    [Fact]
    public void SingleSegmentIsAckedAfterTheDelayedAckTimeoutNotBefore()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        Instant arrived = h.Now;
        peer.SendData(TcpHarness.Bytes(s.SendMss));
        Assert.Empty(h.Poll());
        Assert.Empty(h.PollAt(arrived + Duration.FromMillis(39)));
        EmittedSegment ack = Assert.Single(h.PollAt(arrived + Duration.FromMillis(40)));
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Empty(h.PollAt(arrived + Duration.FromMillis(200)));
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void EverySecondFullSegmentIsAckedAtOnce()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        for (int pair = 0; pair < 3; pair++)
        {
            peer.SendData(TcpHarness.Bytes(s.SendMss));
            Assert.Empty(h.Dispatch());
            peer.SendData(TcpHarness.Bytes(s.SendMss));
            EmittedSegment ack = h.DispatchOne(); // RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3
            Assert.Equal(peer.Nxt, ack.Ack);
        }
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ReadingASmallRequestLetsTheWindowUpdateRideOnTheReply()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(h.Layer.Listen(TcpHarness.ServerPort), peer);
        int scale = SynAckWindowScale(h);
        peer.SendData(TcpHarness.Bytes(97));
        Assert.Empty(h.Dispatch());
        Assert.Equal(97, s.Receive(new byte[200])); // opens the SYN-ACK's 64 KiB window by far more than an MSS
        Assert.Empty(h.Dispatch()); // no pure window update: the sender still has room

        s.Send(TcpHarness.Bytes(200, 2));
        EmittedSegment reply = h.DispatchOne();
        Assert.Equal(200, reply.Length);
        Assert.Equal(peer.Nxt, reply.Ack);
        Assert.True(reply.Repr.WindowLength << scale > 2 * 65_535, $"window {reply.Repr.WindowLength} << {scale}");
        Assert.Empty(h.PollAt(h.Now + Duration.FromMillis(100)));
        Assert.Equal(0L, s.Counters.PureAcksSent);
        peer.AckAll([reply]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AWindowUpdateNobodyCarriesGoesAtTheDelayedAckTimeout()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(h.Layer.Listen(TcpHarness.ServerPort), peer);
        int scale = SynAckWindowScale(h);
        Instant arrived = h.Now;
        peer.SendData(TcpHarness.Bytes(97));
        s.Receive(new byte[200]);
        Assert.Empty(h.Poll());
        Assert.Empty(h.PollAt(arrived + Duration.FromMillis(39)));
        EmittedSegment ack = Assert.Single(h.PollAt(arrived + Duration.FromMillis(40)));
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.True(ack.Repr.WindowLength << scale > 2 * 65_535);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ReadingAFullSizedSegmentStillUpdatesTheWindowAtOnce()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(h.Layer.Listen(TcpHarness.ServerPort), peer);
        peer.SendData(TcpHarness.Bytes(s.SendMss));
        Assert.Empty(h.Dispatch());
        s.Receive(new byte[s.SendMss]);
        EmittedSegment update = h.DispatchOne(); // a bulk transfer keeps its prompt ACKs
        Assert.Equal(peer.Nxt, update.Ack);
        Assert.True(update.Repr.WindowLength << SynAckWindowScale(h) > 2 * 65_535);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ABulkReadAfterTheAckStillUpdatesTheWindowAtOnce()
    {
        // The AF_PACKET pattern: a burst arrives, its ACKs go out before the application reads, then it reads it all.
        // The sender sees the reopened window only through an update; waiting for the next ACK halved its throughput.
        using TcpHarness h = new();
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(h.Layer.Listen(TcpHarness.ServerPort), peer);
        peer.SendData(TcpHarness.Bytes(s.SendMss));
        peer.SendData(TcpHarness.Bytes(s.SendMss, 2));
        EmittedSegment ack = h.DispatchOne(); // every second full segment
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(2 * s.SendMss, s.Receive(new byte[4 * s.SendMss]));
        EmittedSegment update = h.DispatchOne();
        Assert.Equal(peer.Nxt, update.Ack);
        Assert.True(update.Repr.WindowLength > ack.Repr.WindowLength);
        h.AssertAllReleased(peer);
    }

    private static int SynAckWindowScale(TcpHarness h) =>
        h.AllSent.Single(x => x.Flags == (TcpFlags.Syn | TcpFlags.Ack)).Repr.WindowScale ?? 0;

    [Fact]
    public void DelayedAckCanBeTurnedOff()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        h.OpenActive(peer, new TcpConfig { DelayedAck = false });
        peer.SendData(TcpHarness.Bytes(10));
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void NagleHoldsASmallSegmentWhileDataIsUnacknowledged()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        s.Send(TcpHarness.Bytes(100, 1));
        EmittedSegment first = h.DispatchOne(); // nothing in flight: goes at once
        Assert.Equal(100, first.Length);
        s.Send(TcpHarness.Bytes(100, 2));
        s.Send(TcpHarness.Bytes(100, 3));
        Assert.Empty(h.Dispatch()); // RFC 9293 3.7.4: held while the first is unacknowledged

        peer.AckAll([first]);
        EmittedSegment second = h.DispatchOne(); // the held bytes coalesce into one segment
        Assert.Equal(first.Seq + 100, second.Seq);
        Assert.Equal(200, second.Length);
        peer.AckAll([second]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void WithoutNagleASmallSegmentGoesAtOnce()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        s.Send(TcpHarness.Bytes(100, 1));
        EmittedSegment first = h.DispatchOne();
        s.Send(TcpHarness.Bytes(100, 2));
        EmittedSegment second = h.DispatchOne();
        Assert.Equal(first.Seq + 100, second.Seq);
        peer.AckAll([first, second]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ZeroWindowIsProbedWithBackoffAndReopeningResumesSending()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        h.Deliver(peer.AckSegment(window: 0));
        s.Send(TcpHarness.Bytes(3000));
        Assert.Empty(h.Dispatch());
        Instant start = h.Now;
        Duration rto = s.RetransmissionTimeout;

        // RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17: probe at RTO, then back off exponentially.
        List<Duration> probeTimes = new();
        for (int i = 0; i < 4; i++)
        {
            Instant next = h.Layer.PollAt(h.Now);
            Assert.True(next > h.Now);
            List<EmittedSegment> sent = h.PollAt(next);
            EmittedSegment probe = Assert.Single(sent);
            Assert.Equal(TcpFlags.Ack, probe.Flags);
            Assert.Equal(peer.RcvNxt - 1, probe.Seq); // SND.UNA - 1: the peer must answer with its window
            Assert.Empty(probe.Payload);
            probeTimes.Add(next - start);
            h.Deliver(peer.AckSegment(window: 0)); // still closed
            Assert.Empty(h.Dispatch());
        }
        Assert.Equal([rto, rto * 3, rto * 7, rto * 15], probeTimes);
        Assert.Equal(TcpState.Established, s.State);
        Assert.Equal(4L, s.Counters.WindowProbes);

        h.Deliver(peer.AckSegment(window: 100)); // 100 << 7 bytes
        List<EmittedSegment> data = h.Dispatch();
        Assert.Equal(peer.RcvNxt, data[0].Seq);
        Assert.Equal(2 * s.SendMss, data.Sum(x => x.Length)); // the small tail waits for Nagle
        peer.AckAll(data, window: 100);
        EmittedSegment tail = h.DispatchOne();
        Assert.Equal(3000 - (2 * s.SendMss), tail.Length);
        peer.AckAll([tail]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ReceiveWindowRightEdgeNeverMovesLeft()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpConfig config = new() { ReceiveBufferBytes = 60_000, DelayedAck = false };
        TcpSocket s = h.OpenActive(peer, config); // fits the window field unscaled: shift 0
        uint edge = peer.Nxt + 60_000;
        int accepted = 0, read = 0, zeroWindows = 0;
        for (int i = 0; i < 120; i++)
        {
            int room = (int)(edge - peer.Nxt);
            if (room > 0)
            {
                int queued = s.ReceiveQueued;
                peer.SendData(TcpHarness.Bytes(Math.Min(1000, room), i)); // taken whole, or copied into the tail buffer
                Assert.Equal(queued + Math.Min(1000, room), s.ReceiveQueued);
                accepted += Math.Min(1000, room);
            }
            foreach (EmittedSegment a in h.Dispatch())
            {
                uint right = a.Ack + a.Repr.WindowLength;
                Assert.True((int)(right - edge) >= 0, $"right edge moved left: {right} < {edge} at step {i}");
                edge = right;
                zeroWindows += a.Repr.WindowLength == 0 ? 1 : 0;
            }
            if (i % 7 == 3)
            {
                read += s.Receive(new byte[300]); // a slow reader
            }
        }
        Assert.True(zeroWindows > 0, "the window never closed");
        Assert.Equal(accepted - read, s.ReceiveQueued);
        Assert.True(s.ReceiveQueued <= 60_000);

        // A segment past the advertised edge is not taken beyond it.
        int before = s.ReceiveQueued;
        peer.SendData(TcpHarness.Bytes(1000));
        Assert.True(s.ReceiveQueued - before <= Math.Max(0, (int)(edge - (peer.Nxt - 1000))));
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void DataAgainstAClosedWindowIsAnsweredWithAnAckAtOnce()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_001);
        TcpConfig config = new() { ReceiveBufferBytes = 8192 }; // delayed ACKs stay on: the answer must not wait
        TcpSocket s = h.OpenActive(peer, config);
        // Fill the whole buffer without the application reading: the window closes.
        for (int i = 0; i < 8; i++)
        {
            peer.SendData(TcpHarness.Bytes(1024, i));
        }
        h.Dispatch();
        Assert.Equal(8192, s.ReceiveQueued);

        // RFC 9293 3.8.6.1: a one-byte window probe at RCV.NXT cannot be taken, but must be ACKed at once
        // with the (still zero) window, not after the delayed-ACK timer.
        peer.SendData(TcpHarness.Bytes(1, 99));
        List<EmittedSegment> answer = h.Dispatch();
        EmittedSegment ack = Assert.Single(answer);
        Assert.Equal(TcpFlags.Ack, ack.Repr.Flags);
        Assert.Equal(0, ack.Repr.WindowLength);
        Assert.Equal(8192, s.ReceiveQueued);
        h.AssertAllReleased(peer);
    }
}
