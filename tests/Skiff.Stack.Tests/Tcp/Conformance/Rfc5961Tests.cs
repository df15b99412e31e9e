using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>ESTABLISHED under blind in-window attacks (RFC 5961): RSTs, SYNs and ACKs that must not hurt the connection.</summary>
public sealed class Rfc5961Tests
{
    private static (TcpHarness H, TcpPeer Peer, TcpSocket Socket) Established(TcpPeer? configure = null, TcpConfig? config = null)
    {
        TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, config);
        return (h, peer, s);
    }

    [Fact]
    public void RstExactlyAtRcvNxtResets()
    {
        (TcpHarness h, TcpPeer peer, TcpSocket s) = Established();
        using TcpHarness _ = h;
        h.Deliver(peer.Segment(TcpFlags.Rst, timestamps: false));
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.Reset, s.Error);
        Assert.Empty(h.Dispatch()); // never a RST or ACK for a RST
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void InWindowRstNotAtRcvNxtEarnsChallengeAckAndTheConnectionLives()
    {
        (TcpHarness h, TcpPeer peer, TcpSocket s) = Established();
        using TcpHarness _ = h;
        h.Deliver(peer.Segment(TcpFlags.Rst, seq: peer.Nxt + 1000, timestamps: false));
        Assert.Equal(TcpState.Established, s.State);
        EmittedSegment challenge = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags); // RFC 5961 3.2: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
        Assert.Equal(peer.RcvNxt, challenge.Seq);
        Assert.Equal(peer.Nxt, challenge.Ack);
        Assert.Equal(1L, s.Counters.ChallengeAcksSent);

        // The genuine peer answers the challenge with a RST at exactly RCV.NXT; that one is honoured.
        h.Deliver(peer.Segment(TcpFlags.Rst, seq: challenge.Ack, timestamps: false));
        Assert.Equal(TcpState.Closed, s.State);
        h.AssertAllReleased(peer);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(-100_000)]
    [InlineData(300_000)]
    public void OutOfWindowRstIsIgnoredSilently(int offset)
    {
        (TcpHarness h, TcpPeer peer, TcpSocket s) = Established();
        using TcpHarness _ = h;
        h.Deliver(peer.Segment(TcpFlags.Rst, seq: (uint)(peer.Nxt + offset), timestamps: false));
        Assert.Equal(TcpState.Established, s.State);
        Assert.Empty(h.Dispatch());
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SynInEstablishedEarnsChallengeAck()
    {
        (TcpHarness h, TcpPeer peer, TcpSocket s) = Established();
        using TcpHarness _ = h;
        foreach (uint seq in new[] { peer.Nxt, peer.Nxt + 500, peer.Iss })
        {
            h.Advance(Duration.FromSeconds(1)); // stay under the challenge-ACK rate
            h.Deliver(peer.Segment(TcpFlags.Syn, seq: seq) with { MaxSegmentSize = 1460 });
            Assert.Equal(TcpState.Established, s.State);
            EmittedSegment challenge = h.DispatchOne();
            Assert.Equal(TcpFlags.Ack, challenge.Flags); // RFC 5961 4.2
            Assert.Equal(peer.Nxt, challenge.Ack);
        }
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AckBeyondSndMaxEarnsChallengeAckAndItsDataIsDropped()
    {
        (TcpHarness h, TcpPeer peer, TcpSocket s) = Established();
        using TcpHarness _ = h;
        Assert.False(h.Deliver(peer.Segment(TcpFlags.Ack | TcpFlags.Psh, ack: peer.RcvNxt + 10), TcpHarness.Bytes(100)));
        Assert.Equal(0, s.ReceiveQueued);
        EmittedSegment challenge = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, challenge.Flags); // RFC 5961 5.2
        Assert.Equal(peer.Nxt, challenge.Ack);     // the data was not accepted
        Assert.Equal(1L, s.Counters.DroppedAckAhead);
        Assert.Equal(TcpState.Established, s.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AckBelowSndUnaMinusMaxSndWndIsDropped()
    {
        TcpHarness h = new();
        using TcpHarness _ = h;
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.WindowScale = null; // MAX.SND.WND = 65535
        TcpSocket s = h.OpenActive(peer);

        uint old = peer.RcvNxt - 70_000;
        Assert.False(h.Deliver(peer.Segment(TcpFlags.Ack | TcpFlags.Psh, ack: old), TcpHarness.Bytes(100)));
        Assert.Equal(0, s.ReceiveQueued);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags); // RFC 5961 5.2: discard and send an ACK
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(1L, s.Counters.DroppedAckTooOld);

        // An old ACK still inside [SND.UNA - MAX.SND.WND, SND.UNA] is acceptable: its data is taken.
        Assert.True(h.Deliver(peer.Segment(TcpFlags.Ack | TcpFlags.Psh, ack: peer.RcvNxt - 60_000), TcpHarness.Bytes(100)));
        Assert.Equal(100, s.ReceiveQueued);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ChallengeAcksAreRateLimitedPerConnection()
    {
        using TcpHarness h = new();
        TcpPeer a = h.Peer(port: 443, localPort: 50_000);
        TcpPeer b = h.Peer(port: 443, localPort: 50_001);
        TcpSocket sa = h.OpenActive(a);
        TcpSocket sb = h.OpenActive(b);
        int limit = TcpConfig.Default.ChallengeAcksPerSecond;

        int acksToA = 0;
        for (int i = 0; i < 3 * limit; i++)
        {
            h.Deliver(a.Segment(TcpFlags.Rst, seq: a.Nxt + 10 + (uint)i, timestamps: false));
            acksToA += h.Dispatch().Count;
        }
        Assert.Equal(limit, acksToA);
        Assert.Equal(limit, sa.Counters.ChallengeAcksSent);
        Assert.Equal(2 * limit, sa.Counters.ChallengeAcksSuppressed);

        // Another connection keeps its own budget (a shared one is a side channel, CVE-2016-5696).
        h.Deliver(b.Segment(TcpFlags.Rst, seq: b.Nxt + 10, timestamps: false));
        EmittedSegment challenge = h.DispatchOne();
        Assert.Equal(b.LocalPort, challenge.Tuple.LocalPort);
        Assert.Equal(1L, sb.Counters.ChallengeAcksSent);

        // The budget refills with time.
        h.Advance(Duration.FromSeconds(1));
        h.Deliver(a.Segment(TcpFlags.Rst, seq: a.Nxt + 10, timestamps: false));
        Assert.Single(h.Dispatch());
        Assert.Equal(TcpState.Established, sa.State);
        Assert.Equal(TcpState.Established, sb.State);
        h.AssertAllReleased(a, b);
    }
}
