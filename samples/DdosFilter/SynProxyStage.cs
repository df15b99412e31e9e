using Skiff;
using Skiff.Engine;

namespace DdosFilter;

/// <summary>
/// Sends the <see cref="SynProxy"/>'s window updates to clients: the one frame of the handshake that is not made from a
/// received frame (the host's SYN-ACK becomes the ACK to the host; the client still needs to hear that the window is
/// open). Runs on the engine's loop after the hooks; frames come from the wire port's pool, none when it is empty.
/// </summary>
public sealed class SynProxyStage(SynProxy proxy, TxBuffer wireOutput, PacketPool wirePool) : IEngineStage
{
    /// <inheritdoc />
    public bool Run(Instant now)
    {
        bool sent = false;
        while (proxy.TryDequeueWindowUpdate(out TcpFrameFields fields))
        {
            if (!wirePool.TryAllocate(out PacketBuffer? frame))
            {
                proxy.CountWindowUpdate(sent: false);
                continue;
            }
            if (!frame.TrySetLength(TcpFrame.LengthOf(in fields)))
            {
                frame.Free();
                proxy.CountWindowUpdate(sent: false);
                continue;
            }
            TcpFrame.Write(frame.Data, in fields);
            if (!wireOutput.TryAdd(frame))
            {
                frame.Free();
                proxy.CountWindowUpdate(sent: false);
                continue;
            }
            proxy.CountWindowUpdate(sent: true);
            sent = true;
        }
        return sent;
    }

    /// <inheritdoc />
    public Instant PollAt(Instant now) => proxy.PendingWindowUpdates > 0 ? now : Instant.Never;
}
