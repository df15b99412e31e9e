using System.Net;
using System.Security.Cryptography;
using Skiff.Stack.Ipv6;
using Skiff.Stack.Udp;
using Skiff.Wire;

namespace Skiff.Engine.Tests;

/// <summary>The .NET API over IPv6 (SkiffStackOptions.Ipv6): a dual-stack listener and UDP socket, connects to an IPv6 endpoint.</summary>
public sealed class Ipv6Tests
{
    private static readonly Ipv6Address Ipv6A = Ipv6Address.Parse("fd00::1");
    private static readonly Ipv6Address Ipv6B = Ipv6Address.Parse("fd00::2");

    private static EnginePair Pair() => new(o => o with
    {
        Ipv6 = new Ipv6Options { Addresses = [new Ipv6Prefix(o.Addresses[0].Address == EnginePair.AddressA ? Ipv6A : Ipv6B, 64)], RouterSolicitations = false },
    });

    /// <summary>Connects once duplicate address detection (a second) has made A's address usable.</summary>
    private static async Task<SkiffConnection> ConnectAsync(SkiffStack stack, IPEndPoint remote)
    {
        DateTime end = DateTime.UtcNow + EnginePair.Timeout;
        while (true)
        {
            try
            {
                return await stack.ConnectAsync(remote).AsTask().WaitAsync(EnginePair.Timeout);
            }
            catch (InvalidOperationException e) when (e.Message.Contains("No usable IPv6 address", StringComparison.Ordinal) && DateTime.UtcNow < end)
            {
                await Task.Delay(100);
            }
        }
    }

    [Fact]
    public async Task A_dual_stack_listener_echoes_over_ipv6_and_ipv4_and_reports_ipv6_endpoints()
    {
        await using EnginePair pair = Pair();
        await using SkiffListener listener = pair.B.Listen(7);
        Task server = Echo.ServeAsync(listener, 2);
        foreach (IPEndPoint remote in new[] { new IPEndPoint(IPAddress.Parse("fd00::2"), 7), EnginePair.EndPointB(7) })
        {
            await using SkiffConnection client = await ConnectAsync(pair.A, remote);
            Assert.Equal(remote, client.RemoteEndPoint);
            Assert.Equal(remote.AddressFamily, client.LocalEndPoint.AddressFamily);
            byte[] payload = RandomNumberGenerator.GetBytes(200_000);
            Task<byte[]> echoed = Echo.ReadToEndAsync(client.Transport.Input);
            await client.Transport.Output.WriteAsync(payload);
            await client.CompleteAsync();
            Assert.Equal(payload, await echoed.WaitAsync(EnginePair.Timeout));
        }
        await server.WaitAsync(EnginePair.Timeout);
    }

    [Fact]
    public async Task Udp_datagrams_cross_over_ipv6_through_sockets_bound_on_every_address()
    {
        await using EnginePair pair = Pair();
        await using SkiffUdpSocket server = pair.B.BindUdp(7);
        await using SkiffUdpSocket client = pair.A.BindUdp();
        UdpEndpoint destination = new(Ipv6B, 7);
        byte[] buffer = new byte[2048];
        DateTime end = DateTime.UtcNow + EnginePair.Timeout;
        SkiffUdpReceiveResult got = default;
        while (got.ReceivedBytes == 0)
        {
            // Datagrams sent while the addresses are tentative (DAD) are dropped: send until one arrives.
            Assert.True(DateTime.UtcNow < end, "no datagram crossed over IPv6");
            await client.SendToAsync("six"u8.ToArray(), destination);
            using CancellationTokenSource wait = new(TimeSpan.FromMilliseconds(200));
            try
            {
                got = await server.ReceiveFromAsync(buffer, wait.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
        Assert.True(got.RemoteEndPoint.IsIpv6);
        Assert.Equal(new IpAddress(Ipv6A), got.RemoteEndPoint.Ip);
        await server.SendToAsync(buffer.AsMemory(0, got.ReceivedBytes), got.RemoteEndPoint);
        SkiffUdpReceiveResult back = await client.ReceiveFromAsync(buffer).AsTask().WaitAsync(EnginePair.Timeout);
        Assert.Equal(destination, back.RemoteEndPoint);
        Assert.Equal("six"u8.ToArray(), buffer[..back.ReceivedBytes]);
    }
}
