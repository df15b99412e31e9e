using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>ESTABLISHED with window scaling, timestamps and PAWS (RFC 7323).</summary>
public sealed class Rfc7323Tests
{
    [Fact]
    public void PeerWindowScaleAppliesAfterTheHandshakeButNotToTheSynAck()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.WindowScale = 7;
        peer.Window = 2896; // in the SYN-ACK: two segments' worth of bytes, not 2896 << 7 (RFC 7323 2.2)
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        s.Send(TcpHarness.Bytes(10_000));
        List<EmittedSegment> flight = h.Dispatch();
        Assert.Equal(2896, flight.Sum(x => x.Length));

        // The same field after the handshake means 100 << 7 = 12800 bytes.
        peer.AckAll(flight, window: 100);
        List<EmittedSegment> next = h.Dispatch();
        Assert.Equal(10_000 - 2896, next.Sum(x => x.Length)); // everything left fits in 12800 (and the initial cwnd)
        peer.AckAll(next);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void OurWindowIsScaledOnlyAfterTheSyn()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort, config: new TcpConfig { ReceiveBufferBytes = 1 << 20, MaxReceiveSegments = 2048 });
        TcpPeer peer = h.Peer();
        h.Deliver(peer.Syn());
        EmittedSegment synAck = h.DispatchOne();
        Assert.Equal((byte)5, synAck.Repr.WindowScale); // 1 MiB >> 5 = 32768
        Assert.Equal((ushort)65535, synAck.Repr.WindowLength);
        peer.OnSyn(synAck);
        peer.Nxt = peer.Iss + 1;
        h.Deliver(peer.AckSegment());
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        peer.Handle = sh;
        peer.SendData(TcpHarness.Bytes(1000));
        h.Advance(Duration.FromMillis(40));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(((1 << 20) - 1000 + 31) >> 5, ack.Repr.WindowLength);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void TimestampsEchoTsRecent()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { DelayedAck = false });
        peer.TsVal = 9_000;
        peer.SendData(TcpHarness.Bytes(100));
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(9_000u, ack.Repr.Timestamp?.EchoReply); // RFC 7323 4.3: TSecr = TS.Recent

        // TSval moves with our clock (1 ms ticks).
        uint before = ack.Repr.Timestamp!.Value.Value;
        h.Advance(Duration.FromMillis(250));
        s.Send(TcpHarness.Bytes(10));
        EmittedSegment data = h.DispatchOne();
        Assert.Equal(9_000u, data.Repr.Timestamp?.EchoReply);
        Assert.Equal(before + 250, data.Repr.Timestamp!.Value.Value);
        peer.AckAll([data]);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void PawsDropsASegmentWithAnOlderTsValAndAcksIt()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        TcpSocket s = h.OpenActive(peer);
        peer.TsVal = 10_000;
        peer.SendData(TcpHarness.Bytes(100));
        Assert.Equal(100, s.ReceiveQueued);
        h.Advance(Duration.FromMillis(40));
        h.Dispatch();

        peer.TsVal = 9_999; // older than TS.Recent: an old duplicate (RFC 7323 5.3 R1)
        Assert.False(peer.SendData(TcpHarness.Bytes(100)));
        Assert.Equal(100, s.ReceiveQueued);
        EmittedSegment ack = h.DispatchOne();
        Assert.Equal(TcpFlags.Ack, ack.Flags);
        Assert.Equal(peer.Nxt - 100, ack.Ack); // RCV.NXT did not move
        Assert.Equal(10_000u, ack.Repr.Timestamp?.EchoReply);
        Assert.Equal(1L, s.Counters.DroppedPaws);

        // The same bytes with a current TSval are taken.
        peer.TsVal = 10_001;
        peer.SendDataAt(peer.Nxt - 100, TcpHarness.Bytes(100)); // copied into the first segment's buffer
        Assert.Equal(200, s.ReceiveQueued);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void RttIsMeasuredFromTheEchoedTimestamp()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Handle = h.Layer.Connect(h.Now, TcpHarness.LocalAddress, TcpHarness.RemoteAddress, 443, new TcpConfig { Nagle = false }, 50_000);
        peer.OnSyn(h.DispatchOne());
        h.Advance(Duration.FromMillis(100));
        h.Deliver(peer.SynAck());
        peer.Nxt = peer.Iss + 1;
        peer.Observe(h.DispatchOne());
        TcpSocket s = peer.Socket;
        // First sample 100 ms (RFC 6298 2.2): SRTT 100, RTTVAR 50, RTO 300.
        Assert.Equal(Duration.FromMillis(300), s.RetransmissionTimeout);

        s.Send(TcpHarness.Bytes(100));
        EmittedSegment first = h.DispatchOne();
        h.Advance(Duration.FromMillis(200));
        s.Send(TcpHarness.Bytes(100));
        EmittedSegment second = h.DispatchOne();
        h.Advance(Duration.FromMillis(100));

        // One ACK for both, echoing the second segment's TSval: the sample is 100 ms (RFC 7323 4.1), not
        // the 300 ms since the first segment. RFC 6298 2.3: RTTVAR 3/4*50 + 1/4*0 = 37.5, SRTT 100, RTO 250.
        peer.AckAll([first, second]);
        Assert.Equal(second.Repr.Timestamp!.Value.Value, peer.TsEcr);
        Assert.Equal(Duration.FromMillis(250), s.RetransmissionTimeout);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void EveryByteUpToTheAdvertisedScaledEdgeIsAccepted()
    {
        // Window scale 3 (a 256 KiB buffer) and free space that is not a multiple of 8: the window field is
        // rounded, and the edge the peer computes (ACK + field << 3) must be exactly the edge we accept.
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_002);
        TcpSocket s = h.OpenActive(peer, new TcpConfig { ReceiveBufferBytes = 256 * 1024, DelayedAck = false });
        int sent = 0;
        for (int i = 0; sent < 250_001; i++)
        {
            int n = Math.Min(1401, 250_001 - sent); // odd sizes keep the free space off multiples of 8
            peer.SendData(TcpHarness.Bytes(n, i));
            sent += n;
        }
        EmittedSegment ack = h.Dispatch().Last();
        uint edge = ack.Ack + ((uint)ack.Repr.WindowLength << 3);
        int room = (int)(edge - peer.Nxt);
        Assert.InRange(room, 1, 262_144 - 250_001 + 7);
        while (room > 0)
        {
            int n = Math.Min(1000, room);
            peer.SendData(TcpHarness.Bytes(n, 7));
            room -= n;
        }
        h.Dispatch();
        Assert.Equal(0, s.Counters.BytesTrimmedBeyondWindow);
        Assert.Equal((int)(edge - (ack.Ack - (uint)sent)), s.ReceiveQueued);
        Assert.Equal(0, s.Counters.DroppedOutOfWindow);
        h.AssertAllReleased(peer);
    }
}
