using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Tcp;

public class TcpRateLimiterTests
{
    private static readonly Instant s_t0 = Instant.FromMillis(10_000);

    [Fact]
    public void Allows_the_burst_then_refuses_and_counts()
    {
        var limiter = new TcpRateLimiter(3, Duration.FromSeconds(1));
        Assert.True(limiter.TryAcquire(s_t0));
        Assert.True(limiter.TryAcquire(s_t0));
        Assert.True(limiter.TryAcquire(s_t0));
        Assert.False(limiter.TryAcquire(s_t0));
        Assert.False(limiter.TryAcquire(s_t0 + Duration.FromMillis(1)));
        Assert.Equal(3, limiter.Allowed);
        Assert.Equal(2, limiter.Refused);
    }

    [Fact]
    public void Refills_one_token_per_window_over_count()
    {
        var limiter = new TcpRateLimiter(4, Duration.FromSeconds(1));
        for (int i = 0; i < 4; i++)
        {
            limiter.TryAcquire(s_t0);
        }
        Assert.False(limiter.TryAcquire(s_t0 + Duration.FromMillis(249)));
        Assert.True(limiter.TryAcquire(s_t0 + Duration.FromMillis(250)));
        Assert.False(limiter.TryAcquire(s_t0 + Duration.FromMillis(251)));
    }

    [Fact]
    public void A_long_idle_period_refills_only_up_to_the_burst()
    {
        var limiter = new TcpRateLimiter(2, Duration.FromSeconds(1));
        limiter.TryAcquire(s_t0);
        limiter.TryAcquire(s_t0);
        Instant later = s_t0 + Duration.FromSeconds(3600);
        Assert.True(limiter.TryAcquire(later));
        Assert.True(limiter.TryAcquire(later));
        Assert.False(limiter.TryAcquire(later));
    }

    [Fact]
    public void An_enormous_clock_jump_does_not_overflow_the_bucket()
    {
        var limiter = new TcpRateLimiter(1000, Duration.FromSeconds(3600));
        Assert.True(limiter.TryAcquire(Instant.Zero));
        Instant far = new(long.MaxValue / 2);
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryAcquire(far));
        }
        Assert.False(limiter.TryAcquire(far));
    }

    [Fact]
    public void Time_going_backwards_refills_nothing()
    {
        var limiter = new TcpRateLimiter(1, Duration.FromSeconds(1));
        Assert.True(limiter.TryAcquire(s_t0));
        Assert.False(limiter.TryAcquire(s_t0 - Duration.FromSeconds(5)));
        Assert.False(limiter.TryAcquire(s_t0 + Duration.FromMillis(999)));
        Assert.True(limiter.TryAcquire(s_t0 + Duration.FromMillis(1000)));
    }

    [Fact]
    public void Default_is_one_per_half_second_per_connection()
    {
        var a = new TcpRateLimiter();
        var b = new TcpRateLimiter();
        Assert.True(a.TryAcquire(s_t0));
        Assert.False(a.TryAcquire(s_t0 + Duration.FromMillis(499)));
        // Another connection's limiter is independent (RFC 5961 section 7, per connection).
        Assert.True(b.TryAcquire(s_t0));
        Assert.True(a.TryAcquire(s_t0 + Duration.FromMillis(500)));
    }
}
