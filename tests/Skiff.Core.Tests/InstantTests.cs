namespace Skiff.Core.Tests;

public class InstantTests
{
    [Fact]
    public void NeverStaysNeverWhenDurationAdded()
    {
        Assert.Equal(Instant.Never, Instant.Never + Duration.FromSeconds(1));
        Assert.Equal(Instant.Never, Instant.Zero + Duration.Infinite);
    }

    [Fact]
    public void ArithmeticIsInMicroseconds()
    {
        Instant t = Instant.FromMillis(5) + Duration.FromMicros(250);
        Assert.Equal(5250, t.TotalMicros);
        Assert.Equal(Duration.FromMicros(5250), t - Instant.Zero);
        Assert.True(Instant.Zero < t);
    }

    [Fact]
    public void ManualClockRefusesToGoBackwards()
    {
        ManualClock clock = new();
        clock.Advance(Duration.FromMillis(3));
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(Duration.FromMicros(-1)));
        clock.AdvanceTo(Instant.FromMillis(1));
        Assert.Equal(Instant.FromMillis(3), clock.Now);
    }
}
