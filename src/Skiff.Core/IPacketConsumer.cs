namespace Skiff;

/// <summary>
/// The stage of an engine loop that takes the frames the RX hooks passed: the stack's ingress, a forwarder, or a
/// receive-and-drop sink. It is sans-I/O: it never touches the device; what it sends it adds to the
/// <see cref="TxBuffer"/> it is given (the egress of the port the frames came from).
/// </summary>
/// <remarks>Ownership: every frame of the burst passes to the consumer, which frees it, keeps it or hands it on. One call per burst.</remarks>
public interface IPacketConsumer
{
    /// <summary>Takes <paramref name="burst"/> (received at <paramref name="now"/>); replies go to <paramref name="output"/>.</summary>
    void Receive(Instant now, Span<PacketBuffer> burst, TxBuffer output);
}
