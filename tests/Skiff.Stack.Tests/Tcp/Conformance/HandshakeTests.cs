using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>CLOSED, SYN-SENT, SYN-RECEIVED, LISTEN: opening a connection (RFC 9293 3.5, 3.10.7.2-3).</summary>
public sealed class HandshakeTests
{
    [Fact]
    public void ActiveOpenSynCarriesMssWindowScaleSackPermittedAndTimestamps()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        Assert.Equal(TcpState.SynSent, peer.Socket.State);

        EmittedSegment syn = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn, syn.Flags);
        Assert.Equal(0u, syn.Ack);
        Assert.Equal((ushort)TcpHarness.LocalMss, syn.Repr.MaxSegmentSize);
        Assert.Equal((byte)3, syn.Repr.WindowScale); // 256 KiB receive buffer needs a shift of 3 (RFC 7323 2.3)
        Assert.True(syn.Repr.SackPermitted);
        TcpTimestamp ts = Assert.IsType<TcpTimestamp>(syn.Repr.Timestamp);
        Assert.Equal(0u, ts.EchoReply); // RFC 7323 3.2: TSecr is zero in an initial SYN
        Assert.Equal((ushort)65535, syn.Repr.WindowLength); // never scaled in a SYN (RFC 7323 2.2)
        Assert.Empty(syn.Payload);
        Assert.Equal(new TcpTuple(TcpHarness.LocalAddress, 50_000, TcpHarness.RemoteAddress, 443), syn.Tuple);
        Assert.Empty(h.Dispatch()); // one SYN, not one per dispatch
    }

    [Fact]
    public void SynAckMovesToEstablishedAndIsAcknowledged()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        EmittedSegment syn = h.DispatchOne();
        peer.OnSyn(syn);
        peer.TsVal = 777;
        h.Deliver(peer.SynAck());

        Assert.Equal(TcpState.Established, peer.Socket.State);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(syn.Seq + 1, ack.Seq);
        Assert.Equal(peer.Iss + 1, ack.Ack);
        Assert.Equal(777u, ack.Repr.Timestamp?.EchoReply);
        Assert.Equal((ushort)(256 * 1024 >> 3), ack.Repr.WindowLength); // scaled from now on
        Assert.Null(ack.Repr.MaxSegmentSize);
        Assert.Null(ack.Repr.WindowScale);
        Assert.False(ack.Repr.SackPermitted);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void PassiveOpenSynAckMirrorsOnlyTheOptionsThePeerOffered()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer bare = h.Peer(port: 1000);
        bare.WindowScale = null;
        bare.SackPermitted = false;
        bare.Timestamps = false;
        bare.Mss = 1200;
        h.Deliver(bare.Syn());
        EmittedSegment synAck = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(bare.Iss + 1, synAck.Ack);
        Assert.Equal((ushort)TcpHarness.LocalMss, synAck.Repr.MaxSegmentSize); // MSS is always sent (RFC 9293 3.7.1)
        Assert.Null(synAck.Repr.WindowScale);   // RFC 7323 2.2
        Assert.False(synAck.Repr.SackPermitted); // RFC 2018 2
        Assert.Null(synAck.Repr.Timestamp);      // RFC 7323 3.2
        Assert.Equal(1, listener.HalfOpen);

        TcpPeer full = h.Peer(port: 1001);
        full.TsVal = 4242;
        h.Deliver(full.Syn());
        EmittedSegment synAck2 = h.DispatchOne();
        Assert.Equal((byte)3, synAck2.Repr.WindowScale);
        Assert.True(synAck2.Repr.SackPermitted);
        Assert.Equal(4242u, synAck2.Repr.Timestamp?.EchoReply);

        // Completing the bare handshake: no options in use, so the window is not scaled and no timestamps appear.
        bare.OnSyn(synAck);
        bare.Nxt = bare.Iss + 1;
        h.Deliver(bare.AckSegment());
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        bare.Handle = sh;
        Assert.Equal(TcpState.Established, bare.Socket.State);
        Assert.Equal(1200 , bare.Socket.SendMss);
        bare.SendData(TcpHarness.Bytes(10));
        h.Advance(Duration.FromMillis(40));
        EmittedSegment ack = h.DispatchOne();
        Assert.Null(ack.Repr.Timestamp);
        Assert.Equal((ushort)65535, ack.Repr.WindowLength); // unscaled: min(free, 65535)
        Assert.Equal(0, listener.Pending);
        Assert.Equal(1, listener.HalfOpen);
        h.Layer.CloseListener(listener);
        Assert.Equal(0, listener.HalfOpen);
        h.AssertAllReleased(bare);
    }

    [Fact]
    public void SimultaneousOpenFollowsRfc9293Figure8()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000, iss: 300);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        EmittedSegment syn = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn, syn.Flags);

        // 3. SYN-RECEIVED <-- <SEQ=300><CTL=SYN>: the crossing SYN.
        peer.TsEcr = 0;
        h.Deliver(peer.Syn());
        Assert.Equal(TcpState.SynReceived, peer.Socket.State);
        // 5. --> <SEQ=ISS><ACK=301><CTL=SYN,ACK>, with our original ISS.
        EmittedSegment synAck = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(syn.Seq, synAck.Seq);
        Assert.Equal(301u, synAck.Ack);

        // 6. ESTABLISHED <-- <SEQ=300><ACK=ISS+1><CTL=SYN,ACK>: the peer's own SYN-ACK completes it.
        peer.OnSyn(synAck);
        h.Deliver(peer.SynAck());
        Assert.Equal(TcpState.Established, peer.Socket.State);
        Assert.DoesNotContain(h.Dispatch(), s => s.Has(TcpFlags.Rst));
        Assert.Equal(0L, peer.Socket.Counters.ChallengeAcksSent);

        // Data flows both ways.
        peer.Nxt = 301;
        Assert.True(peer.SendData(TcpHarness.Bytes(100)));
        Assert.Equal(100, peer.Socket.ReceiveQueued);
        peer.Socket.Send(TcpHarness.Bytes(50));
        EmittedSegment data = h.DispatchOne();
        Assert.Equal(syn.Seq + 1, data.Seq);
        Assert.Equal(401u, data.Ack);
        Assert.Equal(50, data.Length);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SynIsRetransmittedWithDoublingTimeoutAndConnectGivesUp()
    {
        using TcpHarness h = new();
        TcpConfig config = new() { MaxSynRetransmissions = 3 };
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, config, localPort: 50_000);
        Instant start = h.Now;
        EmittedSegment syn = h.DispatchOne();

        // RFC 6298 2.1 / 5.5: initial RTO 1 s, doubled at each timeout.
        Instant at = start;
        foreach (int seconds in new[] { 1, 2, 4 })
        {
            at += Duration.FromSeconds(seconds);
            Assert.Empty(h.PollAt(at - Duration.FromMillis(1)));
            EmittedSegment again = Assert.Single(h.PollAt(at));
            Assert.Equal(TcpFlags.Syn, again.Flags);
            Assert.Equal(syn.Seq, again.Seq);
            Assert.Equal(syn.Repr.MaxSegmentSize, again.Repr.MaxSegmentSize);
        }
        Assert.Equal(TcpState.SynSent, peer.Socket.State);
        at += Duration.FromSeconds(8);
        Assert.Empty(h.PollAt(at - Duration.FromMillis(1)));
        Assert.Equal(TcpState.SynSent, peer.Socket.State);
        Assert.Empty(h.PollAt(at)); // no fourth retransmission: give up
        Assert.Equal(TcpState.Closed, peer.Socket.State);
        Assert.Equal(TcpError.TimedOut, peer.Socket.Error);
        Assert.Equal(4, h.AllSent.Count);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void RstWithAcceptableAckInSynSentRefusesTheConnection()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        EmittedSegment syn = h.DispatchOne();

        // RFC 9293 3.10.7.3: a RST without ACK is dropped, as is one whose ACK is unacceptable.
        h.Deliver(peer.Segment(TcpFlags.Rst, seq: 0, timestamps: false));
        h.Deliver(peer.Segment(TcpFlags.Rst | TcpFlags.Ack, seq: 0, ack: syn.Seq + 7, timestamps: false));
        Assert.Equal(TcpState.SynSent, peer.Socket.State);
        Assert.Empty(h.Dispatch()); // never a RST for a RST

        h.Deliver(peer.Segment(TcpFlags.Rst | TcpFlags.Ack, seq: 0, ack: syn.Seq + 1, timestamps: false));
        Assert.Equal(TcpState.Closed, peer.Socket.State);
        Assert.Equal(TcpError.Refused, peer.Socket.Error);
        Assert.Empty(h.Dispatch());
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void UnacceptableAckInSynSentEarnsRstAtSegAck()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, localPort: 50_000);
        EmittedSegment syn = h.DispatchOne();

        peer.RcvNxt = syn.Seq + 1000; // acknowledges something never sent
        h.Deliver(peer.SynAck());
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags); // RFC 9293 3.10.7.3: <SEQ=SEG.ACK><CTL=RST>
        Assert.Equal(syn.Seq + 1000, rst.Seq);
        Assert.Equal(TcpState.SynSent, peer.Socket.State);

        // The right SYN-ACK still completes the handshake.
        peer.OnSyn(syn);
        h.Deliver(peer.SynAck());
        Assert.Equal(TcpState.Established, peer.Socket.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void UnacceptableAckInSynReceivedEarnsRstAndTheHalfOpenConnectionSurvives()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        h.Deliver(peer.Syn());
        EmittedSegment synAck = h.DispatchOne();
        peer.OnSyn(synAck);
        peer.Nxt = peer.Iss + 1;

        h.Deliver(peer.AckSegment(ack: synAck.Seq + 5000));
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags); // RFC 9293 3.10.7.4, SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>
        Assert.Equal(synAck.Seq + 5000, rst.Seq);
        Assert.False(listener.CanAccept);

        h.Deliver(peer.AckSegment());
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        peer.Handle = sh;
        Assert.Equal(TcpState.Established, peer.Socket.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SynAckIsRetransmittedWhenThePeerRepeatsItsSyn()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        h.Deliver(peer.Syn());
        EmittedSegment first = h.DispatchOne();
        h.Advance(Duration.FromMillis(100));
        h.Deliver(peer.Syn());
        EmittedSegment again = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, again.Flags);
        Assert.Equal(first.Seq, again.Seq);
        Assert.Equal(first.Ack, again.Ack);
        Assert.Equal(1, listener.HalfOpen);
        h.Layer.CloseListener(listener);
        h.AssertAllReleased();
    }
}
