using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class RttEstimatorTests
{
    private static Duration Ms(long ms) => Duration.FromMillis(ms);

    [Fact]
    public void Initial_rto_is_one_second_before_any_sample()
    {
        var rtt = new RttEstimator();
        Assert.Equal(Duration.FromSeconds(1), rtt.Rto);
        Assert.False(rtt.HasSample);
    }

    [Fact]
    public void First_sample_sets_srtt_r_and_rttvar_half_r()
    {
        // RFC 6298 section 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR) = 100 + 200.
        var rtt = new RttEstimator();
        Assert.True(rtt.OnSample(Ms(100), fromRetransmittedSegment: false));
        Assert.Equal(Ms(100), rtt.SmoothedRtt);
        Assert.Equal(Ms(50), rtt.RttVariance);
        Assert.Equal(Ms(300), rtt.Rto);
    }

    [Fact]
    public void Later_samples_use_alpha_one_eighth_and_beta_one_quarter()
    {
        // RFC 6298 section 2.3: RTTVAR = 3/4*50 + 1/4*|100 - 200| = 62.5 ms; SRTT = 7/8*100 + 1/8*200 = 112.5 ms.
        var rtt = new RttEstimator();
        rtt.OnSample(Ms(100), false);
        rtt.OnSample(Ms(200), false);
        Assert.Equal(Duration.FromMicros(62_500), rtt.RttVariance);
        Assert.Equal(Duration.FromMicros(112_500), rtt.SmoothedRtt);
        Assert.Equal(Duration.FromMicros(112_500 + (4 * 62_500)), rtt.Rto);
    }

    [Fact]
    public void Clock_granularity_bounds_the_variance_term()
    {
        // With steady samples RTTVAR decays towards 0, so RTO = SRTT + G.
        var rtt = new RttEstimator(Ms(50), Ms(1), Duration.FromSeconds(60), Duration.FromSeconds(1));
        for (int i = 0; i < 60; i++)
        {
            rtt.OnSample(Ms(10), false);
        }
        Assert.Equal(Ms(60), rtt.Rto);
    }

    [Fact]
    public void Rto_is_floored_at_the_configured_minimum()
    {
        var linuxLike = new RttEstimator();
        linuxLike.OnSample(Ms(1), false);
        Assert.Equal(Ms(200), linuxLike.Rto);

        // RFC 6298 section 2.4's 1 s floor when configured.
        var rfc = new RttEstimator(Ms(1), Duration.FromSeconds(1), Duration.FromSeconds(60), Duration.FromSeconds(1));
        rfc.OnSample(Ms(1), false);
        Assert.Equal(Duration.FromSeconds(1), rfc.Rto);
    }

    [Fact]
    public void Karn_ignores_samples_from_retransmitted_segments_unless_timestamped()
    {
        var rtt = new RttEstimator();
        rtt.OnSample(Ms(100), false);
        Assert.False(rtt.OnSample(Ms(900), fromRetransmittedSegment: true));
        Assert.Equal(Ms(100), rtt.SmoothedRtt);
        Assert.Equal(1, rtt.RejectedSamples);

        // RFC 7323 section 4: a timestamp echo identifies the transmission, so the sample is valid.
        Assert.True(rtt.OnSample(Ms(900), fromRetransmittedSegment: true, fromTimestamp: true));
        Assert.Equal(Duration.FromMicros(((7 * 100_000) + 900_000) / 8), rtt.SmoothedRtt);
    }

    [Fact]
    public void Backoff_doubles_up_to_the_maximum_and_a_valid_sample_resets_it()
    {
        var rtt = new RttEstimator();
        rtt.OnSample(Ms(100), false);
        rtt.Backoff();
        Assert.Equal(Ms(600), rtt.Rto);
        rtt.Backoff();
        Assert.Equal(Ms(1200), rtt.Rto);

        // Karn: an ambiguous sample does not undo the backoff (RFC 6298 section 5 note).
        rtt.OnSample(Ms(100), fromRetransmittedSegment: true);
        Assert.Equal(Ms(1200), rtt.Rto);

        for (int i = 0; i < 20; i++)
        {
            rtt.Backoff();
        }
        Assert.Equal(Duration.FromSeconds(60), rtt.Rto);

        rtt.OnSample(Ms(100), false);
        Assert.Equal(0, rtt.BackoffCount);
        Assert.True(rtt.Rto < Ms(400));
    }

    [Fact]
    public void Syn_timeout_restarts_rto_at_three_seconds()
    {
        // RFC 6298 section 5.7.
        var rtt = new RttEstimator();
        rtt.Backoff();
        rtt.ResetAfterSynTimeout();
        Assert.Equal(Duration.FromSeconds(3), rtt.Rto);
    }

    [Fact]
    public void Rto_stays_within_bounds_and_above_srtt_for_any_samples()
    {
        Prop.ForAll<int[]>(samplesMs =>
        {
            var rtt = new RttEstimator();
            foreach (int s in samplesMs)
            {
                rtt.OnSample(Ms(Math.Abs(s % 100_000)), false);
                if (rtt.Rto < RttEstimator.DefaultMinRto || rtt.Rto > RttEstimator.DefaultMaxRto)
                {
                    return false;
                }
                if (rtt.SmoothedRtt < RttEstimator.DefaultMaxRto && rtt.Rto < rtt.SmoothedRtt)
                {
                    return false;
                }
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
