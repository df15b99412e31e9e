using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>
/// TIME-WAIT as its compact record answers it (RFC 9293 3.10.7.4 in TIME-WAIT, RFC 1337, RFC 5961, RFC 6191,
/// RFC 7323 PAWS), after the socket went back to the pool.
/// </summary>
public sealed class TimeWaitTests
{
    /// <summary>We close first, the peer's FIN arrives, the application releases: only the record is left.</summary>
    private static TcpPeer IntoTimeWait(TcpHarness h, TcpListener listener, out EmittedSegment finAck, TcpPeer? peer = null)
    {
        peer ??= h.Peer();
        TcpSocket s = h.OpenPassive(listener, peer);
        s.Close();
        peer.AckAll(h.Dispatch());
        peer.SendFin();
        finAck = h.DispatchOne();
        peer.Observe(finAck);
        Assert.Equal(TcpState.TimeWait, s.State);
        h.Layer.Release(peer.Handle);
        Assert.Equal(1, h.Layer.TimeWaitCount);
        Assert.Equal(new TcpLayerOptions().MaxConnections, h.Layer.FreeSockets);
        return peer;
    }

    [Fact]
    public void TheFinsAckCarriesTheConnectionsNumbersWindowAndTimestamps()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = IntoTimeWait(h, listener, out EmittedSegment ack);
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(peer.RcvNxt, ack.Seq);
        Assert.True(ack.Repr.WindowLength > 0);
        Assert.Equal(peer.TsVal, ack.Repr.Timestamp!.Value.EchoReply);
        Assert.Equal(1L, h.Layer.Counters.TimeWaitAcks);
    }

    [Fact]
    public void ARstDoesNotEndIt()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = IntoTimeWait(h, listener, out _);
        h.Deliver(peer.Segment(TcpFlags.Rst, timestamps: false)); // RFC 1337
        h.Deliver(peer.Segment(TcpFlags.Rst | TcpFlags.Ack));
        Assert.Empty(h.Dispatch());
        Assert.Equal(1, h.Layer.TimeWaitCount);
        h.Deliver(peer.Segment(TcpFlags.Fin | TcpFlags.Ack, seq: peer.Nxt - 1)); // still there: the FIN is ACKed again
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
    }

    [Fact]
    public void AnOldTimestampIsRejectedByPawsWithAnAck()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = IntoTimeWait(h, listener, out _);
        peer.TsVal -= 100;
        h.Deliver(peer.Segment(TcpFlags.Fin | TcpFlags.Ack, seq: peer.Nxt - 1));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(peer.TsVal + 100, ack.Repr.Timestamp!.Value.EchoReply); // TS.Recent did not move back
    }

    [Fact]
    public void ASynInTheWindowEarnsOneChallengeAckPerInterval()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = IntoTimeWait(h, listener, out _);
        h.Deliver(peer.Segment(TcpFlags.Syn | TcpFlags.Ack)); // RFC 5961 4.2
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
        h.Deliver(peer.Segment(TcpFlags.Syn | TcpFlags.Ack));
        Assert.Empty(h.Dispatch());
        Assert.Equal(1L, h.Layer.Counters.TimeWaitChallengeAcksSuppressed);
        h.Deliver(peer.AckSegment(ack: peer.RcvNxt + 100_000)); // RFC 5961 5.2: acknowledges what we never sent
        Assert.Empty(h.Dispatch());
        h.Advance(Duration.FromSeconds(1));
        h.Deliver(peer.AckSegment(ack: peer.RcvNxt + 100_000));
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
        Assert.Equal(1, h.Layer.TimeWaitCount);
    }

    [Fact]
    public void ANewSynWithANewerTimestampReopensTheConnection()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer first = IntoTimeWait(h, listener, out _);

        TcpPeer stale = h.Peer(iss: first.Nxt + 1000);
        stale.TsVal = first.TsVal - 1; // RFC 6191: an older timestamp may not start a new incarnation
        h.Deliver(stale.Syn());
        EmittedSegment ack = h.DispatchOne(); // PAWS: the old connection's ACK, no SYN-ACK
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(first.Nxt, ack.Ack);
        Assert.Equal(1, h.Layer.TimeWaitCount);

        TcpPeer second = h.Peer(iss: first.Nxt - 5000); // a lower sequence number, but a newer timestamp
        second.TsVal = first.TsVal + 1;
        TcpSocket s = h.OpenPassive(listener, second);
        Assert.Equal(1L, h.Layer.Counters.TimeWaitReused);
        Assert.Equal(0, h.Layer.TimeWaitCount);
        Assert.Equal(TcpState.Established, s.State);
        h.AssertAllReleased(second);
    }

    [Fact]
    public void WithoutTimestampsANewSynMustStartAboveTheOldSequence()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer first = h.Peer();
        first.Timestamps = false;
        IntoTimeWait(h, listener, out _, first);

        TcpPeer below = h.Peer(iss: first.Nxt - 10);
        below.Timestamps = false;
        h.Deliver(below.Syn());
        Assert.Empty(h.Dispatch());

        TcpPeer above = h.Peer(iss: first.Nxt + 100_000);
        above.Timestamps = false;
        h.OpenPassive(listener, above);
        Assert.Equal(1L, h.Layer.Counters.TimeWaitReused);
        h.AssertAllReleased(above);
    }

    [Fact]
    public void ConnectReusesTheFourTupleOnlyWhenTimestampsProtectIt()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        h.OpenActiveIntoTimeWait(peer);
        h.Layer.Release(peer.Handle);
        Assert.Equal(1, h.Layer.TimeWaitCount);

        SocketHandle again = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        Assert.Equal(1L, h.Layer.Counters.TimeWaitReused);
        Assert.Equal(TcpState.SynSent, h.Layer.Get(again).State);
        h.Layer.Release(again);

        TcpPeer plain = h.Peer(port: 444, localPort: 50_001);
        plain.Timestamps = false;
        h.OpenActiveIntoTimeWait(plain, new TcpConfig { Timestamps = false });
        h.Layer.Release(plain.Handle);
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(
            () => h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 444, localPort: 50_001));
        Assert.Contains("is in TIME-WAIT", e.Message);
    }

    [Fact]
    public void PastMaxTimeWaitTheOldestEndsAndWithNoneTheFinIsStillAcknowledged()
    {
        using TcpHarness h = new(new TcpLayerOptions { MaxTimeWait = 1 });
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        IntoTimeWait(h, listener, out _, h.Peer(port: 40_001));
        IntoTimeWait(h, listener, out _, h.Peer(port: 40_002));
        Assert.Equal(1L, h.Layer.Counters.TimeWaitRecycled);
        Assert.Equal(1, h.Layer.ConnectionCount);

        using TcpHarness none = new(new TcpLayerOptions { MaxTimeWait = 0 });
        TcpListener l0 = none.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = none.Peer();
        TcpSocket s = none.OpenPassive(l0, peer);
        s.Close();
        peer.AckAll(none.Dispatch());
        peer.SendFin();
        Assert.Equal(peer.Nxt, none.DispatchOne().Ack);
        Assert.Equal(TcpState.Closed, s.State); // no record: the held socket is closed at once
        Assert.Equal(1L, none.Layer.Counters.TimeWaitRecycled);
        none.AssertAllReleased(peer);
    }
}
