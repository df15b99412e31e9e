using Skiff.Devices;
using Skiff.Stack.Tcp;
using Skiff.Stack.Tests.Simulation;

namespace Skiff.Stack.Tests.Tcp;

/// <summary>Layer-wide TCP counters that metrics report: they must add up the connections' own counters and outlive them.</summary>
public class LayerCountersTests
{
    [Fact]
    public void Layer_retransmissions_are_the_sum_over_connections_and_survive_their_release()
    {
        ImpairmentOptions Lossy(ulong seed) => new() { Seed = seed, LossProbability = 0.05 };
        using StackPair pair = new(Lossy(7), Lossy(8));
        long aBefore = 0, bBefore = 0;
        for (ulong run = 0; run < 2; run++)
        {
            TransferRun transfer = new(pair, 256 * 1024, 100 + run, (ushort)(5001 + run));
            Assert.True(transfer.Transfer(Duration.FromSeconds(600)), $"transfer {run} did not finish (seeds 7, 8)");
            long aConnection = transfer.Client!.Counters.Retransmissions;
            long bConnection = transfer.Server!.Counters.Retransmissions;
            Assert.True(aConnection + bConnection > 0, "5 % loss each way caused no retransmission; the test would prove nothing");
            Assert.Equal(aBefore + aConnection, pair.A.Tcp.Counters.Retransmissions);
            Assert.Equal(bBefore + bConnection, pair.B.Tcp.Counters.Retransmissions);
            Assert.True(transfer.CloseBoth(Duration.FromSeconds(600)));
            // FIN retries during the close count too; read the totals after it (the sockets are released now).
            aBefore = pair.A.Tcp.Counters.Retransmissions;
            bBefore = pair.B.Tcp.Counters.Retransmissions;
        }
        Assert.Equal(2, pair.A.Tcp.Counters.ActiveOpens);
        Assert.Equal(2, pair.B.Tcp.Counters.PassiveOpens);
    }
}
