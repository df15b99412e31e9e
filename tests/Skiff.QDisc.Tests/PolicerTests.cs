using Skiff.Hooks;
using Skiff.QDisc.Police;

namespace Skiff.QDisc.Tests;

/// <summary>srTCM (RFC 2697) and trTCM (RFC 2698): colour sequences, colour-aware metering, and the policer hook's actions.</summary>
public sealed class PolicerTests
{
    private static readonly Instant s_t0 = Instant.FromMillis(10);
    private static readonly PolicerColor G = PolicerColor.Green, Y = PolicerColor.Yellow, R = PolicerColor.Red;

    [Fact]
    public void SrTcm_colour_blind_spends_the_committed_then_the_excess_bucket_and_overflow_refills_excess()
    {
        // CIR 1000 bytes/s, CBS 2000, EBS 3000: both buckets start full.
        ColorMeter m = ColorMeter.SingleRate(new Rate(8000), 2000, 3000);
        PolicerColor[] seen = [.. Enumerable.Range(0, 6).Select(_ => m.Meter(1000, s_t0))];
        Assert.Equal(new[] { G, G, Y, Y, Y, R }, seen);
        Assert.Equal(G, m.Meter(1000, s_t0 + Duration.FromSeconds(1))); // 1000 tokens into the committed bucket
        Assert.Equal(R, m.Meter(1000, s_t0 + Duration.FromSeconds(1)));
        // 3 s idle: 2000 fill the committed bucket, the 1000 beyond it overflow into the excess bucket.
        Instant later = s_t0 + Duration.FromSeconds(4);
        Assert.Equal(new[] { G, G, Y, R }, Enumerable.Range(0, 4).Select(_ => m.Meter(1000, later)));
    }

    [Fact]
    public void SrTcm_colour_aware_never_improves_a_packets_colour()
    {
        ColorMeter m = ColorMeter.SingleRate(new Rate(8000), 2000, 3000, colorAware: true);
        Assert.Equal(Y, m.Meter(1000, s_t0, Y)); // yellow stays yellow with tokens in the committed bucket, and takes from excess
        Assert.Equal(R, m.Meter(1000, s_t0, R));
        Assert.Equal(G, m.Meter(1000, s_t0, G));
        Assert.Equal(2000 - 1000, m.CommittedTokens);
        Assert.Equal(3000 - 1000, m.ExcessTokens);
    }

    [Fact]
    public void TrTcm_colour_blind_is_red_over_the_peak_yellow_over_the_committed_rate()
    {
        // CIR 1000 bytes/s, CBS 2000; PIR 2000 bytes/s, PBS 3000.
        ColorMeter m = ColorMeter.TwoRate(new Rate(8000), 2000, new Rate(16000), 3000);
        Assert.Equal(new[] { G, G, Y, R, R }, Enumerable.Range(0, 5).Select(_ => m.Meter(1000, s_t0)));
        // Half a second: +1000 peak tokens, +500 committed: over CIR but within PIR.
        Assert.Equal(Y, m.Meter(1000, s_t0 + Duration.FromMillis(500)));
        Assert.Equal(R, m.Meter(1000, s_t0 + Duration.FromMillis(500)));
    }

    [Fact]
    public void TrTcm_colour_aware_keeps_pre_coloured_packets_at_most_as_good()
    {
        ColorMeter m = ColorMeter.TwoRate(new Rate(8000), 2000, new Rate(16000), 3000, colorAware: true);
        Assert.Equal(Y, m.Meter(1000, s_t0, Y));
        Assert.Equal(R, m.Meter(1000, s_t0, R));
        Assert.Equal(G, m.Meter(1000, s_t0, G));
        Assert.Equal(1000, m.CommittedTokens); // only the green one took committed tokens
        Assert.Equal(1000, m.ExcessTokens);    // green and yellow took peak tokens; red none
    }

    [Fact]
    public void The_policer_hook_passes_green_remarks_yellow_and_drops_red()
    {
        using TestFrames f = new();
        PolicerCounters counters = new();
        PolicerHook hook = new(ColorMeter.SingleRate(new Rate(8000), 1000, 1000),
            new PolicerActions(Yellow: PolicerAction.Remark, Red: PolicerAction.Drop), counters);
        HookContext context = new() { Now = s_t0 };
        PacketBuffer a = f.Udp(1000), b = f.Udp(1000), c = f.Udp(1000);
        Assert.Equal(HookVerdict.Pass, hook.Process(a, ref context));
        Assert.Equal(HookVerdict.Pass, hook.Process(b, ref context));
        Assert.Equal(12, b.Data[15] >> 2); // remarked AF12
        Assert.True(Skiff.Wire.Checksum.IsValid(b.Data.Slice(14, 20)));
        Assert.Equal(0, a.Data[15] >> 2);
        Assert.Equal(HookVerdict.Drop, hook.Process(c, ref context));
        Assert.Equal((1L, 1L, 1L, 1L, 1L), (counters.Green, counters.Yellow, counters.Red, counters.Dropped, counters.Remarked));
        foreach (PacketBuffer p in new[] { a, b, c })
        {
            p.Free();
        }
    }

    [Theory]
    [InlineData(10, PolicerColor.Green)]  // AF11
    [InlineData(12, PolicerColor.Yellow)] // AF12
    [InlineData(14, PolicerColor.Red)]    // AF13
    [InlineData(38, PolicerColor.Red)]    // AF43
    [InlineData(46, PolicerColor.Green)]  // EF
    [InlineData(0, PolicerColor.Green)]
    public void Af_drop_precedence_gives_the_pre_colour(byte dscp, PolicerColor color) => Assert.Equal(color, PolicerHook.PrecolorOf(dscp));
}
