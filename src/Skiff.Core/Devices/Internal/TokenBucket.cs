namespace Skiff.Devices.Internal;

/// <summary>
/// A token bucket on the caller's clock, in fixed point (bytes × 10^6, so one microsecond at any integer
/// rate adds a whole number of units: no drift). Starts full at its first use. A frame may leave when the
/// bucket holds at least <c>min(frame, burst)</c> bytes and then takes its full size, so the bucket can go
/// negative and the long-run rate is exact even for frames larger than the burst. A mutable struct: keep it
/// in a field.
/// </summary>
internal struct TokenBucket
{
    private const long UnitsPerByte = 1_000_000; // one byte per second for one microsecond = 1 unit

    private readonly long _rateBytesPerSecond;
    private readonly long _burstBytes;
    private long _tokenUnits;
    private long _lastRefillMicros;
    private bool _started;

    /// <param name="rateBytesPerSecond">0 for unlimited, else at most 10^12.</param>
    /// <param name="burstBytes">Bucket depth, at least 1 when limited.</param>
    public TokenBucket(long rateBytesPerSecond, long burstBytes)
    {
        _rateBytesPerSecond = rateBytesPerSecond;
        _burstBytes = Math.Max(1, burstBytes);
    }

    public readonly bool IsUnlimited => _rateBytesPerSecond == 0;

    /// <summary>Takes <paramref name="bytes"/> if the bucket allows a frame that size at <paramref name="nowMicros"/>; false and unchanged otherwise.</summary>
    public bool TryConsume(int bytes, long nowMicros)
    {
        if (IsUnlimited)
        {
            return true;
        }
        Refill(nowMicros);
        if (_tokenUnits < NeededUnits(bytes))
        {
            return false;
        }
        _tokenUnits -= bytes * UnitsPerByte;
        return true;
    }

    /// <summary>Gives back what <see cref="TryConsume"/> took for a frame that did not leave after all.</summary>
    public void Refund(int bytes)
    {
        if (!IsUnlimited)
        {
            _tokenUnits = Math.Min(_burstBytes * UnitsPerByte, _tokenUnits + (bytes * UnitsPerByte));
        }
    }

    /// <summary>The earliest instant (µs) at which a frame of <paramref name="bytes"/> may leave, given no other consumption.</summary>
    public readonly long ReadyAtMicros(int bytes)
    {
        if (IsUnlimited || !_started)
        {
            return long.MinValue;
        }
        long missing = NeededUnits(bytes) - _tokenUnits;
        if (missing <= 0)
        {
            return _lastRefillMicros;
        }
        return _lastRefillMicros + ((missing + _rateBytesPerSecond - 1) / _rateBytesPerSecond);
    }

    private readonly long NeededUnits(int bytes) => Math.Min(bytes, _burstBytes) * UnitsPerByte;

    private void Refill(long nowMicros)
    {
        if (!_started)
        {
            _started = true;
            _lastRefillMicros = nowMicros;
            _tokenUnits = _burstBytes * UnitsPerByte;
            return;
        }
        long elapsedMicros = nowMicros - _lastRefillMicros;
        if (elapsedMicros <= 0)
        {
            return;
        }
        _lastRefillMicros = nowMicros;
        long capacityUnits = _burstBytes * UnitsPerByte;
        long missing = capacityUnits - _tokenUnits;
        if (missing <= 0)
        {
            return;
        }
        // Compare in time first so elapsed × rate cannot overflow after a long idle spell.
        long microsToFull = (missing + _rateBytesPerSecond - 1) / _rateBytesPerSecond;
        _tokenUnits = elapsedMicros >= microsToFull ? capacityUnits : _tokenUnits + (elapsedMicros * _rateBytesPerSecond);
    }
}
