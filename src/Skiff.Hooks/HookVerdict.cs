namespace Skiff.Hooks;

/// <summary>What a hook decides for a frame, as XDP's actions do.</summary>
public enum HookVerdict : byte
{
    /// <summary>On to the next hook, then to the consumer (RX) or the egress stage (TX): XDP_PASS.</summary>
    Pass,

    /// <summary>Freed here, counted as <c>Filter</c>: XDP_DROP.</summary>
    Drop,

    /// <summary>Sent back out of the port it came from, as the hook rewrote it (RX hooks only): XDP_TX.</summary>
    Tx,

    /// <summary>Sent out of another port of the loop, or handed to another queue's loop: XDP_REDIRECT. Return it through <see cref="HookContext.RedirectToPort"/> or <see cref="HookContext.RedirectToQueue"/>.</summary>
    Redirect,

    /// <summary>The hook failed on this frame: freed and counted as <c>HookAborted</c>, an error: XDP_ABORTED.</summary>
    Abort,
}
