namespace Skiff.Wire;

/// <summary>Formatting for <see cref="TcpFlags"/>.</summary>
public static class TcpFlagsExtensions
{
    /// <summary>tcpdump's flag letters in its order: F S R P . U E W (e.g. "S." for SYN-ACK), or <c>none</c>. Allocates; for printing.</summary>
    public static string ToTcpdumpString(this TcpFlags flags)
    {
        if (flags == TcpFlags.None)
        {
            return "none";
        }
        Span<char> letters = stackalloc char[8];
        int n = 0;
        if ((flags & TcpFlags.Fin) != 0) { letters[n++] = 'F'; }
        if ((flags & TcpFlags.Syn) != 0) { letters[n++] = 'S'; }
        if ((flags & TcpFlags.Rst) != 0) { letters[n++] = 'R'; }
        if ((flags & TcpFlags.Psh) != 0) { letters[n++] = 'P'; }
        if ((flags & TcpFlags.Ack) != 0) { letters[n++] = '.'; }
        if ((flags & TcpFlags.Urg) != 0) { letters[n++] = 'U'; }
        if ((flags & TcpFlags.Ece) != 0) { letters[n++] = 'E'; }
        if ((flags & TcpFlags.Cwr) != 0) { letters[n++] = 'W'; }
        return new string(letters[..n]);
    }
}
