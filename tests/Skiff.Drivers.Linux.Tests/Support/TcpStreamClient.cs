using System.Security.Cryptography;
using Skiff.Stack;
using Skiff.Stack.Tcp;
using Skiff.Wire;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// A TCP client that connects, sends <c>payload</c>, closes its side when all is queued, and hashes what comes
/// back until the peer's FIN. Loop thread only.
/// </summary>
public sealed class TcpStreamClient
{
    private readonly byte[] _payload;
    private readonly IncrementalHash _received = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly SocketHandle _handle;
    private int _sent;
    private bool _closed;

    public TcpStreamClient(Interface iface, Instant now, Ipv4Address remote, ushort port, byte[] payload)
    {
        _payload = payload;
        _handle = iface.Tcp.Connect(now, iface.SourceFor(remote), remote, port);
    }

    public long BytesSent => _sent;

    public long BytesReceived { get; private set; }

    /// <summary>True once the peer's FIN arrived after all data (or the connection failed: see <see cref="Status"/>).</summary>
    public bool Finished { get; private set; }

    public string Status { get; private set; } = "connecting";

    /// <summary>SHA-256 (lowercase hex) of everything received; valid once <see cref="Finished"/>.</summary>
    public string ReceivedSha256 { get; private set; } = "";

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
        if (socket.IsReceiveFinished && (_closed || !socket.IsOpen))
        {
            iface.Tcp.Release(_handle);
            ReceivedSha256 = Convert.ToHexStringLower(_received.GetHashAndReset());
            Finished = true;
        }
    }
}
