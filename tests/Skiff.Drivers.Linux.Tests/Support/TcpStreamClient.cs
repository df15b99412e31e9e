using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// A TCP client that connects, sends <c>payload</c>, closes its side when all is queued, and hashes what comes
/// back until the peer's FIN; it is finished once the connection has left the open states (our FIN acknowledged too,
/// or the connection failed: see <see cref="FinalError"/>). Loop thread only.
/// </summary>
public sealed class TcpStreamClient
{
    private readonly byte[] _payload;
    private readonly IncrementalHash _received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly SocketHandle _handle;
    private int _sent;
    private bool _closed;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<string> _timeline = new();
    private long _nextSampleMs;

    public TcpStreamClient(Interface iface, Instant now, Ipv4Address remote, ushort port, byte[] payload)
    {
        _payload = payload;
        _handle = iface.Tcp.Connect(now, iface.SourceFor(remote), remote, port);
    }

    public long BytesSent => _sent;

    public long BytesReceived { get; private set; }

    /// <summary>True once the peer's FIN arrived after all data and the connection left the open states (or it failed: see <see cref="FinalError"/>).</summary>
    public bool Finished { get; private set; }

    public string Status { get; private set; } = "connecting";

    /// <summary>SHA-256 (lowercase hex) of everything received; valid once <see cref="Finished"/>.</summary>
    public string ReceivedSha256 { get; private set; } = "";

    /// <summary>The state the connection ended in (TIME-WAIT or CLOSED); valid once <see cref="Finished"/>.</summary>
    public TcpState FinalState { get; private set; }

    /// <summary>Why the connection ended (<see cref="TcpError.None"/> for an orderly close); valid once <see cref="Finished"/>.</summary>
    public TcpError FinalError { get; private set; }

    /// <summary>The connection's counters as they were at release; null before.</summary>
    public TcpCounterSnapshot? FinalCounters { get; private set; }

    /// <summary>The last samples (one every 500 ms) of the connection's progress and sender state, oldest first, for reports.</summary>
    public string Timeline => string.Join(Environment.NewLine, _timeline);

    /// <summary>The connection's counters now (or at release), for reports. Loop thread only.</summary>
    public string DescribeCounters(Interface iface) =>
        FinalCounters?.ToString() ?? (iface.Tcp.TryGet(_handle, out TcpSocket? socket) ? TcpCounterSnapshot.Take(socket.Counters).ToString() : "socket gone");

    public void Step(Interface iface)
    {
        if (Finished)
        {
            return;
        }
        TcpSocket socket = iface.Tcp.Get(_handle);
        if (_sent < _payload.Length && socket.CanSend)
        {
            _sent += socket.Send(_payload.AsSpan(_sent));
        }
        if (!_closed && _sent == _payload.Length && socket.IsConnected)
        {
            socket.Close();
            _closed = true;
        }
        while (socket.TryPeek(out ReadOnlySpan<byte> data) && data.Length > 0)
        {
            _received.AppendData(data);
            BytesReceived += data.Length;
            socket.Consume(data.Length);
        }
        Status = $"{socket.State} ({socket.Error}), {_sent} sent, {BytesReceived} received";
        if (_clock.ElapsedMilliseconds >= _nextSampleMs)
        {
            _nextSampleMs = _clock.ElapsedMilliseconds + 500;
            _timeline.Enqueue($"  {_clock.ElapsedMilliseconds,6} ms {socket.State} sent {_sent} received {BytesReceived} cwnd {socket.CongestionWindowBytes} rto {socket.RetransmissionTimeout} "
                + $"send buffer {socket.SendBufferUsed} receive queue {socket.ReceiveQueued} "
                + $"retransmissions {socket.Counters.Retransmissions} timeouts {socket.Counters.Timeouts}");
            if (_timeline.Count > 60)
            {
                _timeline.Dequeue();
            }
        }
        // Wait for the close to complete (our FIN acknowledged: TIME-WAIT), not just for the peer's FIN, so the test
        // sees how the connection really ended; a failed connection is CLOSED with an error.
        if (socket.IsReceiveFinished && !socket.IsOpen)
        {
            FinalState = socket.State;
            FinalError = socket.Error;
            FinalCounters = TcpCounterSnapshot.Take(socket.Counters);
            iface.Tcp.Release(_handle);
            ReceivedSha256 = Convert.ToHexStringLower(_received.GetHashAndReset());
            Finished = true;
        }
    }
}
