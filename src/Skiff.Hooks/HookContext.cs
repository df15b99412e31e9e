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

    /// <summary>Where a <see cref="HookVerdict.Redirect"/> sends the frame: out of this port of the loop (when <see cref="RedirectQueue"/> is negative).</summary>
    public ushort RedirectPort;

    /// <summary>Where a <see cref="HookVerdict.Redirect"/> sends the frame: to this queue's (core's) loop, which receives it as if from its device (XDP's cpumap); negative: to <see cref="RedirectPort"/>.</summary>
    public int RedirectQueue;

    /// <summary>Sends the frame out of <paramref name="port"/> of this loop: returns <see cref="HookVerdict.Redirect"/> for the hook to return.</summary>
    public HookVerdict RedirectToPort(ushort port)
    {
        RedirectPort = port;
        RedirectQueue = -1;
        return HookVerdict.Redirect;
    }

    /// <summary>
    /// Hands the frame to the loop of <paramref name="queue"/> (another core of a multi-core stack), which takes it in
    /// through its own RX hooks and stack, as XDP_REDIRECT into a cpumap does. Returns <see cref="HookVerdict.Redirect"/>
    /// for the hook to return. Between cores of a queue mesh any queue can reach any other; over software RSS only queue
    /// 0 (which reads the device) can hand frames on. A redirect nobody can carry out is counted as RedirectInvalid.
    /// </summary>
    public HookVerdict RedirectToQueue(ushort queue)
    {
        RedirectQueue = queue;
        return HookVerdict.Redirect;
    }
}
