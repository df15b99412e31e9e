using System.Net.Sockets;
using System.Text;
using Skiff.Engine.Control;

namespace Skiff.Cli.Stats;

/// <summary>
/// A connection to a <c>skiff serve</c> stats control socket (<see cref="SkiffControlServer"/>). Every failure is a
/// <see cref="SkiffControlException"/> with a sentence saying what to do. Not thread-safe.
/// </summary>
internal sealed class StatsClient : IDisposable
{
    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private readonly MemoryStream _line = new();
    private int _start;
    private int _end;

    private StatsClient(string path, Socket socket)
    {
        Path = path;
        _socket = socket;
    }

    public string Path { get; }

    /// <summary>Connects to the socket at <paramref name="path"/>.</summary>
    public static StatsClient Connect(string path, TimeSpan timeout)
    {
        if (!File.Exists(path))
        {
            throw new SkiffControlException($"No stats socket at {path}; is skiff serve running? Its banner prints the socket's path.");
        }
        Socket socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
        {
            ReceiveTimeout = (int)timeout.TotalMilliseconds,
            SendTimeout = (int)timeout.TotalMilliseconds,
        };
        try
        {
            socket.Connect(new UnixDomainSocketEndPoint(path));
            return new StatsClient(path, socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw e.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => new SkiffControlException($"Nothing listens on {path}; the skiff serve that made it has stopped. Start skiff serve again, or remove the stale file.", e),
                SocketError.AccessDenied => new SkiffControlException($"Permission denied on {path}; run skiff stats as the user that runs skiff serve (for example with sudo).", e),
                _ => new SkiffControlException($"Cannot connect to {path}: {e.Message}.", e),
            };
        }
    }

    /// <summary>Asks for a snapshot and reads the answer.</summary>
    public StatsReport Request()
    {
        try
        {
            _socket.Send(Encoding.UTF8.GetBytes(StatsProtocol.SnapshotRequest + "\n"));
            return StatsProtocol.Parse(ReadLine());
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            throw new SkiffControlException($"skiff serve did not answer on {Path} in time; it may be overloaded or stuck.", e);
        }
        catch (SocketException e)
        {
            throw new SkiffControlException($"The connection to {Path} failed ({e.Message}); skiff serve has probably stopped.", e);
        }
    }

    private string ReadLine()
    {
        _line.SetLength(0);
        while (true)
        {
            if (_start == _end)
            {
                _start = 0;
                _end = _socket.Receive(_buffer);
                if (_end == 0)
                {
                    throw new SkiffControlException($"skiff serve closed {Path}; it has stopped.");
                }
            }
            int newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            int stop = newline < 0 ? _end : newline;
            _line.Write(_buffer, _start, stop - _start);
            _start = newline < 0 ? _end : newline + 1;
            if (newline >= 0)
            {
                return Encoding.UTF8.GetString(_line.GetBuffer(), 0, (int)_line.Length);
            }
            if (_line.Length > StatsProtocol.MaxResponseBytes)
            {
                throw new SkiffControlException($"The answer on {Path} is longer than {StatsProtocol.MaxResponseBytes} bytes; is the socket a skiff serve's?");
            }
        }
    }

    public void Dispose()
    {
        _socket.Dispose();
        _line.Dispose();
    }
}
