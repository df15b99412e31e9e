namespace Skiff.Hooks;

/// <summary>The chain's decision for one frame of a burst: the verdict, and for a redirect the port.</summary>
public struct HookResult
{
    /// <summary>The verdict of the last hook that saw the frame (<see cref="HookVerdict.Pass"/> if every hook passed it).</summary>
    public HookVerdict Verdict;

    /// <summary>The port a <see cref="HookVerdict.Redirect"/> sends the frame out of (when <see cref="RedirectQueue"/> is negative).</summary>
    public ushort RedirectPort;

    /// <summary>The queue (core) a <see cref="HookVerdict.Redirect"/> hands the frame to, or negative for <see cref="RedirectPort"/>.</summary>
    public int RedirectQueue;
}
