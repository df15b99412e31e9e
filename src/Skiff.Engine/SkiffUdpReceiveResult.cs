using Skiff.Stack.Udp;

namespace Skiff.Engine;

/// <summary>The outcome of <see cref="SkiffUdpSocket.ReceiveFromAsync"/>.</summary>
/// <param name="ReceivedBytes">Bytes copied into the caller's buffer.</param>
/// <param name="DatagramBytes">The datagram's full length; larger than <paramref name="ReceivedBytes"/> when the buffer was too small and the rest was dropped (recvfrom's MSG_TRUNC).</param>
/// <param name="RemoteEndPoint">The sender.</param>
public readonly record struct SkiffUdpReceiveResult(int ReceivedBytes, int DatagramBytes, UdpEndpoint RemoteEndPoint)
{
    /// <summary>True when the datagram did not fit the buffer.</summary>
    public bool Truncated => DatagramBytes > ReceivedBytes;
}
