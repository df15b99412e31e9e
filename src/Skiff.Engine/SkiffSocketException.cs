using Skiff.Stack.Tcp;

namespace Skiff.Engine;

/// <summary>
/// A TCP connection failed or ended abnormally: refused, reset by the peer, timed out, aborted locally,
/// or unreachable. Reads and writes on the connection's pipes and stream throw it once the loop has seen
/// the failure. <see cref="Error"/> says which.
/// </summary>
public sealed class SkiffSocketException : IOException
{
    /// <summary>Creates the exception for <paramref name="error"/> with a message that says what to do.</summary>
    public SkiffSocketException(TcpError error, string message) : base(message)
    {
        Error = error;
    }

    /// <summary>Why the connection ended.</summary>
    public TcpError Error { get; }

    /// <summary>The exception for a connection that ended with <paramref name="error"/>; <paramref name="remote"/> names the peer.</summary>
    internal static SkiffSocketException For(TcpError error, string remote) => error switch
    {
        TcpError.Refused => new(error, $"The connection to {remote} was refused: nothing listens on that port. Check the address and port, or start the listener first."),
        TcpError.Reset => new(error, $"The connection to {remote} was reset by the peer. Treat data not yet acknowledged as lost, and reconnect if needed."),
        TcpError.TimedOut => new(error, $"The connection to {remote} timed out: the peer stopped answering. Check the path to the peer, then reconnect."),
        TcpError.Aborted => new(error, $"The connection to {remote} was aborted locally (Abort was called); open a new connection to continue."),
        TcpError.Unreachable => new(error, $"{remote} is unreachable (ICMP destination unreachable). Check the address and routes."),
        _ => new(error, $"The connection to {remote} closed unexpectedly ({error}); open a new connection to continue."),
    };
}
