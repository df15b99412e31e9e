using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>D-SACK (RFC 2883): duplicates reported first in the SACK option, and D-SACKs recognised from the peer.</summary>
public sealed class DsackTests
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
    public void ADuplicateBelowTheCumulativeAckIsReportedOnceAsTheFirstBlock()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        uint n = peer.Nxt;
        Assert.True(peer.SendData(TcpHarness.Bytes(1000)));
        h.Dispatch();

        // The same segment again (a spurious retransmission): RFC 2883 4.1.1, one D-SACK block for it, at once.
        peer.SendDataAt(n, TcpHarness.Bytes(1000));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(n + 1000, ack.Ack);
        Assert.Equal([(n, n + 1000)], Blocks(ack));
        Assert.Equal(1L, s.Counters.DsacksSent);

        // Reported once: the next ACK carries no block.
        peer.SendData(TcpHarness.Bytes(100)); // coalesced into the tail frame: not "taken"
        h.Advance(Duration.FromMillis(200));
        EmittedSegment next = h.DispatchOne();
        Assert.Equal(n + 1100, next.Ack);
        Assert.Empty(Blocks(next));
        Assert.Equal(1L, s.Counters.DsacksSent);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void APartlyDuplicateSegmentReportsOnlyItsDuplicatePart()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        uint n = peer.Nxt;
        Assert.True(peer.SendData(TcpHarness.Bytes(1000)));
        h.Dispatch();
        // [n+500, n+1500): the first 500 bytes are held already, the rest is new.
        peer.SendDataAt(n + 500, TcpHarness.Bytes(1000));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(n + 1500, ack.Ack);
        Assert.Equal([(n + 500, n + 1000)], Blocks(ack));
        Assert.Equal(1500, s.ReceiveQueued);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void ADuplicateOfHeldOutOfOrderDataComesFirstThenTheBlockHoldingIt()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        uint n = peer.Nxt;
        Assert.True(peer.SendDataAt(n + 1000, TcpHarness.Bytes(500)));
        Assert.Equal([(n + 1000, n + 1500)], Blocks(h.DispatchOne()));
        // RFC 2883 4.1.2: the duplicate above RCV.NXT, then the SACK block that contains it.
        peer.SendDataAt(n + 1000, TcpHarness.Bytes(500));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(n, ack.Ack);
        Assert.Equal([(n + 1000, n + 1500), (n + 1000, n + 1500)], Blocks(ack));
        Assert.Equal(1L, s.Counters.DsacksSent);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void WithoutSackNoBlockIsSent()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.SackPermitted = false;
        TcpSocket s = h.OpenActive(peer);
        uint n = peer.Nxt;
        Assert.True(peer.SendData(TcpHarness.Bytes(1000)));
        h.Dispatch();
        peer.SendDataAt(n, TcpHarness.Bytes(1000));
        EmittedSegment ack = h.DispatchOne();
        Assert.Empty(Blocks(ack));
        Assert.Equal(0L, s.Counters.DsacksSent);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void APeersDsackIsRecognisedBelowTheAckAndInsideTheSecondBlock()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        int mss = s.SendMss;
        s.Send(TcpHarness.Bytes(4 * mss));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(4, flight.Count);
        uint a = flight[0].Seq;

        // Below the cumulative ACK (RFC 2883 4.1.1).
        TcpSackBlocks below = default;
        below.TryAdd(a, a + (uint)mss);
        peer.Observe(flight[1]);
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = below });
        Assert.Equal(1L, s.Counters.DsacksReceived);

        // Inside the second block (RFC 2883 4.1.2): a duplicate of SACKed data above the ACK.
        TcpSackBlocks inside = default;
        inside.TryAdd(a + 3 * (uint)mss, a + 4 * (uint)mss);
        inside.TryAdd(a + 3 * (uint)mss, a + 4 * (uint)mss);
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = inside });
        Assert.Equal(2L, s.Counters.DsacksReceived);

        // An ordinary SACK block is no D-SACK, nor is a block beyond what was sent.
        TcpSackBlocks ordinary = default;
        ordinary.TryAdd(a + 3 * (uint)mss, a + 4 * (uint)mss);
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = ordinary });
        TcpSackBlocks beyond = default;
        beyond.TryAdd(a + 10 * (uint)mss, a + 11 * (uint)mss);
        h.Deliver(peer.AckSegment(ack: a + 2 * (uint)mss) with { SackBlocks = beyond });
        Assert.Equal(2L, s.Counters.DsacksReceived);
        Assert.Equal(2L, h.Layer.Counters.DsacksReceived);

        peer.AckAll(flight);
        h.AssertAllReleased(peer);
    }
}
