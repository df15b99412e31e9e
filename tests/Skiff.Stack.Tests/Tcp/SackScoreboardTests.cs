using FsCheck;
using FsCheck.Fluent;
using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class SackScoreboardTests
{
    private const int Smss = 1000;

    // Near the wrap so that ranges cross zero.
    private static readonly SeqNumber s_una = new(0xFFFF_F000);

    private static SeqNumber At(int offset) => s_una + offset;

    private static SackBlock Block(int left, int right) => new(At(left), At(right));

    // Ten full segments outstanding: [una, una + 10000).
    private static SackScoreboard TenSegmentsSent(int maxRanges = SackScoreboard.DefaultMaxRanges)
    {
        var sb = new SackScoreboard(Smss, s_una, maxRanges);
        for (int i = 0; i < 10; i++)
        {
            sb.OnSegmentSent(At(i * Smss), Smss);
        }
        Assert.Equal(At(10_000), sb.HighData);
        return sb;
    }

    [Fact]
    public void A_timeout_keeps_the_sacked_ranges_and_resends_skip_them()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 4000), Block(5000, 10_000)], s_una);
        sb.BeginRecovery();
        Assert.True(sb.OnRetransmissionTimeout());
        Assert.False(sb.InRecovery);
        Assert.Equal(2, sb.RangeCount);
        Assert.Equal(s_una, sb.SkipSacked(s_una, out long room));
        Assert.Equal(1000, room);
        Assert.Equal(At(4000), sb.SkipSacked(At(1000), out room)); // SACKed: jump to the next hole
        Assert.Equal(1000, room);
        Assert.Equal(At(10_000), sb.SkipSacked(At(6000), out room));
        Assert.Equal(long.MaxValue, room);
    }

    [Fact]
    public void A_timeout_after_the_peer_reneged_forgets_every_range()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(3000, 5000)], s_una);
        // The peer's ACK moves to 3000 but not over the 3000-5000 it SACKed: it dropped them (RFC 2018 section 8).
        sb.Update([Block(3000, 5000)], At(3000));
        Assert.False(sb.OnRetransmissionTimeout());
        Assert.Equal(0, sb.RangeCount);
    }

    [Fact]
    public void Update_records_blocks_and_reports_new_information()
    {
        SackScoreboard sb = TenSegmentsSent();
        Assert.True(sb.Update([Block(1000, 2000)], s_una));
        Assert.True(sb.IsSacked(At(1000)));
        Assert.True(sb.IsSacked(At(1999)));
        Assert.False(sb.IsSacked(At(999)));
        Assert.False(sb.IsSacked(At(2000)));

        // The same block again is not new information (not a duplicate ACK under RFC 6675 section 2).
        Assert.False(sb.Update([Block(1000, 2000)], s_una));
    }

    [Fact]
    public void Adjacent_and_bridging_blocks_merge()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 2000), Block(3000, 4000)], s_una);
        Assert.Equal(2, sb.RangeCount);
        sb.Update([Block(2000, 2500)], s_una);
        Assert.Equal(2, sb.RangeCount);
        sb.Update([Block(2400, 3100)], s_una);
        Assert.Equal(1, sb.RangeCount);
        Assert.Equal(Block(1000, 4000), sb.Ranges[0]);
        Assert.Equal(3000, sb.SackedBytes);
        Assert.True(sb.MergedBlocks >= 2);
    }

    [Fact]
    public void Dsack_and_blocks_below_the_cumulative_ack_are_ignored_and_counted()
    {
        // RFC 2883 section 4: a first block at or below SEG.ACK reports a duplicate, not new SACK state.
        SackScoreboard sb = TenSegmentsSent();
        Assert.False(sb.Update([new SackBlock(s_una - 1000, s_una)], s_una));
        Assert.Equal(0, sb.RangeCount);
        Assert.Equal(1, sb.IgnoredBelowAckBlocks);

        // A block straddling SND.UNA keeps only its part above.
        sb.Update([new SackBlock(s_una - 500, At(500))], s_una);
        Assert.Equal(Block(0, 500), sb.Ranges[0]);
    }

    [Fact]
    public void Inverted_blocks_and_blocks_for_unsent_data_are_refused()
    {
        SackScoreboard sb = TenSegmentsSent();
        Assert.False(sb.Update([Block(2000, 1000), Block(1000, 1000), Block(9000, 11_000)], s_una));
        Assert.Equal(0, sb.RangeCount);
        Assert.Equal(3, sb.InvalidBlocks);
    }

    [Fact]
    public void Cumulative_ack_drops_and_trims_ranges()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 2000), Block(3000, 4000)], s_una);
        sb.Update([], At(3500));
        Assert.Equal(At(3500), sb.HighAck);
        Assert.Equal(1, sb.RangeCount);
        Assert.Equal(Block(3500, 4000), sb.Ranges[0]);
    }

    [Fact]
    public void The_range_bound_is_honoured_and_counted()
    {
        SackScoreboard sb = TenSegmentsSent(maxRanges: 4);
        for (int i = 1; i <= 5; i++)
        {
            sb.Update([Block(i * 1000, (i * 1000) + 100)], s_una);
        }
        Assert.Equal(4, sb.RangeCount);
        Assert.Equal(1, sb.RefusedRanges);
        Assert.False(sb.IsSacked(At(5000)));

        // A lower range evicts the highest one: the information nearest SND.UNA matters most for recovery.
        sb.Update([Block(500, 600)], s_una);
        Assert.Equal(4, sb.RangeCount);
        Assert.Equal(2, sb.RefusedRanges);
        Assert.True(sb.IsSacked(At(500)));
        Assert.False(sb.IsSacked(At(4000)));
    }

    [Fact]
    public void IsLost_needs_more_than_dupthresh_minus_one_segments_sacked_above()
    {
        // RFC 6675 section 4 IsLost: (DupThresh - 1) * SMSS = 2000 bytes is not enough; more is.
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 3000)], s_una);
        Assert.False(sb.IsLost(s_una));
        sb.Update([Block(3000, 3001)], s_una);
        Assert.True(sb.IsLost(s_una));
        Assert.False(sb.IsLost(At(3001)));
    }

    [Fact]
    public void IsLost_with_dupthresh_discontiguous_sacked_ranges_above()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(2000, 2100), Block(4000, 4100)], s_una);
        Assert.False(sb.IsLost(s_una));
        sb.Update([Block(6000, 6100)], s_una);
        Assert.True(sb.IsLost(s_una));
        Assert.False(sb.IsLost(At(2100)));
    }

    [Fact]
    public void SetPipe_counts_unsacked_not_lost_bytes_and_retransmissions()
    {
        // RFC 6675 section 4 SetPipe: segment 0 lost, 1-3 SACKed, 4-9 in flight.
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 4000)], s_una);
        Assert.Equal(6000, sb.SetPipe());

        sb.BeginRecovery();
        SackSegment rxt = sb.NextSeg(0);
        Assert.Equal(new SackSegment(SackSegmentKind.RetransmitLost, s_una, Smss), rxt);
        sb.OnSegmentSent(rxt.Start, rxt.LengthBytes);
        Assert.Equal(At(1000), sb.HighRxt);
        Assert.Equal(7000, sb.SetPipe());
    }

    [Fact]
    public void NextSeg_walks_rules_one_two_and_four()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 4000)], s_una);
        sb.BeginRecovery();

        // Rule 1: the lost segment at HighACK.
        SackSegment first = sb.NextSeg(5000);
        Assert.Equal(SackSegmentKind.RetransmitLost, first.Kind);
        sb.OnSegmentSent(first.Start, first.LengthBytes);

        // Rule 2: nothing else is lost, so new data at HighData.
        Assert.Equal(new SackSegment(SackSegmentKind.NewData, At(10_000), Smss), sb.NextSeg(5000));

        // Rule 3 does not apply (nothing unSACKed below the highest SACKed octet above HighRxt);
        // rule 4: one rescue segment ending at the highest unSACKed octet.
        SackSegment rescue = sb.NextSeg(0);
        Assert.Equal(new SackSegment(SackSegmentKind.Rescue, At(9000), Smss), rescue);
        sb.OnSegmentSent(rescue.Start, rescue.LengthBytes, isRescue: true);
        Assert.Equal(At(1000), sb.HighRxt);
        Assert.Equal(SackSegmentKind.None, sb.NextSeg(0).Kind);
    }

    [Fact]
    public void NextSeg_rule_three_retransmits_unsacked_data_not_yet_deemed_lost()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(2000, 3000)], s_una);
        sb.BeginRecovery();
        Assert.False(sb.IsLost(s_una));

        // New data wins over rule 3.
        Assert.Equal(new SackSegment(SackSegmentKind.NewData, At(10_000), 500), sb.NextSeg(500));
        Assert.Equal(new SackSegment(SackSegmentKind.RetransmitUnsacked, s_una, Smss), sb.NextSeg(0));
    }

    [Fact]
    public void Rescue_retransmission_happens_only_in_recovery_and_once()
    {
        // RFC 6675 section 4 NextSeg rule 4: one rescue per entry into loss recovery.
        SackScoreboard sb = TenSegmentsSent();
        Assert.Equal(SackSegmentKind.None, sb.NextSeg(0).Kind);
        sb.BeginRecovery();
        SackSegment rescue = sb.NextSeg(0);
        Assert.Equal(new SackSegment(SackSegmentKind.Rescue, At(9000), Smss), rescue);
        sb.OnSegmentSent(rescue.Start, rescue.LengthBytes, isRescue: true);
        Assert.Equal(SackSegmentKind.None, sb.NextSeg(0).Kind);
    }

    [Fact]
    public void NextSeg_never_includes_sacked_octets()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(500, 1000), Block(2000, 2100), Block(3000, 3100)], s_una);
        sb.BeginRecovery();
        Assert.Equal(new SackSegment(SackSegmentKind.RetransmitLost, s_una, 500), sb.NextSeg(0));
    }

    [Fact]
    public void Recovery_ends_when_the_ack_covers_the_recovery_point()
    {
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 4000)], s_una);
        sb.BeginRecovery();
        Assert.Equal(At(10_000), sb.RecoveryPoint);
        sb.Update([], At(9000));
        Assert.True(sb.InRecovery);
        sb.Update([], At(10_000));
        Assert.False(sb.InRecovery);
    }

    [Fact]
    public void Reset_on_timeout_forgets_sack_state()
    {
        // RFC 2018 section 8: after an RTO the SACKed bits are turned off (the receiver may renege).
        SackScoreboard sb = TenSegmentsSent();
        sb.Update([Block(1000, 4000)], s_una);
        sb.BeginRecovery();
        sb.Reset();
        Assert.Equal(0, sb.RangeCount);
        Assert.False(sb.IsSacked(At(1000)));
        Assert.False(sb.InRecovery);
        Assert.Equal(s_una, sb.HighRxt);
    }

    [Fact]
    public void Ranges_are_exactly_the_union_of_the_blocks_received()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            var sb = new SackScoreboard(Smss, s_una, maxRanges: 256);
            sb.OnSegmentSent(s_una, 256);
            var expected = new bool[256];
            for (int p = 0; p + 1 < bytes.Length; p += 2)
            {
                int left = Math.Min(bytes[p], bytes[p + 1]);
                int right = Math.Max(bytes[p], bytes[p + 1]);
                sb.Update([Block(left, right)], s_una);
                for (int i = left; i < right; i++)
                {
                    expected[i] = true;
                }
            }
            for (int i = 0; i < 256; i++)
            {
                if (sb.IsSacked(At(i)) != expected[i])
                {
                    return false;
                }
            }
            ReadOnlySpan<SackBlock> ranges = sb.Ranges;
            for (int i = 1; i < ranges.Length; i++)
            {
                if (ranges[i].Left <= ranges[i - 1].Right)
                {
                    return false;
                }
            }
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
