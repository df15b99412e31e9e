using Skiff.Devices.Internal;

namespace Skiff.Core.Tests.Devices;

public class ImpairRandomTests
{
    [Fact]
    public void Xoshiro256StarStarMatchesTheReferenceOutput()
    {
        // Reference C implementation (prng.di.unimi.it) from state {1, 2, 3, 4}.
        Xoshiro256StarStar rng = new(1, 2, 3, 4);
        Assert.Equal(11520UL, rng.NextUInt64());
        Assert.Equal(0UL, rng.NextUInt64());
        Assert.Equal(1509978240UL, rng.NextUInt64());
        Assert.Equal(1215971899390074240UL, rng.NextUInt64());
    }

    [Fact]
    public void SplitMix64MatchesTheReferenceOutput()
    {
        ulong state = 1234567;
        Assert.Equal(6457827717110365317UL, Xoshiro256StarStar.SplitMix64(ref state));
        Assert.Equal(3203168211198807973UL, Xoshiro256StarStar.SplitMix64(ref state));
        Assert.Equal(9817491932198370423UL, Xoshiro256StarStar.SplitMix64(ref state));
    }

    [Fact]
    public void NextBelowStaysInRangeAndCoversIt()
    {
        Xoshiro256StarStar rng = new(99);
        int[] seen = new int[7];
        for (int i = 0; i < 70_000; i++)
        {
            ulong v = rng.NextBelow(7);
            Assert.True(v < 7);
            seen[v]++;
        }
        Assert.All(seen, n => Assert.InRange(n, 9_500, 10_500));
    }

    [Fact]
    public void ChanceOfZeroOrOneDrawsNothing()
    {
        Xoshiro256StarStar a = new(5);
        Xoshiro256StarStar b = new(5);
        Assert.False(a.NextChance(0.0));
        Assert.True(a.NextChance(1.0));
        Assert.Equal(b.NextUInt64(), a.NextUInt64());
    }

    [Fact]
    public void TokenBucketLetsAnOversizedFrameGoWhenFullAndThenRepaysIt()
    {
        TokenBucket bucket = new(rateBytesPerSecond: 1_000_000, burstBytes: 1_000);
        Assert.True(bucket.TryConsume(3_000, 0)); // full bucket: goes, bucket now -2,000 bytes
        Assert.False(bucket.TryConsume(100, 0));
        Assert.Equal(2_100, bucket.ReadyAtMicros(100)); // 2,100 bytes at 1 byte/us
        Assert.False(bucket.TryConsume(100, 2_099));
        Assert.True(bucket.TryConsume(100, 2_100));
    }

    [Fact]
    public void TokenBucketSurvivesALongIdleSpellWithoutOverflow()
    {
        TokenBucket bucket = new(rateBytesPerSecond: 1_000_000_000_000, burstBytes: int.MaxValue);
        Assert.True(bucket.TryConsume(int.MaxValue, 0));
        Assert.True(bucket.TryConsume(int.MaxValue, long.MaxValue / 2));
        Assert.False(bucket.TryConsume(1, long.MaxValue / 2));
    }
}
