using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>
/// Defects a peer can trigger (issue 15): a window of 1 to MSS-1 bytes whose update is lost, a timeout against a
/// closed or tiny window, a receive window larger than the segment-capped queue takes, and Nagle holding data while
/// the socket claims to have work.
/// </summary>
public sealed class RobustnessTests
{
    [Fact]
    public void ATinyWindowWhoseUpdateIsLostIsProbedWithMinOfWindowAndMss()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        // The peer's application is slow: its window shrinks to 512 bytes (field 4 << 7), below one MSS and below
        // half the largest window it offered, so the silly-window rule holds the data.
        h.Deliver(peer.AckSegment(window: 4));
        s.Send(TcpHarness.Bytes(3000));
        Assert.Empty(h.Dispatch());

        // The update that reopens the window is lost. RFC 9293 3.8.6.2.1: an override timeout must send anyway.
        Instant next = h.Layer.PollAt(h.Now);
        Assert.True(next < Instant.Never, "no timer armed: the connection would wait forever");
        Assert.Equal(h.Now + s.RetransmissionTimeout, next);
        EmittedSegment probe = Assert.Single(h.PollAt(next));
        Assert.Equal(peer.RcvNxt, probe.Seq);
        Assert.Equal(512, probe.Length); // min(window, MSS), as Linux's tcp_write_wakeup
        Assert.Equal(1L, s.Counters.WindowProbes);

        // The peer answers the probe with its real window: the rest flows.
        peer.AckAll([probe], window: 1000);
        List<EmittedSegment> rest = h.Dispatch();
        Assert.Equal(3000 - 512, rest.Sum(x => x.Length));
        peer.AckAll(rest, window: 1000);
        Assert.Empty(h.Dispatch());
        Assert.Equal(Instant.Never, h.Layer.PollAt(h.Now)); // all acknowledged: no probe left armed
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ATinyWindowKeepsBeingProbedWhileItStaysTiny()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        h.Deliver(peer.AckSegment(window: 4));
        s.Send(TcpHarness.Bytes(2000));
        Assert.Empty(h.Dispatch());
        int delivered = 0, probes = 0;
        for (int i = 0; i < 10 && delivered < 2000; i++)
        {
            List<EmittedSegment> sent = h.Dispatch();
            if (sent.Count == 0)
            {
                Instant next = h.Layer.PollAt(h.Now);
                Assert.True(next < Instant.Never, "held with no timer armed");
                sent = h.PollAt(next);
                probes++;
            }
            EmittedSegment seg = Assert.Single(sent);
            delivered += seg.Length;
            peer.AckAll([seg], window: 4); // taken, and still only 512 bytes of room
        }
        Assert.Equal(2000, delivered);
        Assert.Equal(3, probes); // 512 + 512 + 512 by the timer; the last 464 fit the window whole and go at once
        h.AssertAllReleased(peer);
    }

    [Theory]
    [InlineData(0, -1)]   // closed: a full segment (RFC 6298 5.4 whatever the window; Linux sends a full MSS then)
    [InlineData(4, 512)]  // 512 bytes, below an MSS and half the largest window: up to the window's end
    public void ATimeoutAgainstAClosedOrTinyWindowStillSendsTheHeadSegment(ushort windowField, int expectedHead)
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        // The timeout's own rules: without RACK-TLP, whose probe would come first (TailLossProbeTests).
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false, RackTlp = false });
        s.Send(TcpHarness.Bytes(3 * s.SendMss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(3, flight.Count);
        // The segments are lost; the peer's only word is a window update that closes or shrinks the window.
        h.Deliver(peer.AckSegment(window: windowField));
        Assert.Empty(h.Dispatch());
        Instant rtoAt = h.Layer.PollAt(h.Now);
        EmittedSegment head = Assert.Single(h.PollAt(rtoAt));
        Assert.Equal(flight[0].Seq, head.Seq);
        Assert.Equal(expectedHead < 0 ? s.SendMss : expectedHead, head.Length);
        Assert.Equal(1L, s.Counters.Retransmissions);

        peer.AckAll([head]);
        int rest = 0;
        for (List<EmittedSegment> more = h.Dispatch(); more.Count > 0; more = h.Dispatch())
        {
            rest += more.Sum(x => x.Length);
            peer.AckAll(more);
        }
        Assert.Equal((3 * s.SendMss) - head.Length, rest);
        h.AssertAllReleased(peer);
    }

    [Theory]
    [InlineData(1100)] // over half a frame: each segment keeps its own frame
    [InlineData(100)]  // small writes: copied into the tail frame
    [InlineData(1)]
    public void AReceiverBoundByItsSegmentCapNeverAdvertisesMoreThanItTakes(int segmentBytes)
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpConfig config = new() { ReceiveBufferBytes = 64 * 1024, MaxReceiveSegments = 8, DelayedAck = false };
        TcpSocket s = h.OpenActive(peer, config);
        // The application does not read. The peer fills every byte of the window it is offered, in small segments.
        uint edge = peer.Nxt + h.AllSent[0].Repr.WindowLength; // our SYN's window (unscaled), then every ACK's
        int sent = 0;
        int shift = TcpSocket.ReceiveWindowShift(config);
        for (int step = 0; step < 100_000; step++)
        {
            int room = (int)(edge - peer.Nxt);
            if (room <= 0)
            {
                break;
            }
            peer.SendData(TcpHarness.Bytes(Math.Min(segmentBytes, room), step));
            sent += Math.Min(segmentBytes, room);
            foreach (EmittedSegment a in h.Dispatch())
            {
                edge = a.Ack + ((uint)a.Repr.WindowLength << shift);
            }
        }
        Assert.True(0L == s.Counters.DroppedReceiveQueueFull, $"dropped {s.Counters.DroppedReceiveQueueFull}, trimmed {s.Counters.BytesTrimmedBeyondWindow}, sent {sent}, queued {s.ReceiveQueued} in {s.ReceiveSegments}");
        Assert.Equal(sent, s.ReceiveQueued); // every in-window byte was taken: nothing reneged
        Assert.True(sent > 0);

        // Reading reopens it and the stream is intact.
        byte[] all = new byte[sent];
        Assert.Equal(sent, s.Receive(all));
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SmallSegmentsFillTheReceiveBufferDespiteTheSegmentCap()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { ReceiveBufferBytes = 16 * 1024, MaxReceiveSegments = 4 });
        byte[] expected = TcpHarness.Bytes(16 * 100, 7);
        for (int i = 0; i < 16; i++)
        {
            peer.SendData(expected.AsSpan(i * 100, 100));
        }
        Assert.Equal(expected.Length, s.ReceiveQueued); // 16 segments in a 4-segment queue
        Assert.True(s.ReceiveSegments <= 4);
        byte[] got = new byte[expected.Length];
        Assert.Equal(expected.Length, s.Receive(got));
        Assert.Equal(expected, got);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void DataHeldByNagleIsNoWorkForTheEngine()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.WindowScale = null; // a 20,000-byte window: cwnd covers half of it, which once counted as work despite Nagle
        peer.Window = 20_000;
        TcpSocket s = h.OpenActive(peer);
        s.Send(TcpHarness.Bytes(100, 1));
        EmittedSegment first = h.DispatchOne();
        s.Send(TcpHarness.Bytes(100, 2));
        Assert.Empty(h.Dispatch()); // Nagle holds it
        // The layer must not ask to run now: the engine would spin (or yield) on a dispatch that sends nothing.
        Instant next = h.Layer.PollAt(h.Now);
        Assert.True(next > h.Now, $"PollAt says run now while Nagle holds the data ({next} at {h.Now})");
        peer.AckAll([first]);
        Assert.Equal(h.Now, h.Layer.PollAt(h.Now));
        EmittedSegment second = h.DispatchOne();
        peer.AckAll([second]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AfterATimeoutTheResendSkipsWhatThePeerSacked()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(10 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(10, flight.Count);
        uint una = flight[0].Seq;
        // Segments 0 and 4 are lost; the peer SACKs 1-3 and 5-9 but, as it happens, only in one ACK that a
        // fast retransmit does not get to use: the retransmission of 0 is lost too, and the timer fires.
        TcpSackBlocks blocks = default;
        blocks.TryAdd(una + (uint)(5 * mss), una + (uint)(10 * mss));
        blocks.TryAdd(una + (uint)mss, una + (uint)(4 * mss));
        h.Deliver(peer.AckSegment(ack: una) with { SackBlocks = blocks });
        h.Dispatch(); // the fast retransmits of segments 0 and 4 (RACK sees both lost), lost
        long before = s.Counters.BytesRetransmitted;

        // The first wake-up may be a probe timer that recovery disarmed (the layer's heap keeps stale entries): poll on.
        List<EmittedSegment> timedOut = h.PollAt(h.Layer.PollAt(h.Now));
        for (int i = 0; i < 3 && timedOut.Count == 0; i++)
        {
            timedOut = h.PollAt(h.Layer.PollAt(h.Now));
        }
        EmittedSegment head = Assert.Single(timedOut);
        Assert.Equal(una, head.Seq);
        Assert.Equal(1L, s.Counters.SackKeptOnTimeout);
        peer.Observe(head); // the resend filled the hole: the peer echoes its timestamp (no Eifel undo)
        peer.RcvNxt = una + (uint)(4 * mss); // 0 arrives: the peer ACKs up to the hole at 4, still SACKing 5-9
        TcpSackBlocks rest = default;
        rest.TryAdd(una + (uint)(5 * mss), una + (uint)(10 * mss));
        h.Deliver(peer.AckSegment() with { SackBlocks = rest });
        List<EmittedSegment> resent = h.Dispatch();
        EmittedSegment hole = Assert.Single(resent); // segment 4 only: 5-9 are held by the peer
        Assert.Equal(una + (uint)(4 * mss), hole.Seq);
        Assert.Equal(mss, hole.Length);
        Assert.Equal(2L * mss, s.Counters.BytesRetransmitted - before);

        peer.RcvNxt = una + (uint)(10 * mss);
        h.Deliver(peer.AckSegment());
        Assert.Empty(h.Dispatch());
        Assert.Equal(0, s.SendBufferUsed);
        h.AssertAllReleased(peer);
    }
}
