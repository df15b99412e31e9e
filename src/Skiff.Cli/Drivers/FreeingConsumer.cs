namespace Skiff.Cli.Drivers;

/// <summary>A consumer stage that frees every frame it is given (a transmit-only command's receive side), one free-list operation per burst.</summary>
internal sealed class FreeingConsumer : IPacketConsumer
{
    /// <summary>Frames freed; the loop thread writes it.</summary>
    public long Frames => Volatile.Read(ref _frames);

    private long _frames;

    public void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output)
    {
        burst[0].Pool.FreeBurst(burst);
        burst.Clear();
        Volatile.Write(ref _frames, _frames + burst.Length);
    }
}
