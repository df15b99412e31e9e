using Skiff.Engine.Internal;
using Skiff.Stack.Udp;

namespace Skiff.Engine;

/// <summary>
/// A bound UDP port of a <see cref="SkiffStack"/> (<see cref="SkiffStack.BindUdp"/>), bound on every core,
/// with <see cref="ValueTask"/> send and receive completed by the engines' loops. A receive takes the next
/// datagram of whichever core holds one; a send leaves from the core the destination's flow hashes to.
/// </summary>
/// <remarks>
/// Thread-safety: one <see cref="ReceiveFromAsync"/> and one <see cref="SendToAsync"/> may be outstanding
/// at a time (a second of the same kind throws <see cref="InvalidOperationException"/>); both are reusable
/// <see cref="System.Threading.Tasks.Sources.IValueTaskSource{TResult}"/>s, so steady traffic allocates
/// nothing. The caller's memory must stay untouched until the operation completes.
/// </remarks>
public sealed class SkiffUdpSocket : IAsyncDisposable
{
    private readonly UdpShared _core;

    internal SkiffUdpSocket(UdpShared core, UdpEndpoint local)
    {
        _core = core;
        LocalEndPoint = local;
    }

    /// <summary>The local address (Any for every address) and port.</summary>
    public UdpEndpoint LocalEndPoint { get; }

    /// <summary>
    /// Queues <paramref name="data"/> as one datagram to <paramref name="destination"/>; completes with its
    /// length once the stack took it (a full send queue makes it wait, not fail). Throws
    /// <see cref="ArgumentException"/> for a payload over <see cref="UdpSocket.MaxPayloadBytes"/> or an
    /// unusable destination; fails with <see cref="OperationCanceledException"/> on cancellation and
    /// <see cref="ObjectDisposedException"/> once the socket or engine is disposed.
    /// </summary>
    public ValueTask<int> SendToAsync(ReadOnlyMemory<byte> data, UdpEndpoint destination, CancellationToken cancellationToken = default)
    {
        if (data.Length > UdpSocket.MaxPayloadBytes)
        {
            throw new ArgumentException($"A UDP payload of {data.Length} bytes exceeds the IPv4 maximum of {UdpSocket.MaxPayloadBytes}; split it.", nameof(data));
        }
        if (destination.Port == 0 || destination.Ip.IsUnspecified)
        {
            throw new ArgumentException($"Cannot send to {destination}: give an address and a non-zero port.", nameof(destination));
        }
        ThrowIfDisposed();
        _core.Send.Reserve();
        _core.SetSend(data, destination, LocalEndPoint.Port);
        return _core.Send.StartReserved(cancellationToken);
    }

    /// <summary>
    /// Receives the next datagram into <paramref name="buffer"/> (a longer datagram is truncated, see
    /// <see cref="SkiffUdpReceiveResult.Truncated"/>). Fails with <see cref="OperationCanceledException"/> on
    /// cancellation (no datagram is lost) and <see cref="ObjectDisposedException"/> once disposed.
    /// </summary>
    public ValueTask<SkiffUdpReceiveResult> ReceiveFromAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        _core.Receive.Reserve();
        _core.ReceiveBuffer = buffer;
        return _core.Receive.StartReserved(cancellationToken);
    }

    /// <summary>Unbinds the port, frees queued datagrams, and fails outstanding operations with <see cref="ObjectDisposedException"/>. Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        _core.RequestClose();
        return new ValueTask(_core.Closed);
    }

    private void ThrowIfDisposed()
    {
        if (_core.IsCloseRequested)
        {
            throw new ObjectDisposedException(nameof(SkiffUdpSocket), "The UDP socket was disposed; bind a new one with SkiffStack.BindUdp.");
        }
    }

    /// <summary>"Skiff UDP" and the local endpoint, for logs and the debugger.</summary>
    public override string ToString() => $"Skiff UDP {LocalEndPoint}";
}
