namespace Skiff.Hooks;

/// <summary>
/// What a hook knows besides the frame: the loop's time and which port and queue it runs for; and where a
/// <see cref="HookVerdict.Redirect"/> sends the frame. One per burst, passed by reference.
/// </summary>
public struct HookContext
{
    /// <summary>The engine's time for this burst.</summary>
    public Instant Now;

    /// <summary>The port the burst came from (RX) or goes to (TX).</summary>
    public ushort Port;

    /// <summary>The device queue (and core) of this loop.</summary>
    public ushort Queue;

    /// <summary>Set by a hook that returns <see cref="HookVerdict.Redirect"/>: the port (of this loop) to send the frame out of.</summary>
    public ushort RedirectPort;
}
