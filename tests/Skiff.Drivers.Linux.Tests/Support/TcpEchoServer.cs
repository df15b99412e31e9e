using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// A TCP echo server for one connection: accepts it, sends back every byte it reads (zero-copy peek, then
/// consume what the send buffer took), hashes what it received, closes after the peer's FIN and releases the
/// socket once it has left ESTABLISHED's closing states. Loop thread only.
/// </summary>
public sealed class TcpEchoServer
{
    private readonly TcpListener _listener;
    private readonly IncrementalHash _received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private SocketHandle _handle;
    private bool _accepted;
    private bool _closed;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Queue<string> _timeline = new();
    private long _nextSampleMs;

    public TcpEchoServer(Interface iface, ushort port)
    {
        _listener = iface.Tcp.Listen(port);
    }

    /// <summary>Bytes read from the peer and sent back.</summary>
    public long BytesEchoed { get; private set; }

    /// <summary>True once the connection was closed by both sides and released.</summary>
    public bool Finished { get; private set; }

    /// <summary>The connection's final state and error, for failure messages.</summary>
    public string Status { get; private set; } = "not accepted";

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
        FinalCounters?.ToString() ?? (_accepted && iface.Tcp.TryGet(_handle, out TcpSocket? socket) ? TcpCounterSnapshot.Take(socket.Counters).ToString() : "no connection accepted");

    public void Step(Interface iface)
    {
        if (Finished)
        {
            return;
        }
        if (!_accepted)
        {
            if (!iface.Tcp.TryAccept(_listener, out _handle))
            {
                return;
            }
            _accepted = true;
        }
        TcpSocket socket = iface.Tcp.Get(_handle);
        while (socket.CanSend && socket.TryPeek(out ReadOnlySpan<byte> data) && data.Length > 0)
        {
            int n = socket.Send(data);
            _received.AppendData(data[..n]);
            socket.Consume(n);
            BytesEchoed += n;
            if (n < data.Length)
            {
                break;
            }
        }
        Status = $"{socket.State} ({socket.Error}), {BytesEchoed} bytes echoed";
        if (_clock.ElapsedMilliseconds >= _nextSampleMs)
        {
            _nextSampleMs = _clock.ElapsedMilliseconds + 500;
            _timeline.Enqueue($"  {_clock.ElapsedMilliseconds,6} ms {socket.State} echoed {BytesEchoed} cwnd {socket.CongestionWindowBytes} rto {socket.RetransmissionTimeout} "
                + $"send buffer {socket.SendBufferUsed} receive queue {socket.ReceiveQueued} ({socket.ReceiveSegments} segments) "
                + $"retransmissions {socket.Counters.Retransmissions} timeouts {socket.Counters.Timeouts}");
            if (_timeline.Count > 60)
            {
                _timeline.Dequeue();
            }
        }
        if (!_closed && socket.IsReceiveFinished)
        {
            socket.Close();
            _closed = true;
        }
        if (_closed && !socket.IsOpen)
        {
            FinalState = socket.State;
            FinalError = socket.Error;
            FinalCounters = TcpCounterSnapshot.Take(socket.Counters);
            iface.Tcp.Release(_handle);
            iface.Tcp.CloseListener(_listener);
            ReceivedSha256 = Convert.ToHexStringLower(_received.GetHashAndReset());
            Finished = true;
        }
    }
}
