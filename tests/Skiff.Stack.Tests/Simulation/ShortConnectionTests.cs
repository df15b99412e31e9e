using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Simulation;

/// <summary>Connection churn: sockets, their algorithm state and TIME-WAIT entries are recycled, not reallocated.</summary>
public class ShortConnectionTests
{
    private static readonly byte[] s_request = new byte[64];
    private static readonly byte[] s_buffer = new byte[256];

    /// <summary>Connect, 64-byte request, 64-byte reply, server closes, client closes; plain loops, no closures.</summary>
    private static void OneExchange(StackPair pair, TcpListener listener)
    {
        SocketHandle ch = pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.AddressB, 8080);
        TcpSocket client = pair.A.Tcp.Get(ch);
        SocketHandle sh;
        int guard = 0;
        while (!pair.B.Tcp.TryAccept(listener, out sh))
        {
            Step(pair, ref guard);
        }
        TcpSocket server = pair.B.Tcp.Get(sh);
        while (client.State != TcpState.Established)
        {
            Step(pair, ref guard);
        }
        client.Send(s_request);
        int got = 0;
        while (got < s_request.Length)
        {
            Step(pair, ref guard);
            got += server.Receive(s_buffer);
        }
        server.Send(s_request);
        server.Close();
        got = 0;
        while (got < s_request.Length || !client.IsReceiveFinished)
        {
            Step(pair, ref guard);
            got += client.Receive(s_buffer);
        }
        client.Close();
        pair.A.Tcp.Release(ch);
        pair.B.Tcp.Release(sh);
        Step(pair, ref guard);
        Step(pair, ref guard);
    }

    private static void Step(StackPair pair, ref int guard)
    {
        pair.PollOnce();
        pair.Clock.Advance(Duration.FromMicros(10));
        if (++guard > 10_000)
        {
            throw new InvalidOperationException("An exchange did not complete in 10,000 polls.");
        }
    }

    [Fact]
    public void TwoThousandShortConnectionsAllocateNothingAndTimeWaitStaysBounded()
    {
        using StackPair pair = new(tcp: new TcpLayerOptions { MaxConnections = 512, MaxTimeWait = 100 });
        TcpListener listener = pair.B.Tcp.Listen(8080, backlog: 64);
        // Warm-up creates every pooled socket and algorithm object once; then five rounds of 400 exchanges.
        long allocated = Skiff.TestSupport.Allocations.LeastPerRound(() => OneExchange(pair, listener), warmup: 1000, rounds: 5, perRound: 400);

        Assert.Equal(0, allocated);
        Assert.InRange(pair.B.Tcp.TimeWaitCount, 1, 100);
        Assert.True(pair.B.Tcp.Counters.TimeWaitRecycled >= 2000, $"recycled {pair.B.Tcp.Counters.TimeWaitRecycled}");
        Assert.Equal(0, pair.A.Tcp.ConnectionCount - pair.A.Tcp.TimeWaitCount);
        Assert.Equal(pair.B.Tcp.TimeWaitCount, pair.B.Tcp.ConnectionCount);

        // TIME-WAIT ends on time and everything is returned.
        pair.RunFor(Duration.FromSeconds(61));
        Assert.Equal(0, pair.A.Tcp.ConnectionCount);
        Assert.Equal(0, pair.B.Tcp.ConnectionCount);
        pair.Drain();
        Assert.Equal(0, pair.PoolA.InUse);
        Assert.Equal(0, pair.PoolB.InUse);
    }
}
