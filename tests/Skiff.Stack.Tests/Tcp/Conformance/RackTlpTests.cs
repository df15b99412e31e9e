using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>
/// RACK-TLP (RFC 8985) on a manual clock: the reordering window, marking lost by time, the reordering timer, the
/// probe timeout of 2·SRTT, the single-segment case and the RTO cap; then the undo of spurious loss responses (Eifel,
/// RFC 3522, and D-SACK, RFC 2883).
/// </summary>
public sealed class RackTlpTests
{
    private static readonly Duration Rtt = Duration.FromMillis(40);

    /// <summary>An active open whose handshake takes <see cref="Rtt"/>: SRTT = min_RTT = 40 ms from the SYN's timestamp.</summary>
    private static TcpSocket Open(TcpHarness h, TcpPeer peer, TcpConfig config)
    {
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, peer.Port, config, peer.LocalPort);
        EmittedSegment syn = h.DispatchOne();
        peer.OnSyn(syn);
        h.Advance(Rtt);
        h.Deliver(peer.SynAck());
        peer.Nxt = peer.Iss + 1;
        peer.Observe(h.DispatchOne());
        TcpSocket s = h.Layer.Get(peer.Handle);
        Assert.Equal(TcpState.Established, s.State);
        return s;
    }

    private static TcpSackBlocks Sack(uint left, uint right)
    {
        TcpSackBlocks b = default;
        b.TryAdd(left, right);
        return b;
    }

    [Fact]
    public void ALossIsDeclaredOnlyAfterTheReorderingWindowOfAQuarterMinRtt()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(4 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(4, flight.Count);
        uint a = flight[0].Seq;

        // One RTT later segment 1 is SACKed, 0 is missing. Fewer than DupThresh SACKed and no reordering seen:
        // RFC 8985 6.2 step 4, reo_wnd = min_RTT / 4 = 10 ms. Segment 0 is not lost yet; the reordering timer runs.
        h.Advance(Rtt);
        peer.Observe(flight[1]);
        h.Deliver(peer.AckSegment(ack: a) with { SackBlocks = Sack(a + (uint)mss, a + 2 * (uint)mss) });
        Assert.Empty(h.Dispatch());
        Assert.False(s.Rack!.IsLost(new SeqNumber(a)));
        Assert.Equal(Rtt, s.Rack.Rtt);
        Assert.Equal(h.Now + (Rtt / 4), h.Layer.PollAt(h.Now));
        Assert.Empty(h.PollAt(h.Now + (Rtt / 4) - Duration.FromMillis(1)));

        // At RACK.xmit_ts + RACK.rtt + reo_wnd segment 0 is lost by time and goes again; 2 and 3, sent after the
        // delivered segment 1, are not marked.
        EmittedSegment again = Assert.Single(h.PollAt(h.Now + Duration.FromMillis(1)));
        Assert.Equal(a, again.Seq);
        Assert.Equal(1L, s.Counters.RackReorderTimeouts);
        Assert.Equal(1L, s.Counters.RackLostSegments);
        Assert.False(s.Rack.IsLost(new SeqNumber(a + 2 * (uint)mss)));
        Assert.Equal(1L, s.Counters.FastRetransmits);

        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void WithDupThreshSegmentsSackedAndNoReorderingTheWindowIsZero()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(5 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        uint a = flight[0].Seq;
        h.Advance(Rtt);
        peer.Observe(flight[3]);
        // 1-3 SACKed: RFC 8985 6.2 step 4 sets reo_wnd to 0, so 0 is lost at once (never slower than three duplicates).
        h.Deliver(peer.AckSegment(ack: a) with { SackBlocks = Sack(a + (uint)mss, a + 4 * (uint)mss) });
        EmittedSegment again = Assert.Single(h.Dispatch());
        Assert.Equal(a, again.Seq);
        Assert.Equal(0L, s.Counters.RackReorderTimeouts);
        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AReorderingSeenWidensTheWindowAgainAndADsackRoundWidensItFurther()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(8 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        uint a = flight[0].Seq;
        h.Advance(Rtt);
        // 1 arrives before 0 (SACKed), then 0 arrives: a never-retransmitted segment delivered below FACK is reordering.
        peer.Observe(flight[1]);
        h.Deliver(peer.AckSegment(ack: a) with { SackBlocks = Sack(a + (uint)mss, a + 2 * (uint)mss) });
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss));
        Assert.True(s.Rack!.ReorderingSeen);
        Assert.Equal(0L, s.Counters.Retransmissions);
        // A D-SACK (of data sent, below the ACK) starts a DSACK round: reo_wnd_mult 2, reo_wnd = min_RTT / 2.
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = Sack(a, a + (uint)mss) });
        Assert.Equal(2, s.Rack.ReoWndMult);
        Assert.Equal(Rtt / 2, s.Rack.ReoWnd(inRecovery: true, Rtt, Rtt));
        // Another D-SACK in the same round does not widen it again.
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = Sack(a, a + (uint)mss) });
        Assert.Equal(2, s.Rack.ReoWndMult);

        // Segment 3 SACKed, 2 missing: with reordering seen the window stays open (20 ms) even with recovery rules.
        h.Advance(Duration.FromMillis(1));
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = Sack(a + 3 * (uint)mss, a + 6 * (uint)mss) });
        Assert.Empty(h.Dispatch());
        Instant timer = h.Layer.PollAt(h.Now);
        Assert.Equal(h.Now + (Rtt / 2), timer); // RACK.xmit_ts + RACK.rtt + min_RTT / 2
        Assert.Equal(flight[2].Seq, Assert.Single(h.PollAt(timer)).Seq);
        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void TheProbeTimeoutIsTwiceSrttAndProbesWithTheLastSegment()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(3 * mss));
        Instant sentAt = h.Now;
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(3, flight.Count);
        // RFC 8985 7.2: PTO = 2 * SRTT = 80 ms, before the RTO (200 ms).
        Assert.Equal(sentAt + (Rtt * 2), h.Layer.PollAt(h.Now));
        Assert.Empty(h.PollAt(sentAt + (Rtt * 2) - Duration.FromMillis(1)));
        // 7.3: no new data to send, so the last segment goes again, whatever cwnd says.
        EmittedSegment probe = Assert.Single(h.PollAt(sentAt + (Rtt * 2)));
        Assert.Equal(flight[2].Seq, probe.Seq);
        Assert.Equal(flight[2].Payload, probe.Payload);
        Assert.Equal(1L, s.Counters.TailLossProbes);
        Assert.Equal(0L, s.Counters.Timeouts);
        // After the probe the RTO is armed from now; no second probe is outstanding at once.
        Assert.Equal(h.Now + s.RetransmissionTimeout, h.Layer.PollAt(h.Now));
        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AProbeSendsNewDataWhenThereIsSome()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(12 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(10, flight.Count); // the initial window
        EmittedSegment probe = Assert.Single(h.PollAt(h.Layer.PollAt(h.Now)));
        Assert.Equal(flight[9].Seq + (uint)mss, probe.Seq); // new data beyond cwnd (RFC 8985 7.3)
        Assert.Equal(1L, s.Counters.TailLossProbes);
        Assert.Equal(0L, s.Counters.Retransmissions);
        peer.AckAll([.. flight, probe]);
        List<EmittedSegment> rest = h.Dispatch();
        peer.AckAll(rest);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void WithOneSegmentInFlightThePtoAddsTheWorstCaseDelayedAck()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        // RTO floor of 1 s so that the cap does not hide the sum.
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false, MinRto = Duration.FromSeconds(1) });
        s.Send(TcpHarness.Bytes(100));
        Instant sentAt = h.Now;
        EmittedSegment only = h.DispatchOne();
        // RFC 8985 7.2: 2 * SRTT + WCDelAckT (200 ms) = 280 ms.
        Assert.Equal(sentAt + (Rtt * 2) + Duration.FromMillis(200), h.Layer.PollAt(h.Now));
        EmittedSegment probe = Assert.Single(h.PollAt(h.Layer.PollAt(h.Now)));
        Assert.Equal(only.Seq, probe.Seq);
        Assert.Equal(1L, s.Counters.TailLossProbes);
        peer.AckAll([probe]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ThePtoNeverComesAfterTheRto()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        s.Send(TcpHarness.Bytes(100));
        Instant sentAt = h.Now;
        h.DispatchOne();
        // 2 * 40 + 200 = 280 ms is past the RTO of 200 ms: RFC 8985 7.2 caps the PTO there, and the timeout fires.
        Assert.Equal(sentAt + s.RetransmissionTimeout, h.Layer.PollAt(h.Now));
        Assert.Single(h.PollAt(h.Layer.PollAt(h.Now)));
        Assert.Equal(0L, s.Counters.TailLossProbes);
        Assert.Equal(1L, s.Counters.Timeouts);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void WithoutSackThereIsNoRackAndNoProbe()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.SackPermitted = false;
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        Assert.Null(s.Rack);
        s.Send(TcpHarness.Bytes(3 * s.SendMss));
        Instant sentAt = h.Now;
        h.Dispatch();
        Assert.Equal(sentAt + s.RetransmissionTimeout, h.Layer.PollAt(h.Now));
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ASpuriousTimeoutIsUndoneByEifelAndNewDataResumes()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false, RackTlp = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(6 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        long cwndBefore = s.CongestionWindowBytes;
        peer.Observe(flight[5]); // the peer holds every original: its ACKs echo their timestamp

        // The ACKs are only late (a delay spike): the timer fires and resends the head.
        h.Advance(Duration.FromMillis(100));
        EmittedSegment head = Assert.Single(h.PollAt(h.Layer.PollAt(h.Now)));
        Assert.Equal(flight[0].Seq, head.Seq);
        Assert.Equal(mss, s.CongestionWindowBytes);

        // The late ACK arrives, echoing the originals' TSval, older than the retransmission's: RFC 3522 says spurious.
        h.Advance(Duration.FromMillis(10));
        peer.AckAll(flight);
        Assert.Equal(1L, s.Counters.SpuriousTimeoutsUndone);
        Assert.Equal(1L, h.Layer.Counters.SpuriousRetransmissionsUndone);
        Assert.True(s.CongestionWindowBytes >= cwndBefore, $"cwnd {s.CongestionWindowBytes} not restored to {cwndBefore}");
        Assert.Equal(0, s.SendBufferUsed);
        Assert.Empty(h.Dispatch()); // nothing resent: everything was acknowledged
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ANeededTimeoutIsNotUndone()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false, RackTlp = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(2 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        EmittedSegment head = Assert.Single(h.PollAt(h.Layer.PollAt(h.Now)));
        // The originals were lost: the ACK echoes the retransmission's timestamp.
        h.Advance(Rtt);
        peer.AckAll([flight[0], head]);
        Assert.Equal(0L, s.Counters.SpuriousTimeoutsUndone);
        Assert.True(s.CongestionWindowBytes <= 2 * mss);
        List<EmittedSegment> rest = h.Dispatch();
        Assert.Equal(flight[1].Seq, Assert.Single(rest).Seq);
        peer.AckAll(rest);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AFastRecoveryWhoseRetransmissionsComeBackAsDsacksIsUndone()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Timestamps = false; // no Eifel: only the D-SACK can tell
        TcpSocket s = Open(h, peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        h.Deliver(peer.AckSegment());
        s.Send(TcpHarness.Bytes(5 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        long cwndBefore = s.CongestionWindowBytes;
        uint a = flight[0].Seq;
        h.Advance(Rtt);
        h.Deliver(peer.AckSegment(ack: a) with { SackBlocks = Sack(a + (uint)mss, a + 4 * (uint)mss) });
        EmittedSegment again = Assert.Single(h.Dispatch());
        Assert.Equal(a, again.Seq);
        Assert.True(s.CongestionWindowBytes < cwndBefore);

        // Segment 0 was only delayed: it arrives, then the retransmission, which the peer reports as a D-SACK.
        h.Deliver(peer.AckSegment(ack: a + 4 * (uint)mss));
        h.Deliver(peer.AckSegment(ack: a + 4 * (uint)mss) with { SackBlocks = Sack(a, a + (uint)mss) });
        Assert.Equal(1L, s.Counters.DsacksReceived);
        Assert.Equal(1L, s.Counters.SpuriousRecoveriesUndone);
        Assert.True(s.CongestionWindowBytes >= cwndBefore, $"cwnd {s.CongestionWindowBytes} not restored to {cwndBefore}");
        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }
}
