using Skiff.Stack.Tcp;
using Skiff.Stack.Tests.Tcp.Conformance;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp;

/// <summary>TcpLayer.TakeReady: the application-owned connections with news, so an event loop visits only those.</summary>
public sealed class ReadyListTests
{
    private static List<SocketHandle> TakeAll(TcpLayer layer)
    {
        List<SocketHandle> all = new();
        Span<SocketHandle> batch = stackalloc SocketHandle[2]; // smaller than the list: what does not fit stays
        int n;
        while ((n = layer.TakeReady(batch)) > 0)
        {
            all.AddRange(batch[..n].ToArray());
        }
        return all;
    }

    [Fact]
    public void OnlyConnectionsWithNewsAreReadyAndEachOnce()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer[] peers = [h.Peer(port: 40_001), h.Peer(port: 40_002), h.Peer(port: 40_003), h.Peer(port: 40_004)];
        foreach (TcpPeer peer in peers)
        {
            h.OpenPassive(listener, peer);
        }
        TakeAll(h.Layer); // the handshakes
        Assert.Empty(TakeAll(h.Layer));

        peers[1].SendData(TcpHarness.Bytes(10));
        peers[1].SendData(TcpHarness.Bytes(10, 2));
        peers[3].SendFin();
        peers[2].SendData(TcpHarness.Bytes(10));
        h.Poll();
        Assert.Equal([peers[1].Handle, peers[3].Handle, peers[2].Handle], TakeAll(h.Layer));
        Assert.Empty(TakeAll(h.Layer));

        h.Poll(); // timers and dispatch with nothing new: nobody is ready
        Assert.Empty(TakeAll(h.Layer));
        foreach (TcpPeer peer in peers)
        {
            h.Layer.Get(peer.Handle).Abort();
        }
        h.Dispatch(); // the RSTs go out: CLOSED, news for every owner
        Assert.Equal(4, TakeAll(h.Layer).Distinct().Count());
        foreach (TcpPeer peer in peers)
        {
            h.Layer.Release(peer.Handle);
        }
        h.AssertAllReleased();
    }

    [Fact]
    public void AConnectionNobodyOwnsYetIsNotReported()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        TcpPeer peer = h.Peer();
        h.Deliver(peer.Syn());
        peer.OnSyn(h.DispatchOne());
        peer.Nxt = peer.Iss + 1;
        h.Deliver(peer.AckSegment());
        peer.SendData(TcpHarness.Bytes(10));
        Assert.Empty(TakeAll(h.Layer)); // in the accept queue: whoever accepts it looks at it then
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle handle));
        peer.SendData(TcpHarness.Bytes(10, 2));
        Assert.Equal([handle], TakeAll(h.Layer));
        h.Layer.Release(handle);
        Assert.Empty(TakeAll(h.Layer));
    }

    [Fact]
    public void GivingUpOnRetransmissionsMakesTheConnectionReady()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { MaxRetransmissions = 2 });
        TakeAll(h.Layer);
        s.Send(TcpHarness.Bytes(100));
        h.Dispatch();
        for (int i = 0; i < 10 && s.State != TcpState.Closed; i++)
        {
            Assert.Empty(TakeAll(h.Layer)); // retransmissions are no news for the application
            h.PollAt(h.Layer.PollAt(h.Now));
        }
        Assert.Equal(TcpState.Closed, s.State);
        Assert.Equal([peer.Handle], TakeAll(h.Layer));
        h.Layer.Release(peer.Handle);
    }
}

/// <summary>A poll visits the connections a segment, a timer or the application touched, not every connection.</summary>
public sealed class PollVisitsTests
{
    [Fact]
    public void IdleConnectionsAreNotVisitedAndTheirTimersStillFire()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort);
        List<TcpPeer> peers = new();
        for (int i = 0; i < 500; i++)
        {
            TcpPeer peer = h.Peer(port: (ushort)(20_000 + i));
            h.OpenPassive(listener, peer);
            peers.Add(peer);
        }
        h.Poll();
        Assert.Equal(0, h.Layer.PendingCount);
        Assert.Equal(Instant.Never, h.Layer.PollAt(h.Now)); // idle, no keep-alive: nothing to come back for

        // One of them gets a request; only it is visited, and its delayed ACK is the next deadline.
        Instant arrived = h.Now;
        peers[321].SendData(TcpHarness.Bytes(10));
        Assert.Equal(1, h.Layer.PendingCount);
        Assert.Empty(h.Poll());
        Assert.Equal(0, h.Layer.PendingCount);
        Assert.Equal(arrived + Duration.FromMillis(40), h.Layer.PollAt(h.Now));
        EmittedSegment ack = Assert.Single(h.PollAt(arrived + Duration.FromMillis(40)));
        Assert.Equal(peers[321].Port, ack.Repr.DestinationPort);

        // Another sends data nobody acknowledges: its retransmission timer fires among the idle ones.
        TcpSocket s = h.Layer.Get(peers[7].Handle);
        s.Send(TcpHarness.Bytes(100));
        Assert.Equal(1, h.Layer.PendingCount);
        EmittedSegment first = h.DispatchOne();
        Instant rto = h.Layer.PollAt(h.Now);
        Assert.Equal(h.Now + s.RetransmissionTimeout, rto);
        EmittedSegment again = Assert.Single(h.PollAt(rto));
        Assert.Equal(first.Seq, again.Seq);
        peers[7].AckAll([again]);
        h.Poll();
        Assert.Equal(Instant.Never, h.Layer.PollAt(h.Now));
        h.AssertAllReleased([.. peers]);
    }
}
