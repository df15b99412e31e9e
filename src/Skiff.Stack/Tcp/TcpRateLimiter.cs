namespace Skiff.Stack.Tcp;

/// <summary>
/// A per-connection token bucket for challenge ACKs and RSTs (RFC 5961 section 7 "ACK throttling"; also
/// RFC 9293 section 3.10.7.4 and RFC 5961 sections 3-5 which send challenge ACKs). Per connection, not one
/// global counter, so that one attacked connection cannot silence the others (and the global-counter side
/// channel of CVE-2016-5696 does not exist). Up to <see cref="CountPerWindow"/> sends in any
/// <see cref="Window"/>, refilled continuously on the caller's clock. Allocation-free; not thread-safe.
/// </summary>
public sealed class TcpRateLimiter
{
    /// <summary>Default burst: 1, as Linux's per-socket <c>tcp_invalid_ratelimit</c>.</summary>
    public const int DefaultCountPerWindow = 1;

    /// <summary>Default window: 500 ms, as Linux's per-socket <c>tcp_invalid_ratelimit</c>.</summary>
    public static readonly Duration DefaultWindow = Duration.FromMillis(500);

    private readonly long _windowMicros;
    private readonly long _capacity;
    private long _credit;
    private long _lastMicros;
    private bool _started;

    /// <summary>Creates a limiter with Linux's per-socket rate (1 per 500 ms).</summary>
    public TcpRateLimiter()
        : this(DefaultCountPerWindow, DefaultWindow)
    {
    }

    /// <summary>
    /// Creates a full bucket allowing <paramref name="countPerWindow"/> sends per <paramref name="window"/>.
    /// Throws <see cref="ArgumentOutOfRangeException"/> unless count &gt;= 1 and 1 µs &lt;= window &lt;= 1 hour.
    /// </summary>
    public TcpRateLimiter(int countPerWindow, Duration window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(countPerWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(window.TotalMicros, 1, nameof(window));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(window.TotalMicros, 3_600_000_000L, nameof(window));
        CountPerWindow = countPerWindow;
        Window = window;
        _windowMicros = window.TotalMicros;
        // One token is worth _windowMicros credit; time adds CountPerWindow credit per microsecond.
        _capacity = countPerWindow * _windowMicros;
        _credit = _capacity;
    }

    /// <summary>A full budget again, as the constructor leaves it (for a pooled connection).</summary>
    public void Restart()
    {
        _credit = _capacity;
        _lastMicros = 0;
        _started = false;
        Allowed = 0;
        Refused = 0;
    }

    /// <summary>Sends allowed per <see cref="Window"/> (also the burst size).</summary>
    public int CountPerWindow { get; }

    /// <summary>The refill window.</summary>
    public Duration Window { get; }

    /// <summary>Sends permitted so far.</summary>
    public long Allowed { get; private set; }

    /// <summary>Sends refused by the limit (the counter for what this bound refused).</summary>
    public long Refused { get; private set; }

    /// <summary>
    /// Takes one token if available at <paramref name="now"/>: true means send the challenge ACK / RST,
    /// false means suppress it (counted in <see cref="Refused"/>). Time going backwards refills nothing.
    /// </summary>
    public bool TryAcquire(Instant now)
    {
        if (_started)
        {
            long elapsed = now.TotalMicros - _lastMicros;
            if (elapsed > 0)
            {
                elapsed = Math.Min(elapsed, _windowMicros);
                _credit = Math.Min(_capacity, _credit + (elapsed * CountPerWindow));
                _lastMicros = now.TotalMicros;
            }
        }
        else
        {
            _started = true;
            _lastMicros = now.TotalMicros;
        }

        if (_credit >= _windowMicros)
        {
            _credit -= _windowMicros;
            Allowed++;
            return true;
        }
        Refused++;
        return false;
    }
}
