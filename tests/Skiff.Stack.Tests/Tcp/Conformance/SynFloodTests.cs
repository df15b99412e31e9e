using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>LISTEN under a SYN flood: a bounded SYN queue, then SYN cookies (RFC 4987 3.6).</summary>
public sealed class SynFloodTests
{
    private const int MaxHalfOpen = 8;
    private const int Flood = 10_000;

    private static TcpListener Flooded(TcpHarness h, out int synAcks)
    {
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort, maxHalfOpen: MaxHalfOpen);
        synAcks = 0;
        for (int i = 0; i < Flood; i++)
        {
            TcpPeer attacker = h.Peer(port: (ushort)(1024 + i), iss: (uint)(i * 7919));
            h.Deliver(attacker.Syn());
            Assert.True(listener.HalfOpen <= MaxHalfOpen);
            Assert.True(h.Layer.ConnectionCount <= MaxHalfOpen);
            if (i % 32 == 31)
            {
                synAcks += h.Dispatch().Count(x => x.Is(TcpFlags.Syn | TcpFlags.Ack));
            }
        }
        synAcks += h.Dispatch().Count(x => x.Is(TcpFlags.Syn | TcpFlags.Ack));
        return listener;
    }

    [Fact]
    public void FloodKeepsHalfOpenStateBoundedAndAnswersWithCookies()
    {
        using TcpHarness h = new();
        TcpListener listener = Flooded(h, out int synAcks);
        Assert.Equal(MaxHalfOpen, listener.HalfOpen);
        Assert.Equal(MaxHalfOpen, h.Layer.ConnectionCount);
        Assert.Equal(Flood, listener.SynsReceived);
        Assert.Equal(Flood - MaxHalfOpen, listener.SynCookiesSent);
        Assert.Equal(Flood, synAcks); // every SYN answered, none dropped
        Assert.Equal(0L, h.Layer.Counters.ControlRepliesDropped);
        h.Layer.CloseListener(listener);
        h.AssertAllReleased();
    }

    [Fact]
    public void ClientCompletingTheCookieHandshakeGetsAConnectionWithWindowScalingAndSack()
    {
        using TcpHarness h = new();
        TcpListener listener = Flooded(h, out _);
        TcpPeer client = h.Peer(port: 30_000, iss: 123_456);
        client.TsVal = 70_000;
        h.Deliver(client.Syn());
        EmittedSegment synAck = h.DispatchOne();
        Assert.Equal(TcpFlags.Syn | TcpFlags.Ack, synAck.Flags);
        Assert.Equal(client.Iss + 1, synAck.Ack);
        Assert.Equal((ushort)TcpHarness.LocalMss, synAck.Repr.MaxSegmentSize);
        Assert.Equal((byte)3, synAck.Repr.WindowScale);
        Assert.True(synAck.Repr.SackPermitted);
        Assert.Equal(70_000u, synAck.Repr.Timestamp?.EchoReply);
        Assert.Equal(MaxHalfOpen, listener.HalfOpen); // no state was kept for it

        client.OnSyn(synAck);
        client.Nxt = client.Iss + 1;
        client.Window = 30; // scaled by the peer's shift of 7: 3840 bytes
        h.Deliver(client.AckSegment()); // ACK = cookie + 1
        Assert.Equal(1L, listener.SynCookiesAccepted);
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        client.Handle = sh;
        TcpSocket s = client.Socket;
        Assert.Equal(TcpState.Established, s.State);
        Assert.Equal(1460 - 12, s.SendMss);

        // Data both ways.
        byte[] up = TcpHarness.Bytes(100);
        Assert.True(client.SendData(up));
        byte[] got = new byte[200];
        Assert.Equal(100, s.Receive(got));
        Assert.Equal(up, got[..100]);
        s.Send(TcpHarness.Bytes(5000));
        List<EmittedSegment> down = h.Dispatch();
        Assert.Equal(2 * s.SendMss, down.Sum(x => x.Length)); // 3840 bytes of window: the peer's scale is in use
        Assert.All(down, x => Assert.Equal(client.Nxt, x.Ack));
        Assert.Equal((ushort)(((256 * 1024) - 100 + 7) >> 3), down[0].Repr.WindowLength); // ours is scaled too (edge kept, RFC 9293 3.8.6.2.2)

        // SACK is in use: an out-of-order segment is reported.
        client.RcvNxt = down[^1].Seq + (uint)down[^1].Length;
        client.SendDataAt(client.Nxt + 1000, TcpHarness.Bytes(10));
        EmittedSegment sackAck = h.Dispatch().Last();
        Assert.Equal(1, sackAck.Repr.SackBlocks.Count);
        Assert.Equal((client.Nxt + 1000, client.Nxt + 1010), sackAck.Repr.SackBlocks[0]);

        h.Layer.CloseListener(listener);
        h.AssertAllReleased(client);
    }

    [Fact]
    public void CookieConnectionWithoutTimestampsUsesNoWindowScaleOrSack()
    {
        using TcpHarness h = new();
        TcpListener listener = Flooded(h, out _);
        TcpPeer client = h.Peer(port: 30_000, iss: 5);
        client.Timestamps = false;
        client.Mss = 1000;
        h.Deliver(client.Syn());
        EmittedSegment synAck = h.DispatchOne();
        Assert.Null(synAck.Repr.WindowScale); // nowhere to keep them without the timestamp (RFC 4987 3.6)
        Assert.False(synAck.Repr.SackPermitted);
        Assert.Null(synAck.Repr.Timestamp);
        client.OnSyn(synAck);
        client.Nxt = client.Iss + 1;
        h.Deliver(client.AckSegment());
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        client.Handle = sh;
        Assert.InRange(client.Socket.SendMss, 536, 1000); // the cookie keeps an MSS no larger than offered
        h.Layer.CloseListener(listener);
        h.AssertAllReleased(client);
    }

    [Fact]
    public void ForgedCookieAckIsRejectedWithRst()
    {
        using TcpHarness h = new();
        TcpListener listener = Flooded(h, out _);
        TcpPeer forger = h.Peer(port: 30_000, iss: 5);
        forger.Nxt = 6;
        h.Deliver(forger.AckSegment(ack: 0xDEAD_BEEF));
        EmittedSegment rst = h.DispatchOne();
        Assert.Equal(TcpFlags.Rst, rst.Flags);
        Assert.Equal(0xDEAD_BEEFu, rst.Seq);
        Assert.Equal(1L, listener.SynCookiesRejected);
        Assert.False(listener.CanAccept);
        h.Layer.CloseListener(listener);
        h.AssertAllReleased();
    }

    [Fact]
    public void CookieForAWindowScaleAbove14UsesFourteen()
    {
        using TcpHarness h = new();
        TcpListener listener = Flooded(h, out _);
        TcpPeer client = h.Peer(port: 30_000, iss: 77);
        client.WindowScale = 15; // RFC 7323 2.3: treated as 14, and it must not break the cookie
        h.Deliver(client.Syn());
        EmittedSegment synAck = h.DispatchOne();
        Assert.Equal((byte)3, synAck.Repr.WindowScale);
        client.OnSyn(synAck);
        client.Nxt = client.Iss + 1;
        client.Window = 1; // 1 << 14 = 16384 bytes
        h.Deliver(client.AckSegment());
        Assert.True(h.Layer.TryAccept(listener, out SocketHandle sh));
        client.Handle = sh;
        TcpSocket s = client.Socket;
        s.Send(TcpHarness.Bytes(100_000));
        List<EmittedSegment> sent = h.Dispatch();
        Assert.Equal(Math.Min(16384 / s.SendMss, 10) * s.SendMss, sent.Sum(x => x.Length));
        client.AckAll(sent);
        h.Layer.CloseListener(listener);
        h.AssertAllReleased(client);
    }
}
