namespace Skiff.Hooks;

/// <summary>
/// The hooks of one point (RX or TX) of one engine loop, changeable while the loop runs. Writers (any thread) take a lock
/// and publish a new <see cref="HookChain"/>; the loop reads <see cref="Current"/> once per burst with no lock, so the
/// new chain takes effect at the next burst boundary. A hook removed while a burst runs finishes that burst.
/// </summary>
public sealed class HookTable
{
    private readonly Lock _lock = new();
    private HookChain _current = HookChain.Empty;
    private long _nextId = 1;

    /// <summary>The chain the next burst runs. Any thread.</summary>
    public HookChain Current => Volatile.Read(ref _current);

    /// <summary>
    /// Adds <paramref name="hook"/> (a struct, copied) under <paramref name="name"/>; it runs after hooks of a lower
    /// <paramref name="priority"/> and after those of the same priority added before it. Returns its runner (its
    /// counters, and the <see cref="HookRunner.Id"/> to remove it). Any thread.
    /// </summary>
    public HookRunner<THook> Add<THook>(string name, THook hook, int priority = 0)
        where THook : struct, IPacketHook
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        lock (_lock)
        {
            HookRunner<THook> runner = new(name, priority, _nextId++, hook);
            HookRunner[] old = _current.Runners.ToArray();
            int at = old.Length;
            while (at > 0 && old[at - 1].Priority > priority)
            {
                at--;
            }
            HookRunner[] next = [.. old.AsSpan(0, at), runner, .. old.AsSpan(at)];
            Volatile.Write(ref _current, new HookChain(next));
            return runner;
        }
    }

    /// <summary>Removes the hook with <paramref name="id"/>; false if there is none. Any thread.</summary>
    public bool Remove(long id)
    {
        lock (_lock)
        {
            HookRunner[] old = _current.Runners.ToArray();
            int i = Array.FindIndex(old, r => r.Id == id);
            if (i < 0)
            {
                return false;
            }
            HookRunner[] next = [.. old.AsSpan(0, i), .. old.AsSpan(i + 1)];
            Volatile.Write(ref _current, next.Length == 0 ? HookChain.Empty : new HookChain(next));
            return true;
        }
    }

    /// <summary>Removes every hook. Any thread.</summary>
    public void Clear()
    {
        lock (_lock)
        {
            Volatile.Write(ref _current, HookChain.Empty);
        }
    }
}
