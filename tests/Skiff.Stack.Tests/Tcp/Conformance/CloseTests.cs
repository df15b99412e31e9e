using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>FIN-WAIT-1/2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT, and resets on close (RFC 9293 3.6, 3.10.4-5).</summary>
public sealed class CloseTests
{
    [Fact]
    public void ActiveCloseGoesThroughFinWaitToTimeWaitWhichLastsTheConfiguredTime()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { TimeWait = Duration.FromSeconds(30) });
        s.Close();
        EmittedSegment fin = h.DispatchOne();
        Assert.Equal(TcpFlags.Fin | TcpFlags.Ack, fin.Flags);
        Assert.Equal(peer.RcvNxt, fin.Seq);
        Assert.Equal(TcpState.FinWait1, s.State);
        Assert.Throws<InvalidOperationException>(() => s.Send(new byte[1]));

        peer.AckAll([fin]);
        Assert.Equal(TcpState.FinWait2, s.State);
        Assert.Empty(h.Dispatch());

        peer.SendFin();
        Assert.Equal(TcpState.TimeWait, s.State);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(fin.Seq + 1, ack.Seq);
        Assert.True(s.IsReceiveFinished);

        h.Layer.Release(peer.Handle);
        Instant entered = h.Now;
        h.PollAt(entered + Duration.FromSeconds(30) - Duration.FromMillis(1));
        Assert.Equal(1, h.Layer.ConnectionCount);
        // A retransmitted FIN is ACKed again and restarts the 2 MSL timer (RFC 9293 3.10.7.4, TIME-WAIT).
        Instant refin = h.Now;
        h.Deliver(peer.Segment(TcpFlags.Fin | TcpFlags.Ack, seq: peer.Nxt - 1));
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
        h.PollAt(refin + Duration.FromSeconds(30) - Duration.FromMillis(1));
        Assert.Equal(1, h.Layer.ConnectionCount);
        h.PollAt(refin + Duration.FromSeconds(30));
        Assert.Equal(0, h.Layer.ConnectionCount); // the slot is freed
        Assert.Equal(h.Layer.FreeSockets, new TcpLayerOptions().MaxConnections);
        Assert.Equal(0, h.Pool.InUse);
    }

    [Fact]
    public void RstDoesNotEndTimeWait()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActiveIntoTimeWait(peer);
        h.Deliver(peer.Segment(TcpFlags.Rst, timestamps: false)); // RFC 1337: no TIME-WAIT assassination
        Assert.Equal(TcpState.TimeWait, s.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void DataForAConnectionTheApplicationReleasedIsAnsweredWithAReset()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(listener, peer);
        h.Layer.Release(peer.Handle); // close(2): our FIN goes out, nobody reads any more
        EmittedSegment fin = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack | TcpFlags.Fin, fin.Flags);
        peer.AckAll([fin]);
        Assert.Equal(TcpState.FinWait2, s.State);

        peer.SendData(TcpHarness.Bytes(300)); // as Linux: TCPAbortOnData
        EmittedSegment rst = h.DispatchOne();
        Assert.True((rst.Flags & TcpFlags.Rst) != 0);
        Assert.Equal(1L, h.Layer.Counters.AbortsOnData);
        Assert.Equal(0, h.Layer.ConnectionCount);
        Assert.Equal(0, h.Pool.InUse); // the data went back to the pool with the connection
    }

    [Fact]
    public void FreeAllReturnsTheBuffersOfConnectionsNobodyOwnsAnyMore()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(listener, peer);
        s.Close(); // we close first
        peer.AckAll(h.Dispatch());
        Assert.Equal(TcpState.FinWait2, s.State);
        h.Layer.Release(peer.Handle);
        peer.SendDataAt(peer.Nxt + 1000, TcpHarness.Bytes(100)); // out of order: held for a hole that never fills
        Assert.True(h.Pool.InUse > 0);
        Assert.Equal(1, h.Layer.ConnectionCount);

        h.Layer.FreeAll(); // an engine that stops
        Assert.Equal(0, h.Layer.ConnectionCount);
        Assert.Equal(0, h.Pool.InUse);
    }

    [Fact]
    public void TimeWaitKeepsARecordAndTheSocketGoesBackToThePoolWithItsUnreadData()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(listener, peer);
        s.Close(); // we close first: TIME-WAIT is ours
        peer.AckAll(h.Dispatch());
        peer.SendData(TcpHarness.Bytes(100), TcpFlags.Psh | TcpFlags.Fin); // still owned, not yet read
        EmittedSegment ack = h.DispatchOne(); // the FIN's ACK, sent by the record
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.Equal(TcpState.TimeWait, s.State); // the application still sees TIME-WAIT and can read
        Assert.Equal(100, s.ReceiveQueued);
        int free = h.Layer.FreeSockets;
        h.Layer.Release(peer.Handle);
        Assert.Equal(free + 1, h.Layer.FreeSockets); // the socket is back in the pool at once, its data with it
        Assert.Equal(0, h.Pool.InUse);
        Assert.Equal(1, h.Layer.ConnectionCount); // the record holds the 4-tuple
        Assert.Equal(1, h.Layer.TimeWaitCount);

        h.Deliver(peer.Segment(TcpFlags.Fin | TcpFlags.Ack, seq: peer.Nxt - 1)); // the record still answers
        Assert.Equal(peer.Nxt, h.DispatchOne().Ack);
        h.Layer.FreeAll();
        Assert.Equal(0, h.Layer.ConnectionCount);
    }

    [Fact]
    public void ASocketStillHeldWhenTimeWaitEndsIsClosedAndReported()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActiveIntoTimeWait(peer, new TcpConfig { TimeWait = Duration.FromSeconds(30) });
        Span<SocketHandle> ready = stackalloc SocketHandle[4];
        h.Layer.TakeReady(ready);
        h.PollAt(h.Now + Duration.FromSeconds(30));
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.None, s.Error);
        Assert.Equal(1, h.Layer.TakeReady(ready)); // its owner hears of it
        Assert.Equal(0, h.Layer.TimeWaitCount);
        Assert.Equal(1, h.Layer.ConnectionCount); // closed, and held until released
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void PassiveCloseGoesThroughCloseWaitAndLastAck()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        TcpSocket s = h.OpenPassive(listener, peer);
        peer.SendData(TcpHarness.Bytes(100), TcpFlags.Psh | TcpFlags.Fin);
        Assert.Equal(TcpState.CloseWait, s.State);
        EmittedSegment ack = h.DispatchOne(); // a FIN is ACKed at once
        Assert.Equal(peer.Nxt, ack.Ack);
        Assert.False(s.IsReceiveFinished); // 100 bytes still to read
        Assert.Equal(100, s.Receive(new byte[200]));
        Assert.True(s.IsReceiveFinished);

        // CLOSE-WAIT can still send.
        s.Send(TcpHarness.Bytes(10));
        s.Close();
        EmittedSegment dataFin = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack | TcpFlags.Psh | TcpFlags.Fin, dataFin.Flags);
        Assert.Equal(10, dataFin.Length);
        Assert.Equal(TcpState.LastAck, s.State);
        peer.AckAll([dataFin]);
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.None, s.Error);
        Assert.Empty(h.Dispatch());
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void HalfCloseKeepsReceivingAfterOurFin()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        s.Close();
        EmittedSegment fin = h.DispatchOne();
        peer.AckAll([fin]);
        Assert.Equal(TcpState.FinWait2, s.State);

        byte[] data = TcpHarness.Bytes(3000);
        peer.SendData(data.AsSpan(0, 1448));
        peer.SendData(data.AsSpan(1448, 1448));
        peer.SendData(data.AsSpan(2896));
        h.Advance(Duration.FromMillis(40));
        List<EmittedSegment> acks = h.Dispatch();
        Assert.Equal(peer.Nxt, acks[^1].Ack);
        Assert.All(acks, a => Assert.Equal(fin.Seq + 1, a.Seq));
        byte[] got = new byte[4000];
        Assert.Equal(3000, s.Receive(got));
        Assert.Equal(data, got[..3000]);
        peer.SendFin();
        Assert.Equal(TcpState.TimeWait, s.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void SimultaneousCloseGoesThroughClosing()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        s.Close();
        EmittedSegment fin = h.DispatchOne();
        Assert.Equal(TcpState.FinWait1, s.State);

        // The peer's FIN crosses ours: it does not acknowledge our FIN (RFC 9293 figure 13).
        h.Deliver(peer.Segment(TcpFlags.Fin | TcpFlags.Ack, ack: fin.Seq));
        peer.Nxt++;
        Assert.Equal(TcpState.Closing, s.State);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt, ack.Ack);

        peer.AckAll([fin]);
        Assert.Equal(TcpState.TimeWait, s.State);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ReleaseWithUnreadDataSendsRst()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        h.OpenActive(peer);
        Assert.True(peer.SendData(TcpHarness.Bytes(500)));
        Assert.Equal(1, h.Pool.InUse);
        h.Layer.Release(peer.Handle); // RFC 2525 2.17: data would be lost, so the peer must learn of it
        EmittedSegment rst = h.DispatchOne();
        Assert.True(rst.Has(TcpFlags.Rst));
        Assert.Equal(peer.RcvNxt, rst.Seq);
        Assert.False(h.Layer.TryGet(peer.Handle, out _));
        Assert.Equal(0, h.Layer.ConnectionCount);
        Assert.Equal(0, h.Pool.InUse);
    }

    [Fact]
    public void AbortSendsRstAndDropsBuffers()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        s.Send(TcpHarness.Bytes(100));
        EmittedSegment data = h.DispatchOne();
        peer.SendDataAt(peer.Nxt + 500, TcpHarness.Bytes(100)); // held out of order
        h.Dispatch();
        Assert.Equal(1, h.Pool.InUse);

        s.Abort();
        EmittedSegment rst = h.DispatchOne();
        Assert.True(rst.Has(TcpFlags.Rst)); // RFC 9293 3.10.5: <SEQ=SND.NXT><CTL=RST>
        Assert.Equal(data.Seq + 100, rst.Seq);
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal(TcpError.Aborted, s.Error);
        Assert.Equal(0, h.Pool.InUse);
        Assert.Empty(h.Dispatch());
        h.AssertAllReleased(peer);
    }
}
