namespace Skiff.Engine.Capture;

/// <summary>Where in an engine loop a live capture sees frames (<see cref="SkiffCapture"/>). Combine them.</summary>
[Flags]
public enum CapturePoints
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Every frame a port's RX burst returned, right after the burst: before classification, the RX hooks and the stack (what the wire brought).</summary>
    Rx = 1,

    /// <summary>Every frame on its way out of a port, after the TX hooks passed it and just before the TX burst (once, even when the device refuses it and it is sent again).</summary>
    Tx = 2,

    /// <summary>Every frame the loop dropped (an RX or TX hook's Drop or Abort, a redirect nobody can carry out, a full TX queue) or the stack dropped, with its <see cref="Skiff.Stack.DropReason"/>.</summary>
    Drop = 4,

    /// <summary>RX, TX and drops.</summary>
    All = Rx | Tx | Drop,
}
