namespace Skiff.Hooks;

/// <summary>
/// An immutable, ordered list of hooks: what one burst runs through. <see cref="HookTable"/> builds a new chain for
/// every change and publishes it; the engine reads the current chain once per burst, so a change takes effect at a
/// burst boundary without a lock on the fast path.
/// </summary>
public sealed class HookChain
{
    /// <summary>The chain with no hooks: running it costs one branch per burst.</summary>
    public static readonly HookChain Empty = new([]);

    private readonly HookRunner[] _runners;

    internal HookChain(HookRunner[] runners) => _runners = runners;

    /// <summary>The hooks, in the order they run.</summary>
    public ReadOnlySpan<HookRunner> Runners => _runners;

    /// <summary>True when there is no hook.</summary>
    public bool IsEmpty => _runners.Length == 0;

    /// <summary>
    /// Runs every hook over <paramref name="frames"/>; <paramref name="results"/> (at least as long) gets each frame's
    /// verdict: a frame leaves the chain at the first hook that does not pass it. Returns false, touching nothing, when
    /// the chain is empty (every frame passes).
    /// </summary>
    public bool Run(ReadOnlySpan<PacketBuffer> frames, Span<HookResult> results, ref HookContext context)
    {
        HookRunner[] runners = _runners;
        if (runners.Length == 0)
        {
            return false;
        }
        results = results[..frames.Length];
        results.Clear();
        foreach (HookRunner runner in runners)
        {
            runner.Run(frames, results, ref context);
        }
        return true;
    }
}
