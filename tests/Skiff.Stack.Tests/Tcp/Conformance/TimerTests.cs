using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>Retransmission (RFC 6298), keepalive (RFC 1122 4.2.3.6) and user timeout (RFC 5482).</summary>
public sealed class TimerTests
{
    [Fact]
    public void RtoDoublesRetransmitsTheEarliestSegmentAndGivesUp()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false, MaxRetransmissions = 4, RackTlp = false });
        s.Send(TcpHarness.Bytes(3 * s.SendMss));
        Instant sentAt = h.Now;
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(3, flight.Count);
        Duration rto = s.RetransmissionTimeout;

        Instant at = sentAt;
        for (int k = 0; k < 4; k++)
        {
            at += rto * (1L << k); // RFC 6298 5.5: double at each expiry
            Assert.Empty(h.PollAt(at - Duration.FromMillis(1)));
            EmittedSegment again = Assert.Single(h.PollAt(at)); // 5.4: the earliest unacknowledged segment only
            Assert.Equal(flight[0].Seq, again.Seq);
            Assert.Equal(flight[0].Payload, again.Payload);
            Assert.Equal(rto * (2L << k), s.RetransmissionTimeout);
        }
        Assert.Equal(TcpState.Established, s.State);
        at += rto * 16;
        List<EmittedSegment> last = h.PollAt(at);
        EmittedSegment rst = Assert.Single(last); // R2 reached: give up and tell the peer
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.TimedOut, s.Error);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void AckOfTheRetransmissionResumesWithTheRestOfTheData()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        byte[] data = TcpHarness.Bytes(3 * s.SendMss);
        s.Send(data);
        List<EmittedSegment> flight = h.Dispatch();
        EmittedSegment again = Assert.Single(h.PollAt(h.Now + s.RetransmissionTimeout));
        peer.AckAll([again]);
        List<EmittedSegment> rest = h.Dispatch(); // go-back-N after a timeout (RFC 5681 3.1: cwnd restarts)
        Assert.Equal(flight[1].Seq, rest[0].Seq);
        peer.AckAll(rest);
        for (int i = 0; i < 3 && s.SendBufferUsed > 0; i++)
        {
            List<EmittedSegment> more = h.Dispatch();
            peer.AckAll(more);
        }
        Assert.Equal(0, s.SendBufferUsed);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void KeepAliveProbesAnIdleConnectionAndDropsItAfterTheLastUnansweredProbe()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpConfig config = new() { KeepAlive = true, KeepAliveIdle = Duration.FromSeconds(10), KeepAliveInterval = Duration.FromSeconds(2), KeepAliveProbes = 3 };
        TcpSocket s = h.OpenActive(peer, config);
        Instant idleFrom = h.Now;
        Assert.Empty(h.PollAt(idleFrom + Duration.FromSeconds(10) - Duration.FromMillis(1)));

        // An answered probe keeps the connection.
        EmittedSegment probe = Assert.Single(h.PollAt(idleFrom + Duration.FromSeconds(10)));
        Assert.Equal(TcpFlags.Ack, probe.Flags);
        Assert.Equal(peer.RcvNxt - 1, probe.Seq); // SND.UNA - 1, no data: the peer must ACK (RFC 1122 4.2.3.6)
        Assert.Empty(probe.Payload);
        h.Deliver(peer.AckSegment());
        idleFrom = h.Now;

        // Unanswered: probes at idle, +2 s, +4 s, then dropped at +6 s.
        for (int i = 0; i < 3; i++)
        {
            Assert.Single(h.PollAt(idleFrom + Duration.FromSeconds(10 + (2 * i))));
            Assert.Equal(TcpState.Established, s.State);
        }
        h.PollAt(idleFrom + Duration.FromSeconds(16));
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.TimedOut, s.Error);
        Assert.Equal(4L, s.Counters.KeepAlivesSent);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void UserTimeoutAbortsWhenDataStaysUnacknowledged()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { UserTimeout = Duration.FromSeconds(5) });
        s.Send(TcpHarness.Bytes(100));
        Instant sent = h.Now;
        h.Dispatch();
        for (Instant t = sent; t < sent + Duration.FromSeconds(5); t += Duration.FromMillis(100))
        {
            h.PollAt(t);
            Assert.Equal(TcpState.Established, s.State);
        }
        List<EmittedSegment> last = h.PollAt(sent + Duration.FromSeconds(5));
        Assert.Contains(last, x => x.Has(TcpFlags.Rst));
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.TimedOut, s.Error);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void UserTimeoutDoesNotFireWhileDataIsAcknowledged()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { UserTimeout = Duration.FromSeconds(1), Nagle = false });
        for (int i = 0; i < 30; i++)
        {
            s.Send(TcpHarness.Bytes(10, i));
            List<EmittedSegment> sent = h.PollAt(h.Now + Duration.FromMillis(200));
            peer.AckAll(sent);
        }
        Assert.Equal(TcpState.Established, s.State);
        h.AssertAllReleased(peer);
    }
}
