namespace Skiff;

/// <summary>
/// A monotonic clock. The engine owns the real one; tests own a <see cref="ManualClock"/>.
/// The sans-I/O layers never hold a clock: they are handed an <see cref="Instant"/>.
/// </summary>
public interface IClock
{
    /// <summary>The current instant; never earlier than a value read before.</summary>
    Instant Now { get; }
}
