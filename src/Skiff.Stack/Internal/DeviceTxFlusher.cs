namespace Skiff.Stack.Internal;

/// <summary>
/// The flusher of <see cref="Interface.Poll"/>'s own output: hands the buffered frames to the device being polled;
/// what the device refuses stays buffered, in order, for the next poll. Outside a poll it does nothing (the frames
/// wait), so a send made between polls never touches the device from the wrong place.
/// </summary>
internal sealed class DeviceTxFlusher : ITxBufferFlusher
{
    private IDevice? _device;
    private Instant _now;

    public void Begin(IDevice device, Instant now)
    {
        _device = device;
        _now = now;
    }

    public void End() => _device = null;

    /// <summary>Transmits what the buffer holds; with nothing held it still calls the device (an empty burst kicks frames it holds).</summary>
    public void Flush(TxBuffer buffer)
    {
        if (_device is null)
        {
            return;
        }
        int sent = _device.TransmitBurst(buffer.Frames, _now);
        buffer.RemoveFirst(sent);
    }
}
