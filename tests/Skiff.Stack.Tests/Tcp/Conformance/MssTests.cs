using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>The maximum segment size (RFC 9293 3.7.1, RFC 6691) and its floor against tiny-MSS attacks.</summary>
public sealed class MssTests
{
    [Theory]
    [InlineData(true, 536 - 12)]
    [InlineData(false, 536)]
    public void TinyPeerMssIsClampedToTheFloor(bool timestamps, int expectedMss)
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Mss = 64;
        peer.Timestamps = timestamps;
        TcpSocket s = h.OpenActive(peer, new TcpConfig { Nagle = false });
        Assert.Equal(expectedMss, s.SendMss);

        s.Send(TcpHarness.Bytes(5000));
        List<EmittedSegment> sent = h.Dispatch();
        Assert.Equal(5000, sent.Sum(x => x.Length));
        Assert.All(sent.SkipLast(1), x => Assert.Equal(expectedMss, x.Length));
        Assert.InRange(sent[^1].Length, 1, expectedMss);
        peer.AckAll(sent);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void MinMssFloorIsConfigurable()
    {
        using TcpHarness h = new();
        TcpPeer peer = h.Peer(port: 443, localPort: 50_000);
        peer.Mss = 64;
        peer.Timestamps = false;
        TcpSocket s = h.OpenActive(peer, new TcpConfig { MinMssBytes = 200 });
        Assert.Equal(200, s.SendMss);
        h.AssertAllReleased(peer);
    }

    [Fact]
    public void DataSegmentsNeverExceedTheEffectiveMss()
    {
        using TcpHarness h = new();
        TcpListener listener = h.Layer.Listen(TcpHarness.ServerPort, config: new TcpConfig { Nagle = false });
        TcpPeer peer = h.Peer();
        peer.Mss = 1000;
        TcpSocket s = h.OpenPassive(listener, peer);
        Assert.Equal(1000 - 12, s.SendMss); // the timestamp option comes out of the MSS (RFC 6691)

        int total = 0;
        for (int round = 0; round < 20; round++)
        {
            s.Send(TcpHarness.Bytes(3333, round));
            List<EmittedSegment> sent = h.Dispatch();
            Assert.All(sent, x => Assert.True(x.Length + (x.Repr.HeaderLength - 20) <= 1000, $"{x}: header options + payload exceed the peer's MSS"));
            total += sent.Sum(x => x.Length);
            peer.AckAll(sent);
        }
        h.Dispatch();
        Assert.Equal(20 * 3333, total);
        h.AssertAllReleased(peer);
    }
}
