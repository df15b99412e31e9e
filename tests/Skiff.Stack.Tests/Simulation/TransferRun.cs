using System.Security.Cryptography;
using Skiff.Stack.Tcp;

namespace Skiff.Stack.Tests.Simulation;

/// <summary>
/// One TCP connection between the two stacks of a <see cref="StackPair"/> carrying a seeded stream each way
/// at once, hashed with SHA-256 at both ends, then closed with FINs from both sides.
/// </summary>
internal sealed class TransferRun
{
    private readonly StackPair _pair;
    private readonly long _bytes;
    private readonly Stream _up;
    private readonly Stream _down;
    private readonly ushort _port;

    public TransferRun(StackPair pair, long bytesEachWay, ulong seed, ushort port = 5001)
    {
        _pair = pair;
        _port = port;
        _bytes = bytesEachWay;
        _up = new Stream(seed * 2 + 1, bytesEachWay);
        _down = new Stream(seed * 2 + 2, bytesEachWay);
    }

    public SocketHandle ClientHandle { get; private set; }

    public SocketHandle ServerHandle { get; private set; }

    public TcpSocket? Client { get; private set; }

    public TcpSocket? Server { get; private set; }

    /// <summary>Simulated time from connect to both streams complete.</summary>
    public Duration TransferTime { get; private set; }

    public bool UpIntact => _up.Intact;

    public bool DownIntact => _down.Intact;

    public long UpReceived => _up.Received;

    public long DownReceived => _down.Received;

    /// <summary>Connects, transfers both ways and returns true when both streams completed within <paramref name="limit"/> of simulated time.</summary>
    public bool Transfer(Duration limit, TcpConfig? config = null)
    {
        TcpListener listener = _pair.B.Tcp.Listen(_port, config: config);
        Instant start = _pair.Now;
        ClientHandle = _pair.A.Tcp.Connect(_pair.Now, StackPair.AddressA, StackPair.AddressB, _port, config);
        SocketHandle server = default;
        if (!_pair.RunUntil(() => _pair.B.Tcp.TryAccept(listener, out server), limit))
        {
            return false;
        }
        ServerHandle = server;
        TcpSocket client = _pair.A.Tcp.Get(ClientHandle);
        TcpSocket serverSocket = _pair.B.Tcp.Get(ServerHandle);
        Client = client;
        Server = serverSocket;
        bool done = _pair.RunUntil(() =>
        {
            _up.Pump(client);
            _down.Pump(serverSocket);
            _up.Drain(serverSocket);
            _down.Drain(client);
            return _up.Received == _bytes && _down.Received == _bytes;
        }, limit);
        TransferTime = _pair.Now - start;
        return done;
    }

    /// <summary>Closes both sides (client first), waits for the FIN handshakes, releases the handles.</summary>
    public bool CloseBoth(Duration limit)
    {
        TcpSocket client = Client ?? throw new InvalidOperationException("No connection to close.");
        TcpSocket server = Server!;
        client.Close();
        bool serverSawFin = _pair.RunUntil(() => server.IsReceiveFinished, limit);
        server.Close();
        bool closed = _pair.RunUntil(() => server.State == TcpState.Closed && client.State is TcpState.TimeWait or TcpState.Closed, limit);
        _pair.B.Tcp.Release(ServerHandle);
        _pair.A.Tcp.Release(ClientHandle);
        return serverSawFin && closed;
    }

    private sealed class Stream(ulong seed, long total)
    {
        private ulong _state = seed | 1;
        private readonly byte[] _chunk = new byte[16384];
        private int _offset = 16384;
        private int _length = 16384;
        private readonly IncrementalHash _sent = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly IncrementalHash _received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _sentBytes;

        public long Received { get; private set; }

        public bool Intact => Received == total && _sent.GetCurrentHash().AsSpan().SequenceEqual(_received.GetCurrentHash());

        public void Pump(TcpSocket sender)
        {
            while (_sentBytes < total && sender.CanSend)
            {
                if (_offset == _length)
                {
                    _length = (int)Math.Min(_chunk.Length, total - _sentBytes - (_length - _offset));
                    for (int i = 0; i < _length; i++)
                    {
                        _state ^= _state << 13;
                        _state ^= _state >> 7;
                        _state ^= _state << 17;
                        _chunk[i] = (byte)_state;
                    }
                    _sent.AppendData(_chunk, 0, _length);
                    _offset = 0;
                }
                int n = sender.Send(_chunk.AsSpan(_offset, _length - _offset));
                if (n == 0)
                {
                    break;
                }
                _offset += n;
                _sentBytes += n;
            }
        }

        public void Drain(TcpSocket receiver)
        {
            while (receiver.TryPeek(out ReadOnlySpan<byte> data))
            {
                _received.AppendData(data);
                Received += data.Length;
                receiver.Consume(data.Length);
            }
        }
    }
}
