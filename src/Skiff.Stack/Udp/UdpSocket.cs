using System.Diagnostics.CodeAnalysis;
using Skiff.Wire;

namespace Skiff.Stack.Udp;

/// <summary>
/// A bound UDP port (RFC 768). Received datagrams wait, zero-copy in their packet buffers, in a bounded
/// queue; sends are copied into a packet buffer at once, or handed over in one, and queued (bounded) for the next poll.
/// Not thread-safe: owned by the loop of its interface.
/// </summary>
public sealed class UdpSocket
{
    /// <summary>Largest UDP payload over IPv4: 65535 - 20 (IP) - 8 (UDP); also the bound over IPv6.</summary>
    public const int MaxPayloadBytes = 65507;

    private readonly UdpLayer _layer;
    private readonly (PacketBuffer Buffer, UdpEndpoint Peer)[] _rx;
    private int _rxHead;
    private int _rxCount;
    private readonly (PacketBuffer Buffer, UdpEndpoint Peer)[] _tx;
    private int _txHead;
    private int _txCount;

    internal UdpSocket(UdpLayer layer, UdpEndpoint local, int receiveQueueDatagrams, int sendQueueDatagrams)
    {
        _layer = layer;
        LocalEndpoint = local;
        _rx = new (PacketBuffer, UdpEndpoint)[receiveQueueDatagrams];
        _tx = new (PacketBuffer, UdpEndpoint)[sendQueueDatagrams];
    }

    /// <summary>The bound address (Any: every address of the interface) and port.</summary>
    public UdpEndpoint LocalEndpoint { get; }

    /// <summary>True until <see cref="Close"/>; a closed socket refuses sends (they throw) and its port is free again.</summary>
    public bool IsOpen { get; private set; } = true;

    /// <summary>Datagrams waiting to be received.</summary>
    public int ReceiveQueued => _rxCount;

    /// <summary>Datagrams waiting to be sent.</summary>
    public int SendQueued => _txCount;

    /// <summary>True when a datagram is queued, so <c>TryReceive</c> would return one.</summary>
    public bool CanReceive => _rxCount > 0;

    /// <summary>True when the socket is open and its send queue has room; a send may still fail for want of a packet buffer.</summary>
    public bool CanSend => IsOpen && _txCount < _tx.Length;

    /// <summary>Datagrams dropped because the receive queue was full.</summary>
    public long ReceiveDropped { get; private set; }

    /// <summary>Sends refused because the send queue was full or no buffer was free.</summary>
    public long SendRefused { get; private set; }

    /// <summary>
    /// Copies the next datagram into <paramref name="destination"/> and frees it. <paramref name="length"/>
    /// is the datagram's full length; if it exceeds the destination only the first bytes are copied
    /// (as recvfrom with MSG_TRUNC). False when none is queued.
    /// </summary>
    public bool TryReceive(Span<byte> destination, out int length, out UdpEndpoint source)
    {
        if (!TryReceive(out PacketBuffer? buffer, out source))
        {
            length = 0;
            return false;
        }
        length = buffer.Length;
        buffer.Data[..Math.Min(length, destination.Length)].CopyTo(destination);
        buffer.Free();
        return true;
    }

    /// <summary>Zero-copy receive: the buffer (data window = payload) now belongs to the caller, who frees it.</summary>
    public bool TryReceive([NotNullWhen(true)] out PacketBuffer? datagram, out UdpEndpoint source)
    {
        if (_rxCount == 0)
        {
            datagram = null;
            source = default;
            return false;
        }
        (datagram, source) = _rx[_rxHead];
        _rx[_rxHead] = default;
        _rxHead = (_rxHead + 1) % _rx.Length;
        _rxCount--;
        return true;
    }

    /// <summary>
    /// Queues a datagram to <paramref name="destination"/>; it leaves at the next poll. False (nothing
    /// queued) when the send queue is full or no packet buffer is free. Throws
    /// <see cref="ArgumentException"/> for a payload over <see cref="MaxPayloadBytes"/>.
    /// </summary>
    public bool TrySend(ReadOnlySpan<byte> data, UdpEndpoint destination)
    {
        CheckSend(data.Length, destination);
        if (_txCount == _tx.Length || !_layer.TryAllocatePayload(data.Length, out PacketBuffer? buffer))
        {
            SendRefused++;
            return false;
        }
        data.CopyTo(buffer.Data);
        _tx[(_txHead + _txCount) % _tx.Length] = (buffer, destination);
        _txCount++;
        return true;
    }

    /// <summary>
    /// Zero-copy send: queues <paramref name="datagram"/>'s data window as the payload and takes the buffer, which the
    /// caller must not touch again (a received datagram answered in place, as an echo does, or a buffer the
    /// application filled). Its metadata is cleared. A buffer with less headroom than the UDP, IPv4 and Ethernet
    /// headers need (<see cref="ZeroCopyHeadroomBytes"/>) is copied into a new one and freed. False when the send queue
    /// is full or no buffer is free for the copy: then nothing was queued and the caller still owns the buffer.
    /// Throws <see cref="ArgumentException"/> for a payload over <see cref="MaxPayloadBytes"/>.
    /// </summary>
    public bool TrySend(PacketBuffer datagram, UdpEndpoint destination)
    {
        ArgumentNullException.ThrowIfNull(datagram);
        if (datagram.HeadroomBytes < ZeroCopyHeadroomBytes)
        {
            if (!TrySend(datagram.Data, destination))
            {
                return false;
            }
            datagram.Free();
            return true;
        }
        CheckSend(datagram.Length, destination);
        if (_txCount == _tx.Length)
        {
            SendRefused++;
            return false;
        }
        datagram.ClearMetadata();
        _tx[(_txHead + _txCount) % _tx.Length] = (datagram, destination);
        _txCount++;
        return true;
    }

    /// <summary>Headroom a buffer needs to be sent in place by <see cref="TrySend(PacketBuffer, UdpEndpoint)"/>: UDP, the largest IPv4 header, Ethernet with one VLAN tag.</summary>
    public const int ZeroCopyHeadroomBytes = UdpPacket.HeaderLength + 60 + 18;

    private void CheckSend(int length, UdpEndpoint destination)
    {
        if (!IsOpen)
        {
            throw new InvalidOperationException("The UDP socket is closed.");
        }
        if (length > MaxPayloadBytes)
        {
            throw new ArgumentException($"A UDP payload of {length} bytes exceeds the IPv4 maximum of {MaxPayloadBytes}.");
        }
        if (destination.Port == 0 || destination.Ip.IsUnspecified)
        {
            throw new ArgumentException($"Cannot send to {destination}: give an address and a non-zero port.");
        }
    }

    /// <summary>Unbinds the port and frees every queued buffer.</summary>
    public void Close()
    {
        if (!IsOpen)
        {
            return;
        }
        IsOpen = false;
        while (TryReceive(out PacketBuffer? b, out _))
        {
            b.Free();
        }
        while (TryTakeSend(out PacketBuffer? b, out _))
        {
            b.Free();
        }
        _layer.Unbind(this);
    }

    internal bool TryEnqueueReceived(PacketBuffer buffer, UdpEndpoint source)
    {
        if (_rxCount == _rx.Length)
        {
            ReceiveDropped++;
            return false;
        }
        _rx[(_rxHead + _rxCount) % _rx.Length] = (buffer, source);
        _rxCount++;
        return true;
    }

    internal bool TryPeekSend(out PacketBuffer? buffer, out UdpEndpoint destination)
    {
        if (_txCount == 0)
        {
            buffer = null;
            destination = default;
            return false;
        }
        (buffer, destination) = _tx[_txHead];
        return true;
    }

    internal bool TryTakeSend([NotNullWhen(true)] out PacketBuffer? buffer, out UdpEndpoint destination)
    {
        if (_txCount == 0)
        {
            buffer = null;
            destination = default;
            return false;
        }
        (buffer, destination) = _tx[_txHead];
        _tx[_txHead] = default;
        _txHead = (_txHead + 1) % _tx.Length;
        _txCount--;
        return true;
    }

    /// <summary>The bound endpoint and the receive-queue depth, for logs.</summary>
    public override string ToString() => $"UDP {LocalEndpoint} ({_rxCount} queued)";
}
