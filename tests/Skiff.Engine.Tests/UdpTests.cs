using Skiff.Stack.Udp;

namespace Skiff.Engine.Tests;

public sealed class UdpTests
{
    [Fact]
    public async Task Udp_echo_returns_every_datagram_and_receive_can_be_cancelled()
    {
        await using EnginePair pair = new();
        await using SkiffUdpSocket server = pair.B.BindUdp(7);
        await using SkiffUdpSocket client = pair.A.BindUdp();
        using CancellationTokenSource stop = new();
        Task echo = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            while (true)
            {
                SkiffUdpReceiveResult r = await server.ReceiveFromAsync(buffer, stop.Token);
                await server.SendToAsync(buffer.AsMemory(0, r.ReceivedBytes), r.RemoteEndPoint);
            }
        });
        UdpEndpoint destination = new(EnginePair.AddressB, 7);
        byte[] reply = new byte[2048];
        for (int i = 0; i < 200; i++)
        {
            byte[] payload = new byte[64 + i];
            payload[0] = (byte)i;
            await client.SendToAsync(payload, destination).AsTask().WaitAsync(EnginePair.Timeout);
            SkiffUdpReceiveResult r = await client.ReceiveFromAsync(reply).AsTask().WaitAsync(EnginePair.Timeout);
            Assert.Equal(payload.Length, r.ReceivedBytes);
            Assert.Equal((byte)i, reply[0]);
            Assert.Equal(destination, r.RemoteEndPoint);
        }
        using (CancellationTokenSource cts = new(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ReceiveFromAsync(reply, cts.Token).AsTask().WaitAsync(EnginePair.Timeout));
        }
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => echo.WaitAsync(EnginePair.Timeout));
    }

    [Fact]
    public async Task A_second_outstanding_receive_is_refused()
    {
        await using EnginePair pair = new();
        await using SkiffUdpSocket socket = pair.A.BindUdp(9);
        using CancellationTokenSource cts = new();
        ValueTask<SkiffUdpReceiveResult> first = socket.ReceiveFromAsync(new byte[16], cts.Token);
        Assert.Throws<InvalidOperationException>(() => socket.ReceiveFromAsync(new byte[16]));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first.AsTask().WaitAsync(EnginePair.Timeout));
    }
}
