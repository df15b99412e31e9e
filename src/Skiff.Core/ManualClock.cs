namespace Skiff;

/// <summary>A clock that moves only when told to. Not thread-safe; for tests and simulations.</summary>
public sealed class ManualClock(Instant start = default) : IClock
{
    public Instant Now { get; private set; } = start;

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
