using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class CubicCongestionControlTests
{
    private const int Smss = 1000;
    private const double C = 0.4;
    private const double Beta = 0.7;
    private static readonly SeqNumber s_iss = new(1);

    private static double Segments(CongestionControl cc) => cc.CongestionWindowBytes / (double)Smss;

    private static double WCubic(double t, double k, double wMax) => (C * Math.Pow(t - k, 3)) + wMax;

    // Slow start (from IW = 10 segments, +2 SMSS per 2-SMSS ACK) to exactly `segments`.
    private static CubicCongestionControl GrownTo(int segments, bool sack = true, bool fastConvergence = true)
    {
        var cc = new CubicCongestionControl(Smss, s_iss, sackRecovery: sack, fastConvergence: fastConvergence);
        while (cc.CongestionWindowBytes < segments * (long)Smss)
        {
            cc.OnAck(2 * Smss, Instant.Zero, Duration.Zero);
        }
        Assert.Equal(segments * (long)Smss, cc.CongestionWindowBytes);
        return cc;
    }

    // A loss with the pipe full (FlightSize = cwnd) followed at once by the full ACK. The duplicate ACKs
    // cover the previous recovery point, as RFC 6582 section 3.2 step 2 requires for a new recovery.
    private static void LoseAndRecover(CubicCongestionControl cc, Instant now)
    {
        long flight = cc.CongestionWindowBytes;
        SeqNumber una = cc.RecoverSeq + 1;
        for (int i = 0; i < 3; i++)
        {
            cc.OnDuplicateAck(una, flight, una + (int)flight, now);
        }
        Assert.True(cc.InRecovery);
        cc.OnExitRecovery(cc.CongestionWindowBytes, now);
    }

    // One RTT of ACKs: a window's worth of SMSS-sized ACKs spread evenly over the RTT.
    private static Instant AckOneRtt(CubicCongestionControl cc, Instant start, Duration rtt)
    {
        long acks = Math.Max(1, cc.CongestionWindowBytes / Smss);
        for (long i = 1; i <= acks; i++)
        {
            cc.OnAck(Smss, start + Duration.FromMicros(rtt.TotalMicros * i / acks), rtt);
        }
        return start + rtt;
    }

    [Fact]
    public void Loss_reduces_ssthresh_to_beta_times_the_window_and_records_w_max()
    {
        // RFC 9438 section 4.6: ssthresh = FlightSize * 0.7; with SACK recovery cwnd = ssthresh.
        CubicCongestionControl cc = GrownTo(1000);
        LoseAndRecover(cc, Instant.Zero);
        Assert.Equal(1000, cc.WMaxSegments);
        Assert.Equal((long)(Beta * 1000 * Smss), cc.SlowStartThresholdBytes);
        Assert.Equal((long)(Beta * 1000 * Smss), cc.CongestionWindowBytes);
    }

    [Fact]
    public void Newreno_style_recovery_inflates_by_three_segments_over_beta_w_max()
    {
        CubicCongestionControl cc = GrownTo(100, sack: false);
        SeqNumber una = s_iss + 1;
        for (int i = 0; i < 3; i++)
        {
            cc.OnDuplicateAck(una, 100 * Smss, una + (100 * Smss), Instant.Zero);
        }
        Assert.Equal(70 * Smss, cc.SlowStartThresholdBytes);
        Assert.Equal(73 * Smss, cc.CongestionWindowBytes);
    }

    [Fact]
    public void K_is_the_cube_root_of_w_max_times_one_minus_beta_over_c()
    {
        // RFC 9438 section 4.2 Figure 2 with cwnd_epoch = beta * W_max.
        CubicCongestionControl cc = GrownTo(1000);
        Instant t0 = Instant.FromMillis(10_000);
        LoseAndRecover(cc, t0);
        cc.OnAck(Smss, t0, Duration.FromMillis(100));
        Assert.Equal(Math.Cbrt(1000 * (1 - Beta) / C), cc.KSeconds, 6);
        Assert.Equal(9.0856, cc.KSeconds, 3);
    }

    [Fact]
    public void Window_follows_the_cubic_curve_after_a_loss()
    {
        // RFC 9438 sections 4.2-4.5: W_cubic(t) = C*(t-K)^3 + W_max; with the target at t + RTT and
        // (target - cwnd)/cwnd per ACK, cwnd stays within one RTT's worth of the curve.
        CubicCongestionControl cc = GrownTo(1000);
        Instant t0 = Instant.FromMillis(5_000);
        LoseAndRecover(cc, t0);
        Duration rtt = Duration.FromMillis(100);
        double k = Math.Cbrt(1000 * (1 - Beta) / C);

        Instant now = t0;
        var checkpoints = new[] { 1.0, 3.0, 6.0, 9.0, 12.0, 15.0 };
        int next = 0;
        while (next < checkpoints.Length)
        {
            now = AckOneRtt(cc, now, rtt);
            double t = (now - t0).TotalSeconds;
            if (t + 1e-9 >= checkpoints[next])
            {
                double expected = WCubic(t, k, 1000);
                double slack = Math.Max(2.0, WCubic(t + rtt.TotalSeconds, k, 1000) - expected);
                double actual = Segments(cc);
                Assert.True(Math.Abs(actual - expected) <= slack, $"t={t:0.0}s cwnd={actual:0.00} W_cubic={expected:0.00} slack={slack:0.00}");
                next++;
            }
        }

        // The plateau: around t = K the window sits at W_max, and beyond it the convex region exceeds it.
        Assert.True(Segments(cc) > 1000);
    }

    [Fact]
    public void Reno_friendly_region_dominates_on_a_short_rtt_small_window_path()
    {
        // RFC 9438 section 4.3: W_est grows by alpha_cubic = 3(1-beta)/(1+beta) per RTT until it reaches
        // cwnd_prior, then by 1 per RTT; when W_cubic(t) < W_est, cwnd = W_est.
        CubicCongestionControl cc = GrownTo(20);
        Instant t0 = Instant.FromMillis(1_000);
        LoseAndRecover(cc, t0);
        Duration rtt = Duration.FromMillis(1);
        double alpha = 3 * (1 - Beta) / (1 + Beta);

        Instant now = t0;
        for (int i = 1; i <= 10; i++)
        {
            now = AckOneRtt(cc, now, rtt);
            Assert.Equal(14 + (alpha * i), Segments(cc), 0.6);
        }
        for (int i = 0; i < 40; i++)
        {
            now = AckOneRtt(cc, now, rtt);
        }

        double k = Math.Cbrt(20 * (1 - Beta) / C);
        double cubic = WCubic((now - t0).TotalSeconds, k, 20);
        double rttsToPrior = (20 - 14) / alpha;
        double renoModel = 20 + (50 - rttsToPrior);
        Assert.True(cubic < 15, $"W_cubic={cubic}");
        Assert.Equal(renoModel, Segments(cc), 2.0);
        Assert.Equal(cc.RenoEstimateSegments, Segments(cc), 0.01);
    }

    [Fact]
    public void Fast_convergence_lowers_w_max_when_a_loss_comes_before_reaching_it()
    {
        // RFC 9438 section 4.7: W_max = cwnd * (1 + beta) / 2 when cwnd < W_max.
        CubicCongestionControl cc = GrownTo(1000);
        LoseAndRecover(cc, Instant.Zero);
        Instant now = Instant.Zero;
        for (int i = 0; i < 10; i++)
        {
            now = AckOneRtt(cc, now, Duration.FromMillis(100));
        }
        double cwndAtSecondLoss = Segments(cc);
        Assert.True(cwndAtSecondLoss < 1000);
        LoseAndRecover(cc, now);
        Assert.Equal(cwndAtSecondLoss * (1 + Beta) / 2, cc.WMaxSegments, 3);

        CubicCongestionControl plain = GrownTo(1000, fastConvergence: false);
        LoseAndRecover(plain, Instant.Zero);
        now = Instant.Zero;
        for (int i = 0; i < 10; i++)
        {
            now = AckOneRtt(plain, now, Duration.FromMillis(100));
        }
        double plainCwnd = Segments(plain);
        LoseAndRecover(plain, now);
        Assert.Equal(plainCwnd, plain.WMaxSegments, 3);
    }

    [Fact]
    public void Timeout_restarts_from_one_segment_with_k_zero_at_the_next_avoidance_stage()
    {
        // RFC 9438 section 4.8: Reno's loss window, ssthresh by beta_cubic, then K = 0 and W_max = cwnd.
        CubicCongestionControl cc = GrownTo(100);
        cc.OnRetransmitTimeout(100 * Smss, s_iss + (100 * Smss) + 1, Instant.Zero);
        Assert.Equal(Smss, cc.CongestionWindowBytes);
        Assert.Equal(70 * Smss, cc.SlowStartThresholdBytes);
        while (cc.InSlowStart)
        {
            cc.OnAck(Smss, Instant.Zero, Duration.Zero);
        }
        double cwndAtStart = Segments(cc);
        cc.OnAck(Smss, Instant.FromMillis(1), Duration.FromMillis(10));
        Assert.Equal(0, cc.KSeconds);
        Assert.Equal(cwndAtStart, cc.WMaxSegments);
    }

    [Fact]
    public void Target_is_capped_at_one_and_a_half_times_cwnd_per_rtt()
    {
        // RFC 9438 section 4.2: target <= 1.5 * cwnd, so one RTT of ACKs grows cwnd by at most half.
        CubicCongestionControl cc = GrownTo(100);
        LoseAndRecover(cc, Instant.Zero);
        // Far in the convex region W_cubic is huge; the clamp bounds growth.
        cc.OnAck(Smss, Instant.Zero, Duration.FromMillis(100));
        double before = Segments(cc);
        AckOneRtt(cc, Instant.FromMillis(100_000), Duration.FromMillis(100));
        Assert.True(Segments(cc) <= (before * 1.5) + 0.01, $"{before} -> {Segments(cc)}");
        Assert.True(Segments(cc) > before * 1.3);
    }
}
