namespace Skiff.QDisc.Tests;

/// <summary>TBF against tc-tbf(8): the rate held within 1 % over 10 simulated seconds, the burst, the peak rate, max_size.</summary>
public sealed class TbfTests
{
    /// <summary>Keeps <paramref name="q"/> backlogged with <paramref name="frameBytes"/> frames and follows its NextDequeueAt for <paramref name="span"/>; returns the bytes sent.</summary>
    internal static long Saturate(TestFrames f, QueueDiscipline q, int frameBytes, Instant start, Duration span, Func<int, int>? flowOf = null)
    {
        Instant end = start + span;
        Instant now = start;
        long bytes = 0;
        int sent = 0;
        while (now < end)
        {
            while (q.BacklogPackets < 64)
            {
                q.Enqueue(f.Udp(frameBytes, flow: flowOf?.Invoke(sent + q.BacklogPackets) ?? 1), now);
            }
            while (q.Dequeue(now) is PacketBuffer frame)
            {
                bytes += frame.Length;
                sent++;
                frame.Free();
                q.Enqueue(f.Udp(frameBytes, flow: flowOf?.Invoke(sent + q.BacklogPackets) ?? 1), now); // stay backlogged
            }
            Instant next = q.NextDequeueAt(now);
            Assert.True(next > now, "NextDequeueAt said now, but nothing could leave");
            now = next;
        }
        q.Reset();
        return bytes;
    }

    [Theory]
    [InlineData(1_000_000L)]
    [InlineData(10_000_000L)]
    [InlineData(100_000_000L)]
    [InlineData(1_000_000_000L)]
    [InlineData(10_000_000_000L)]
    public void Tbf_holds_its_rate_within_one_percent_over_ten_seconds(long bitsPerSecond)
    {
        using TestFrames f = new();
        Rate rate = new(bitsPerSecond);
        int burst = (int)Math.Max(2 * 1514, bitsPerSecond / 8 / 1000);
        TbfQDisc q = new(rate, burst, limitBytes: 1 << 30);
        long bytes = Saturate(f, q, 1514, Instant.FromMillis(5), Duration.FromSeconds(10));
        double expected = bitsPerSecond / 8.0 * 10 + burst;
        Assert.InRange(bytes, expected * 0.99, expected * 1.01);
    }

    [Fact]
    public void An_idle_tbf_lets_a_full_bucket_go_at_once_and_no_more()
    {
        using TestFrames f = new();
        TbfQDisc q = new(new Rate(8_000_000), burstBytes: 10_000, limitBytes: 100_000);
        Instant t = Instant.FromMillis(1);
        for (int i = 0; i < 20; i++)
        {
            q.Enqueue(f.Udp(1000), t);
        }
        Assert.Equal(10, TestFrames.Drain(q, t)); // 10 x 1000 bytes = the bucket
        Assert.Equal(t + Duration.FromMicros(1000), q.NextDequeueAt(t)); // 1000 bytes at 1 MB/s
        Assert.Equal(1, q.Statistics.Overlimits);
        q.Reset();
    }

    [Fact]
    public void A_peak_rate_spaces_back_to_back_frames_even_with_tokens_in_the_bucket()
    {
        using TestFrames f = new();
        // A big bucket at 1 Mbit/s, but at most 8 Mbit/s with a one-frame peak bucket: 1000-byte frames leave every 1 ms.
        TbfQDisc q = new(new Rate(1_000_000), burstBytes: 100_000, limitBytes: 100_000, peakRate: new Rate(8_000_000), mtu: 1000);
        Instant t = Instant.FromMillis(1);
        for (int i = 0; i < 5; i++)
        {
            q.Enqueue(f.Udp(1000), t);
        }
        Assert.Equal(1, TestFrames.Drain(q, t));
        for (int i = 1; i < 5; i++)
        {
            Instant next = q.NextDequeueAt(t);
            Assert.Equal(t + Duration.FromMillis(1), next);
            t = next;
            Assert.Equal(1, TestFrames.Drain(q, t));
        }
    }

    [Fact]
    public void A_frame_larger_than_the_bucket_is_dropped_on_arrival()
    {
        using TestFrames f = new();
        TbfQDisc q = new(new Rate(1_000_000), burstBytes: 1000, limitBytes: 100_000);
        Assert.Equal(QDiscVerdict.Dropped, q.Enqueue(f.Udp(1514), Instant.Zero));
        Assert.Equal(QDiscVerdict.Queued, q.Enqueue(f.Udp(1000), Instant.Zero));
        Assert.Equal(1, q.Statistics.Dropped);
        q.Reset();
    }

    [Fact]
    public void The_limit_derived_from_latency_bounds_the_queue()
    {
        using TestFrames f = new();
        TbfQDisc q = TbfQDisc.WithLatency(new Rate(8_000_000), 3000, Duration.FromMillis(10)); // 10 KB + 3 KB
        Assert.Equal(13_000, q.LimitBytes);
        int queued = 0;
        for (int i = 0; i < 20; i++)
        {
            if (q.Enqueue(f.Udp(1000), Instant.Zero) == QDiscVerdict.Queued)
            {
                queued++;
            }
        }
        Assert.Equal(13, queued);
        Assert.Equal(7, q.Statistics.Dropped);
        q.Reset();
    }
}
