namespace Skiff;

/// <summary>What a full <see cref="TxBuffer"/> calls to make room: the engine's egress of that port (TX hooks, egress stage, TX burst).</summary>
public interface ITxBufferFlusher
{
    /// <summary>
    /// Moves frames out of <paramref name="buffer"/> towards the device (with <see cref="TxBuffer.RemoveFirst"/>); may
    /// leave it full when the device and the egress stage accept nothing now. Called on the buffer's thread.
    /// </summary>
    void Flush(TxBuffer buffer);
}
