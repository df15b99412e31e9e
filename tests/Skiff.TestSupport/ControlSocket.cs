using System.Net.Sockets;
using System.Text;

namespace Skiff.TestSupport;

/// <summary>The control socket as <c>skiff stats</c> speaks to it, for tests of processes that open one.</summary>
public static class ControlSocket
{
    /// <summary>The answer line to <c>snapshot</c> at <paramref name="path"/> (JSON: the queues, and the app's own instruments).</summary>
    public static string Snapshot(string path)
    {
        using Socket s = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = 10_000 };
        s.Connect(new UnixDomainSocketEndPoint(path));
        s.Send("snapshot\n"u8);
        List<byte> line = [];
        byte[] one = new byte[1];
        while (s.Receive(one) == 1 && one[0] != (byte)'\n')
        {
            line.Add(one[0]);
        }
        return Encoding.UTF8.GetString([.. line]);
    }
}
