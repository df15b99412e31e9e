using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

/// <summary>Proportional Rate Reduction (RFC 6937): how much recovery may send per ACK.</summary>
public sealed class PrrTests
{
    private const int Mss = 1000;

    /// <summary>NewReno with SACK recovery, 20 segments in flight, recovery entered: ssthresh = 10 segments, RecoverFS = 20.</summary>
    private static NewRenoCongestionControl InRecovery()
    {
        NewRenoCongestionControl cc = new(Mss, new SeqNumber(0), sackRecovery: true);
        cc.OnEnterRecovery(20 * Mss, new SeqNumber(20 * Mss), Instant.Zero);
        Assert.Equal(10 * Mss, cc.SlowStartThresholdBytes);
        return cc;
    }

    [Fact]
    public void AboveSsthreshItSendsSsthreshOverRecoverFsOfWhatIsDelivered()
    {
        NewRenoCongestionControl cc = InRecovery();
        long pipe = 19 * Mss; // one segment lost
        long sent = 0;
        List<long> perAck = new();
        for (int ack = 0; ack < 8; ack++)
        {
            pipe -= Mss; // one segment delivered (SACKed)
            cc.OnRecoveryAck(Mss, pipe);
            long sndcnt = cc.CongestionWindowBytes - pipe;
            long now = 0;
            while (sndcnt - now >= Mss) // the connection sends whole segments while cwnd - pipe allows
            {
                now += Mss;
            }
            cc.OnRecoveryDataSent(now);
            pipe += now;
            sent += now;
            perAck.Add(now / Mss);
        }
        // RFC 6937 3: sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out; the first ACK always lets the
        // fast retransmit go (ahead of the ratio, so the next one waits an ACK longer). 10/20: one segment every second ACK.
        Assert.Equal([1, 0, 0, 1, 0, 1, 0, 1], perAck);
        Assert.Equal(8 * Mss, cc.PrrDelivered);
        Assert.Equal(4 * Mss, cc.PrrOut);
        Assert.Equal(sent, cc.PrrOut);
    }

    [Fact]
    public void BelowSsthreshSlowStartReductionBoundGrowsBackByOneSegmentPerAck()
    {
        NewRenoCongestionControl cc = InRecovery();
        // Heavy loss: only 4 segments still in flight. PRR-SSRB: sndcnt = MIN(ssthresh - pipe, MAX(prr_delivered - prr_out, DeliveredData) + MSS).
        cc.OnRecoveryAck(Mss, 4 * Mss);
        Assert.Equal(4 * Mss + 2 * Mss, cc.CongestionWindowBytes); // max(1, 1) + 1 segments
        cc.OnRecoveryDataSent(2 * Mss);
        cc.OnRecoveryAck(Mss, 5 * Mss);
        Assert.Equal(5 * Mss + 2 * Mss, cc.CongestionWindowBytes); // max(2 - 2, 1) + 1
        // Never beyond ssthresh.
        cc.OnRecoveryAck(5 * Mss, 9 * Mss);
        Assert.Equal(10 * Mss, cc.CongestionWindowBytes);
    }

    [Fact]
    public void RecoveryEndsAtSsthreshAndDoesNothingOutsideIt()
    {
        NewRenoCongestionControl cc = InRecovery();
        cc.OnRecoveryAck(Mss, 2 * Mss);
        Assert.True(cc.CongestionWindowBytes < cc.SlowStartThresholdBytes);
        cc.OnExitRecovery(2 * Mss, Instant.Zero);
        Assert.Equal(10 * Mss, cc.CongestionWindowBytes); // RFC 6937 3: cwnd = ssthresh at the end
        cc.OnRecoveryAck(Mss, Mss);
        Assert.Equal(10 * Mss, cc.CongestionWindowBytes);
    }

    [Fact]
    public void AnUndoRestoresTheWindowFromBeforeTheLossResponse()
    {
        CubicCongestionControl cc = new(Mss, new SeqNumber(0), sackRecovery: true);
        cc.OnAck(20 * Mss, Instant.Zero, Duration.FromMillis(10)); // slow start to 30 segments (limit 2 per ACK is per call: 2)
        long cwnd = cc.CongestionWindowBytes;
        long ssthresh = cc.SlowStartThresholdBytes;
        cc.OnRetransmitTimeout(cwnd, new SeqNumber((uint)cwnd), Instant.Zero);
        Assert.Equal(Mss, cc.CongestionWindowBytes);
        Assert.True(cc.CanUndo);
        Assert.True(cc.UndoLossResponse());
        Assert.Equal(cwnd, cc.CongestionWindowBytes);
        Assert.Equal(ssthresh, cc.SlowStartThresholdBytes);
        Assert.False(cc.UndoLossResponse()); // once
        Assert.Equal(1L, cc.Undos);

        cc.OnEnterRecovery(cwnd, new SeqNumber((uint)(2 * cwnd)), Instant.Zero);
        cc.DiscardUndo(); // the loss was real
        Assert.False(cc.UndoLossResponse());
        Assert.True(cc.CongestionWindowBytes < cwnd);
    }
}
