namespace Skiff;

/// <summary>
/// A device whose receive side an idle poll loop can sleep on: poll(2) on <see cref="ReceiveWaitDescriptor"/>
/// reports it readable (POLLIN) when frames arrive, so the loop blocks instead of spinning or waking on a timer.
/// TAP, AF_PACKET and AF_XDP devices implement it; in-memory devices do not.
/// </summary>
/// <remarks>Called by the thread that polls the device, between bursts.</remarks>
public interface IWaitableDevice
{
    /// <summary>The file descriptor to poll for POLLIN, or -1 when there is none (the loop then sleeps on a timer).</summary>
    int ReceiveWaitDescriptor { get; }

    /// <summary>True when frames already wait in user-space memory (a ring or a partly read block), where poll(2) would not see them.</summary>
    bool HasBufferedReceive { get; }
}
