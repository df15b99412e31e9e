using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// Where a <see cref="TcpSocket"/> writes the segments it decides to send: the interface's egress path in
/// production, a recorder in tests. Implemented by structs so the call is specialised, not virtual.
/// </summary>
internal interface ITcpEmitter
{
    /// <summary>
    /// Sends one segment: <paramref name="repr"/>'s header followed by the payload, which is
    /// <paramref name="payloadFirst"/> then <paramref name="payloadSecond"/> (the send ring may wrap).
    /// Returns false when nothing could be sent (no free frame, neighbour unresolved and its queue full):
    /// the socket then keeps its state and tries again at the next poll.
    /// </summary>
    bool TryEmit(in TcpTuple tuple, in TcpRepr repr, ReadOnlySpan<byte> payloadFirst, ReadOnlySpan<byte> payloadSecond);
}
