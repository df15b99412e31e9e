using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>CLOSED: segments for no connection (RFC 9293 3.10.7.1).</summary>
public sealed class NoConnectionTests
{
    [Fact]
    public void SegmentWithAckGetsRstAtSegAck()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 4000, localPort: 81);
        h.Deliver(peer.Segment(TcpFlags.Ack | TcpFlags.Psh, seq: 1000, ack: 555_555), TcpHarness.Bytes(10));
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags); // <SEQ=SEG.ACK><CTL=RST>
        Assert.Equal(555_555u, rst.Seq);
        Assert.Equal(new TcpTuple(TcpHarness.LocalAddress, 81, TcpHarness.RemoteAddress, 4000), rst.Tuple);
        Assert.Null(rst.Repr.Timestamp);
        Assert.Equal(1L, h.Layer.Counters.ResetsForNoConnection);
        Assert.Equal(0, h.Pool.InUse);
    }

    [Theory]
    [InlineData(TcpFlags.Syn, 0, 1u)]
    [InlineData(TcpFlags.Fin, 10, 11u)]
    [InlineData(TcpFlags.Psh, 10, 10u)]
    [InlineData((TcpFlags)0, 0, 0u)]
    public void SegmentWithoutAckGetsRstAckCoveringIt(TcpFlags flags, int payload, uint expectedAdvance)
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 4000, localPort: 81);
        h.Deliver(peer.Segment(flags, seq: 77_000), TcpHarness.Bytes(payload));
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst | TcpFlags.Ack, rst.Flags); // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>
        Assert.Equal(0u, rst.Seq);
        Assert.Equal(77_000u + expectedAdvance, rst.Ack);
        Assert.Equal(0, h.Pool.InUse);
    }

    [Theory]
    [InlineData(TcpFlags.Rst)]
    [InlineData(TcpFlags.Rst | TcpFlags.Ack)]
    public void RstIsNeverAnsweredWithRst(TcpFlags flags)
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        h.Deliver(h.Peer(port: 4000, localPort: 81).Segment(flags, seq: 9, ack: 10));
        h.Deliver(h.Peer(port: 4000).Segment(flags, seq: 9, ack: 10)); // to the listener's port too
        Assert.Empty(h.Dispatch());
        Assert.Equal(0L, h.Layer.Counters.ResetsForNoConnection);
        Assert.Equal(0L, listener.SynsReceived);
    }

    [Fact]
    public void SegmentForAConnectionThatWasReleasedGetsRst()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        h.OpenActive(peer);
        h.Layer.Get(peer.Handle).Abort();
        h.Dispatch();
        h.Layer.Release(peer.Handle);
        Assert.Equal(0, h.Layer.ConnectionCount);
        h.Deliver(peer.AckSegment());
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(peer.RcvNxt, rst.Seq);
    }

    [Fact]
    public void ResetsForNoConnectionAreRateLimited()
    {
        using TcpHarness h = new(new TcpLayerOptions { ResetsPerSecond = 5 });
        for (int i = 0; i < 12; i++)
        {
            h.Deliver(h.Peer(port: (ushort)(4000 + i), localPort: 81).Segment(TcpFlags.Syn, seq: 1));
        }
        Assert.Equal(5, h.Dispatch().Count);
        Assert.Equal(7L, h.Layer.Counters.ResetsRateLimited);
    }
}
