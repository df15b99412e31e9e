namespace Skiff;

/// <summary>A clock that moves only when told to. Not thread-safe; for tests and simulations.</summary>
/// <param name="start">The instant the clock shows until it is first advanced; default <see cref="Instant.Zero"/>.</param>
public sealed class ManualClock(Instant start = default) : IClock
{
    /// <summary>The instant the clock shows: <c>start</c> until it is advanced.</summary>
    public Instant Now { get; private set; } = start;

    /// <summary>Moves the clock forward by <paramref name="by"/>; zero leaves it where it is.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="by"/> is negative: a monotonic clock cannot go backwards.</exception>
    public void Advance(Duration by)
    {
        if (by < Duration.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(by), "A monotonic clock cannot go backwards.");
        }
        Now += by;
    }

    /// <summary>Moves the clock to <paramref name="to"/> if that is later than now; earlier instants are ignored.</summary>
    public void AdvanceTo(Instant to)
    {
        if (to > Now)
        {
            Now = to;
        }
    }
}
