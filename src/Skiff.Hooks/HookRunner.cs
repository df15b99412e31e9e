namespace Skiff.Hooks;

/// <summary>
/// One hook in a chain: its name, priority and counters, and the burst loop that calls it. The chain makes one virtual
/// call per hook per burst (<see cref="Run"/>); inside, <see cref="HookRunner{THook}"/> calls the hook's struct directly.
/// </summary>
public abstract class HookRunner
{
    private protected HookRunner(string name, int priority, long id)
    {
        Name = name;
        Priority = priority;
        Id = id;
    }

    /// <summary>The name given when it was added (shown in metrics and <c>skiff stats</c>).</summary>
    public string Name { get; }

    /// <summary>Lower runs first, as in libxdp's dispatcher; equal priorities run in the order they were added.</summary>
    public int Priority { get; }

    /// <summary>Unique in its table; <see cref="HookTable.Remove"/> takes it.</summary>
    public long Id { get; }

    /// <summary>Frames per verdict.</summary>
    public HookCounters Counters { get; } = new();

    /// <summary>
    /// Runs the hook on every frame of <paramref name="frames"/> whose result is still <see cref="HookVerdict.Pass"/>
    /// and stores its verdict in <paramref name="results"/>. Loop thread only.
    /// </summary>
    public abstract void Run(ReadOnlySpan<PacketBuffer> frames, Span<HookResult> results, ref HookContext context);

    /// <summary>The name and priority, e.g. "drop-syn (priority 10)", for logs and error messages.</summary>
    public override string ToString() => $"{Name} (priority {Priority})";
}
