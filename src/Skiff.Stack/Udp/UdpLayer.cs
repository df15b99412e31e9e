using System.Diagnostics.CodeAnalysis;
using Skiff.Wire;

namespace Skiff.Stack.Udp;

/// <summary>The UDP ports of one interface. Bounded in sockets. Not thread-safe.</summary>
public sealed class UdpLayer
{
    private readonly Dictionary<ushort, UdpSocket> _sockets = new();
    private readonly List<UdpSocket> _ordered = new();
    private readonly PacketPool _pool;
    private readonly PacketPool _largePool;
    private readonly int _maxSockets;
    private readonly int _headroomBytes;
    private int _nextEphemeral = 49152;

    internal UdpLayer(PacketPool pool, PacketPool largePool, int maxSockets, int headroomBytes)
    {
        _pool = pool;
        _largePool = largePool;
        _maxSockets = maxSockets;
        _headroomBytes = headroomBytes;
    }

    /// <summary>Sockets bound now, at most <see cref="InterfaceOptions.MaxUdpSockets"/>.</summary>
    public int Count => _sockets.Count;

    /// <summary>
    /// Binds <paramref name="port"/> (0 picks an ephemeral port). Throws <see cref="InvalidOperationException"/>
    /// when the port is taken or the socket bound is reached.
    /// </summary>
    public UdpSocket Bind(ushort port, Ipv4Address localAddress = default, int receiveQueueDatagrams = 256, int sendQueueDatagrams = 256) =>
        BindCore(port, localAddress, receiveQueueDatagrams, sendQueueDatagrams);

    /// <summary>
    /// Binds <paramref name="port"/> at one address of either family, or (unspecified, 0.0.0.0 or ::) at every
    /// address of both: such a socket receives IPv4 and IPv6 datagrams and sends to either. Queues of 256 datagrams
    /// each way. See the IPv4 overload.
    /// </summary>
    public UdpSocket Bind(ushort port, IpAddress localAddress) => BindCore(port, localAddress, 256, 256);

    private UdpSocket BindCore(ushort port, IpAddress localAddress, int receiveQueueDatagrams, int sendQueueDatagrams)
    {
        if (_sockets.Count >= _maxSockets)
        {
            throw new InvalidOperationException($"All {_maxSockets} UDP sockets are in use; raise InterfaceOptions.MaxUdpSockets or close sockets.");
        }
        if (port == 0)
        {
            for (int i = 0; i < 16384 && port == 0; i++)
            {
                ushort candidate = (ushort)(49152 + (_nextEphemeral - 49152 + i) % 16384);
                if (!_sockets.ContainsKey(candidate))
                {
                    port = candidate;
                    _nextEphemeral = candidate + 1;
                }
            }
            if (port == 0)
            {
                throw new InvalidOperationException("No free ephemeral UDP port.");
            }
        }
        else if (_sockets.ContainsKey(port))
        {
            throw new InvalidOperationException($"UDP port {port} is already bound.");
        }
        UdpSocket socket = new(this, new UdpEndpoint(localAddress, port), Math.Max(1, receiveQueueDatagrams), Math.Max(1, sendQueueDatagrams));
        _sockets.Add(port, socket);
        _ordered.Add(socket);
        return socket;
    }

    internal void Unbind(UdpSocket socket)
    {
        _sockets.Remove(socket.LocalEndpoint.Port);
        _ordered.Remove(socket);
    }

    internal UdpSocket? Find(IpAddress destination, ushort port) =>
        _sockets.TryGetValue(port, out UdpSocket? s) && (s.LocalEndpoint.Ip.IsUnspecified || s.LocalEndpoint.Ip == destination) ? s : null;

    internal int SocketCount => _ordered.Count;

    internal UdpSocket SocketAt(int index) => _ordered[index];

    /// <summary>A buffer whose data window is <paramref name="length"/> bytes after room for the UDP, IP and Ethernet headers.</summary>
    internal bool TryAllocatePayload(int length, [NotNullWhen(true)] out PacketBuffer? buffer)
    {
        PacketPool pool = _headroomBytes + length <= _pool.FrameBytes ? _pool : _largePool;
        if (_headroomBytes + length > pool.FrameBytes || !pool.TryAllocate(out buffer))
        {
            buffer = null;
            return false;
        }
        buffer.TrySetData(_headroomBytes, length);
        return true;
    }
}
