using Skiff.Stack.Tcp;
using Skiff.Stack.Tests.Simulation;

namespace Skiff.Stack.Tests.Tcp.Conformance;

/// <summary>A few state-machine corners end to end: two full stacks over the in-memory link (<see cref="StackPair"/>).</summary>
public sealed class ScenarioTests
{
    [Fact]
    public void SimultaneousOpenEstablishesBothSidesAndCarriesData()
    {
        using StackPair pair = new();
        SocketHandle ha = pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.AddressB, 6000, localPort: 5000);
        SocketHandle hb = pair.B.Tcp.Connect(pair.Now, StackPair.AddressB, StackPair.AddressA, 5000, localPort: 6000);
        TcpSocket a = pair.A.Tcp.Get(ha);
        TcpSocket b = pair.B.Tcp.Get(hb);
        Assert.True(pair.RunUntil(() => a.State == TcpState.Established && b.State == TcpState.Established, Duration.FromSeconds(5)),
            $"A {a.State}, B {b.State}");
        Assert.Equal(0L, a.Counters.ResetsSent + b.Counters.ResetsSent);

        byte[] msg = TcpHarness.Bytes(10_000);
        Assert.Equal(msg.Length, a.Send(msg));
        MemoryStream got = new();
        byte[] buf = new byte[4096];
        Assert.True(pair.RunUntil(() =>
        {
            int n;
            while ((n = b.Receive(buf)) > 0)
            {
                got.Write(buf, 0, n);
            }
            return got.Length == msg.Length;
        }, Duration.FromSeconds(5)));
        Assert.Equal(msg, got.ToArray());
        CloseBoth(pair, ha, hb);
    }

    [Fact]
    public void SimultaneousCloseEndsInTimeWaitOnBothSidesAndFreesEverything()
    {
        using StackPair pair = new(linkDelay: Duration.FromMillis(5)); // the FINs are in flight together
        TcpListener listener = pair.B.Tcp.Listen(80);
        SocketHandle ha = pair.A.Tcp.Connect(pair.Now, StackPair.AddressA, StackPair.AddressB, 80);
        SocketHandle hb = default;
        Assert.True(pair.RunUntil(() => pair.B.Tcp.TryAccept(listener, out hb), Duration.FromSeconds(5)));
        TcpSocket a = pair.A.Tcp.Get(ha);
        TcpSocket b = pair.B.Tcp.Get(hb);
        Assert.True(pair.RunUntil(() => a.State == TcpState.Established, Duration.FromSeconds(5)));

        a.Close();
        b.Close(); // both FINs cross on the link (RFC 9293 figure 13): CLOSING on both sides
        Assert.True(pair.RunUntil(() => a.State == TcpState.TimeWait && b.State == TcpState.TimeWait, Duration.FromSeconds(5)),
            $"A {a.State}, B {b.State}");
        Assert.Equal(0L, a.Counters.Retransmissions + b.Counters.Retransmissions);
        pair.B.Tcp.CloseListener(listener);
        CloseBoth(pair, ha, hb);
    }

    private static void CloseBoth(StackPair pair, SocketHandle ha, SocketHandle hb)
    {
        pair.A.Tcp.Release(ha);
        pair.B.Tcp.Release(hb);
        pair.RunFor(Duration.FromSeconds(130));
        Assert.Equal(0, pair.A.Tcp.ConnectionCount);
        Assert.Equal(0, pair.B.Tcp.ConnectionCount);
        pair.Drain();
        Assert.Equal(0, pair.PoolA.InUse);
        Assert.Equal(0, pair.PoolB.InUse);
    }
}
