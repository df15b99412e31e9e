using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class NewRenoCongestionControlTests
{
    private const int Smss = 1000;
    private static readonly SeqNumber s_iss = new(0xFFFF_FF00);
    private static readonly Instant s_now = Instant.FromMillis(1000);

    private static NewRenoCongestionControl Create(bool sack = false) => new(Smss, s_iss, sackRecovery: sack);

    [Theory]
    [InlineData(536, 5360)]
    [InlineData(1000, 10000)]
    [InlineData(1460, 14600)]
    [InlineData(4000, 14600)]
    [InlineData(9000, 18000)]
    public void Initial_window_is_RFC_6928(int mss, long expected)
    {
        Assert.Equal(expected, CongestionControl.InitialWindowBytes(mss));
        Assert.Equal(expected, new NewRenoCongestionControl(mss, s_iss).CongestionWindowBytes);
    }

    [Fact]
    public void Initial_window_is_one_segment_after_a_lost_syn()
    {
        // RFC 5681 section 3.1.
        Assert.Equal(Smss, new NewRenoCongestionControl(Smss, s_iss, synRetransmitted: true).CongestionWindowBytes);
    }

    [Fact]
    public void Slow_start_grows_by_bytes_acked_up_to_L_times_smss_per_ack()
    {
        // RFC 5681 section 3.1 / RFC 3465 section 2.3 with L = 2.
        var cc = Create();
        cc.OnAck(Smss, s_now, Duration.Zero);
        Assert.Equal(11_000, cc.CongestionWindowBytes);
        cc.OnAck(500, s_now, Duration.Zero);
        Assert.Equal(11_500, cc.CongestionWindowBytes);
        cc.OnAck(5 * Smss, s_now, Duration.Zero);
        Assert.Equal(13_500, cc.CongestionWindowBytes);
        Assert.True(cc.InSlowStart);
    }

    [Fact]
    public void Timeout_sets_ssthresh_to_half_the_flight_and_cwnd_to_one_segment()
    {
        // RFC 5681 section 3.1, equation 4 and the loss window.
        var cc = Create();
        cc.OnRetransmitTimeout(20_000, s_iss + 20_001, s_now);
        Assert.Equal(10_000, cc.SlowStartThresholdBytes);
        Assert.Equal(Smss, cc.CongestionWindowBytes);
        Assert.Equal(s_iss + 20_001, cc.RecoverSeq);

        // After an RTO, slow start grows by at most one SMSS per ACK (L = 1, RFC 3465 section 2.3).
        cc.OnAck(3 * Smss, s_now, Duration.Zero);
        Assert.Equal(2 * Smss, cc.CongestionWindowBytes);

        // A second expiry before any progress keeps ssthresh (RFC 5681 section 3.1 on repeated timeouts).
        var again = Create();
        again.OnRetransmitTimeout(20_000, s_iss + 20_001, s_now);
        again.OnRetransmitTimeout(1_000, s_iss + 20_001, s_now);
        Assert.Equal(10_000, again.SlowStartThresholdBytes);
    }

    [Fact]
    public void Congestion_avoidance_adds_one_smss_per_window_acknowledged()
    {
        // RFC 5681 equation 3 with RFC 3465 section 2.1 byte counting.
        var cc = Create();
        cc.OnRetransmitTimeout(8_000, s_iss + 8_001, s_now); // ssthresh 4000, cwnd 1000
        while (cc.InSlowStart)
        {
            cc.OnAck(Smss, s_now, Duration.Zero);
        }
        Assert.Equal(4_000, cc.CongestionWindowBytes);
        for (int i = 0; i < 3; i++)
        {
            cc.OnAck(Smss, s_now, Duration.Zero);
        }
        Assert.Equal(4_000, cc.CongestionWindowBytes);
        cc.OnAck(Smss, s_now, Duration.Zero);
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        for (int i = 0; i < 4; i++)
        {
            cc.OnAck(Smss, s_now, Duration.Zero);
        }
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        cc.OnAck(Smss, s_now, Duration.Zero);
        Assert.Equal(6_000, cc.CongestionWindowBytes);
    }

    [Fact]
    public void Congestion_avoidance_carries_bytes_beyond_cwnd_into_the_next_window()
    {
        // RFC 3465 section 2.1: bytes_acked is reduced by cwnd, not cleared.
        var cc = Create();
        cc.OnRetransmitTimeout(8_000, s_iss + 8_001, s_now);
        while (cc.InSlowStart)
        {
            cc.OnAck(Smss, s_now, Duration.Zero);
        }
        cc.OnAck(3_000, s_now, Duration.Zero);
        cc.OnAck(3_000, s_now, Duration.Zero); // 6000 >= 4000: cwnd 5000, 2000 carried
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        cc.OnAck(3_000, s_now, Duration.Zero); // 5000 >= 5000
        Assert.Equal(6_000, cc.CongestionWindowBytes);
    }

    [Fact]
    public void Third_duplicate_ack_enters_fast_recovery_and_later_ones_inflate()
    {
        // RFC 5681 section 3.2 steps 2-4, RFC 6582 section 3.2 step 2.
        var cc = Create();
        SeqNumber una = s_iss + 1;
        SeqNumber sndMax = una + 10_000;
        Assert.False(cc.OnDuplicateAck(una, 10_000, sndMax, s_now));
        Assert.False(cc.OnDuplicateAck(una, 10_000, sndMax, s_now));
        Assert.Equal(10_000, cc.CongestionWindowBytes);
        Assert.True(cc.OnDuplicateAck(una, 10_000, sndMax, s_now));
        Assert.True(cc.InRecovery);
        Assert.Equal(sndMax, cc.RecoverSeq);
        Assert.Equal(5_000, cc.SlowStartThresholdBytes);
        Assert.Equal(8_000, cc.CongestionWindowBytes);
        Assert.False(cc.OnDuplicateAck(una, 10_000, sndMax, s_now));
        Assert.Equal(9_000, cc.CongestionWindowBytes);
    }

    [Fact]
    public void Ssthresh_never_falls_below_two_segments()
    {
        var cc = Create();
        SeqNumber una = s_iss + 1;
        for (int i = 0; i < 3; i++)
        {
            cc.OnDuplicateAck(una, 3_000, una + 3_000, s_now);
        }
        Assert.Equal(2 * Smss, cc.SlowStartThresholdBytes);
        Assert.Equal(5 * Smss, cc.CongestionWindowBytes);
    }

    [Fact]
    public void A_new_ack_resets_the_duplicate_count()
    {
        var cc = Create();
        SeqNumber una = s_iss + 1;
        cc.OnDuplicateAck(una, 10_000, una + 10_000, s_now);
        cc.OnDuplicateAck(una, 10_000, una + 10_000, s_now);
        cc.OnAck(Smss, s_now, Duration.Zero);
        una += Smss;
        Assert.False(cc.OnDuplicateAck(una, 10_000, una + 10_000, s_now));
        Assert.False(cc.OnDuplicateAck(una, 10_000, una + 10_000, s_now));
        Assert.False(cc.InRecovery);
    }

    [Fact]
    public void Partial_acks_retransmit_and_deflate_and_only_the_first_restarts_the_timer()
    {
        // RFC 6582 section 3.2 step 3 (partial) and section 4 (Impatient timer).
        var cc = Create();
        SeqNumber una = s_iss + 1;
        SeqNumber sndMax = una + 10_000;
        for (int i = 0; i < 5; i++)
        {
            cc.OnDuplicateAck(una, 10_000, sndMax, s_now);
        }
        Assert.Equal(10_000, cc.CongestionWindowBytes); // 5000 + 3*1000 + 2 inflations

        SeqNumber ack = una + 3_000;
        Assert.False(cc.IsFullAck(ack));
        PartialAckAction first = cc.OnPartialAck(3_000);
        Assert.Equal(PartialAckAction.RetransmitFirstUnacked | PartialAckAction.RestartRetransmitTimer, first);
        Assert.Equal(10_000 - 3_000 + Smss, cc.CongestionWindowBytes);

        // Less than one SMSS acknowledged: deflate without the add-back.
        PartialAckAction second = cc.OnPartialAck(500);
        Assert.Equal(PartialAckAction.RetransmitFirstUnacked, second);
        Assert.Equal(7_500, cc.CongestionWindowBytes);
        Assert.True(cc.InRecovery);
    }

    [Fact]
    public void Full_ack_exits_with_cwnd_min_of_ssthresh_and_flight_plus_one_segment()
    {
        // RFC 6582 section 3.2 step 3, option (1).
        var small = Create();
        SeqNumber una = s_iss + 1;
        SeqNumber sndMax = una + 10_000;
        for (int i = 0; i < 3; i++)
        {
            small.OnDuplicateAck(una, 10_000, sndMax, s_now);
        }
        Assert.True(small.IsFullAck(sndMax));
        small.OnExitRecovery(2_000, s_now);
        Assert.False(small.InRecovery);
        Assert.Equal(3_000, small.CongestionWindowBytes);

        var large = Create();
        for (int i = 0; i < 3; i++)
        {
            large.OnDuplicateAck(una, 10_000, sndMax, s_now);
        }
        large.OnExitRecovery(8_000, s_now);
        Assert.Equal(5_000, large.CongestionWindowBytes);
    }

    [Fact]
    public void Duplicate_acks_below_recover_after_a_timeout_do_not_fast_retransmit()
    {
        // RFC 6582 section 3.2 step 4 then step 2: after an RTO, recover = highest sent; three duplicates for
        // an ACK that does not cover it must wait for the timer.
        var cc = Create();
        SeqNumber una = s_iss + 1;
        SeqNumber sndMax = una + 10_000;
        cc.OnRetransmitTimeout(10_000, sndMax, s_now);
        SeqNumber ack = una + 2_000;
        for (int i = 0; i < 3; i++)
        {
            Assert.False(cc.OnDuplicateAck(ack, 8_000, sndMax, s_now));
        }
        Assert.False(cc.InRecovery);
        Assert.Equal(1, cc.SuppressedFastRetransmits);

        // Once an ACK covers recover, the next triple duplicate starts a recovery again.
        cc.OnAck(8_000, s_now, Duration.Zero);
        for (int i = 0; i < 2; i++)
        {
            Assert.False(cc.OnDuplicateAck(sndMax, 4_000, sndMax + 4_000, s_now));
        }
        Assert.True(cc.OnDuplicateAck(sndMax, 4_000, sndMax + 4_000, s_now));
        Assert.Equal(sndMax + 4_000, cc.RecoverSeq);
    }

    [Fact]
    public void Sack_recovery_sets_cwnd_to_ssthresh_without_inflation_or_deflation()
    {
        // RFC 6675 section 5 step 4.2 and step B.
        var cc = Create(sack: true);
        SeqNumber una = s_iss + 1;
        SeqNumber sndMax = una + 10_000;
        for (int i = 0; i < 3; i++)
        {
            cc.OnDuplicateAck(una, 10_000, sndMax, s_now);
        }
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        cc.OnDuplicateAck(una, 10_000, sndMax, s_now);
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        Assert.Equal(PartialAckAction.RestartRetransmitTimer, cc.OnPartialAck(3_000));
        Assert.Equal(5_000, cc.CongestionWindowBytes);
        cc.OnExitRecovery(1_000, s_now);
        Assert.Equal(5_000, cc.CongestionWindowBytes);
    }

    [Fact]
    public void Acks_during_recovery_do_not_grow_the_window()
    {
        var cc = Create();
        SeqNumber una = s_iss + 1;
        for (int i = 0; i < 3; i++)
        {
            cc.OnDuplicateAck(una, 10_000, una + 10_000, s_now);
        }
        long before = cc.CongestionWindowBytes;
        cc.OnAck(Smss, s_now, Duration.Zero);
        Assert.Equal(before, cc.CongestionWindowBytes);
    }
}
