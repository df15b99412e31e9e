using System.Security.Cryptography;
using Skiff.Stack.Tcp;
using Skiff.Stack.Udp;

namespace Skiff.Stack.Tests.Simulation;

public class EndToEndTests
{
    [Fact]
    public void PingResolvesArpAndGetsTheDataBack()
    {
        using StackPair pair = new();
        Assert.True(pair.A.SendEchoRequest(pair.Now, StackPair.AddressB, 7, 1, 56));
        Interface.EchoReply reply = default;
        Assert.True(pair.RunUntil(() => pair.A.TryReceiveEchoReply(out reply), Duration.FromSeconds(2)));
        Assert.Equal(StackPair.AddressB, reply.Source);
        Assert.Equal((ushort)7, reply.Identifier);
        Assert.Equal((ushort)1, reply.Sequence);
        Assert.Equal(56, reply.DataLength);
        Assert.Equal(1, pair.B.Counters.IcmpEchoRepliesSent);
    }

    [Fact]
    public void UdpEchoCrossesBothWays()
    {
        using StackPair pair = new();
        UdpSocket server = pair.B.Udp.Bind(7);
        UdpSocket client = pair.A.Udp.Bind(0);
        byte[] message = "hello over skiff"u8.ToArray();
        Assert.True(client.TrySend(message, new UdpEndpoint(StackPair.AddressB, 7)));
        Assert.True(pair.RunUntil(() => server.CanReceive, Duration.FromSeconds(2)));
        byte[] buffer = new byte[100];
        Assert.True(server.TryReceive(buffer, out int n, out UdpEndpoint from));
        Assert.Equal(message, buffer[..n]);
        Assert.Equal(StackPair.AddressA, from.Address);
        Assert.True(server.TrySend(buffer.AsSpan(0, n), from));
        Assert.True(pair.RunUntil(() => client.CanReceive, Duration.FromSeconds(2)));
        Assert.True(client.TryReceive(buffer, out n, out from));
        Assert.Equal(message, buffer[..n]);
        Assert.Equal(new UdpEndpoint(StackPair.AddressB, 7), from);
    }

    [Fact]
    public void UdpEchoInPlaceSendsTheReceivedBufferBackWithoutACopy()
    {
        using StackPair pair = new();
        UdpSocket server = pair.B.Udp.Bind(7);
        UdpSocket client = pair.A.Udp.Bind(0);
        byte[] message = "echoed in place"u8.ToArray();
        Assert.True(client.TrySend(message, new UdpEndpoint(StackPair.AddressB, 7)));
        Assert.True(pair.RunUntil(() => server.CanReceive, Duration.FromSeconds(2)));
        Assert.True(server.TryReceive(out PacketBuffer? datagram, out UdpEndpoint from));
        int inUse = pair.PoolB.InUse;
        datagram.Checksum = ChecksumState.L4Verified; // what a device said on receive must not travel with the reply

        Assert.True(server.TrySend(datagram, from));
        Assert.Equal(inUse, pair.PoolB.InUse); // no second buffer: the received one is queued
        Assert.Equal(ChecksumState.None, datagram.Checksum);
        Assert.True(pair.RunUntil(() => client.CanReceive, Duration.FromSeconds(2)));
        Assert.True(client.TryReceive(out PacketBuffer? echoed, out UdpEndpoint source));
        Assert.Equal(message, echoed.Data.ToArray());
        Assert.Equal(new UdpEndpoint(StackPair.AddressB, 7), source);
        echoed.Free();
        Assert.Equal(0, pair.PoolB.InUse); // B's frame went out and was freed by the link: nothing leaked
    }

    [Fact]
    public void ZeroCopySendCopiesABufferWithoutRoomForHeadersAndKeepsOwnershipWhenFull()
    {
        using StackPair pair = new();
        UdpSocket client = pair.A.Udp.Bind(0, sendQueueDatagrams: 1);
        UdpSocket server = pair.B.Udp.Bind(7);
        Assert.True(pair.PoolA.TryAllocate(out PacketBuffer? tight));
        Assert.True(tight.TrySetData(UdpSocket.ZeroCopyHeadroomBytes - 1, 3));
        tight.Data.Fill(0x5a);

        Assert.True(client.TrySend(tight, new UdpEndpoint(StackPair.AddressB, 7))); // copied, and the original freed
        Assert.Equal(1, client.SendQueued);
        Assert.True(pair.PoolA.TryAllocate(out PacketBuffer? roomy));
        Assert.True(roomy.TrySetData(200, 3));
        Assert.False(client.TrySend(roomy, new UdpEndpoint(StackPair.AddressB, 7))); // queue full: still ours
        Assert.Equal(1, client.SendQueued);
        roomy.Free();

        Assert.True(pair.RunUntil(() => server.CanReceive, Duration.FromSeconds(2)));
        byte[] got = new byte[8];
        Assert.True(server.TryReceive(got, out int n, out _));
        Assert.Equal(new byte[] { 0x5a, 0x5a, 0x5a }, got[..n]);
    }

    [Fact]
    public void UdpToAClosedPortEarnsPortUnreachable()
    {
        using StackPair pair = new();
        UdpSocket client = pair.A.Udp.Bind(0);
        Assert.True(client.TrySend([1, 2, 3], new UdpEndpoint(StackPair.AddressB, 9999)));
        Assert.True(pair.RunUntil(() => pair.B.Counters.IcmpErrorsSent == 1, Duration.FromSeconds(2)));
        Assert.Equal(1, pair.B.Counters.Drops(DropReason.UdpNoSocket));
    }

    [Fact]
    public void TcpTransfersBothWaysAndClosesCleanly()
    {
        using StackPair pair = new();
        TcpListener listener = pair.B.Tcp.Listen(80);
        SocketHandle ch = pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.AddressB, 80);
        SocketHandle sh = default;
        Assert.True(pair.RunUntil(() => pair.B.Tcp.TryAccept(listener, out sh), Duration.FromSeconds(5)));
        TcpSocket client = pair.A.Tcp.Get(ch);
        TcpSocket server = pair.B.Tcp.Get(sh);
        Assert.Equal(TcpState.Established, server.State);
        Assert.True(pair.RunUntil(() => client.State == TcpState.Established, Duration.FromSeconds(5)));

        byte[] up = RandomNumberGenerator.GetBytes(1 << 20);
        byte[] down = RandomNumberGenerator.GetBytes(1 << 20);
        MemoryStream gotUp = new(), gotDown = new();
        int sentUp = 0, sentDown = 0;
        byte[] buf = new byte[65536];
        bool Progress()
        {
            if (sentUp < up.Length)
            {
                sentUp += client.Send(up.AsSpan(sentUp));
            }
            if (sentDown < down.Length)
            {
                sentDown += server.Send(down.AsSpan(sentDown));
            }
            int n;
            while ((n = server.Receive(buf)) > 0)
            {
                gotUp.Write(buf, 0, n);
            }
            while ((n = client.Receive(buf)) > 0)
            {
                gotDown.Write(buf, 0, n);
            }
            return gotUp.Length == up.Length && gotDown.Length == down.Length;
        }
        Assert.True(pair.RunUntil(Progress, Duration.FromSeconds(60)), $"up {gotUp.Length}, down {gotDown.Length}");
        Assert.Equal(up, gotUp.ToArray());
        Assert.Equal(down, gotDown.ToArray());

        client.Close();
        Assert.True(pair.RunUntil(() => server.IsReceiveFinished, Duration.FromSeconds(5)));
        server.Close();
        Assert.True(pair.RunUntil(() => server.State == TcpState.Closed && client.State == TcpState.TimeWait, Duration.FromSeconds(5)),
            $"server {server.State}, client {client.State}");
        pair.B.Tcp.Release(sh);
        pair.A.Tcp.Release(ch);
        pair.RunFor(Duration.FromSeconds(61));
        Assert.Equal(0, pair.A.Tcp.ConnectionCount);
        Assert.Equal(0, pair.B.Tcp.ConnectionCount);
        pair.Drain();
        Assert.Equal(0, pair.PoolA.InUse);
        Assert.Equal(0, pair.PoolB.InUse);
    }
}
