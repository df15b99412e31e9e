using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>A connection's IPv4 4-tuple, seen from this host.</summary>
/// <param name="LocalAddress">Our address in the connection.</param>
/// <param name="LocalPort">Our port.</param>
/// <param name="RemoteAddress">The peer's address.</param>
/// <param name="RemotePort">The peer's port.</param>
public readonly record struct TcpTuple(Ipv4Address LocalAddress, ushort LocalPort, Ipv4Address RemoteAddress, ushort RemotePort)
{
    /// <summary>A well-mixed hash for table lookups (not the RSS hash).</summary>
    public int TableHash()
    {
        ulong a = ((ulong)LocalAddress.Value << 32) | RemoteAddress.Value;
        ulong b = ((ulong)LocalPort << 16) | RemotePort;
        ulong h = (a ^ (b * 0x9E37_79B9_7F4A_7C15UL)) * 0xBF58_476D_1CE4_E5B9UL;
        return (int)(h >> 33);
    }

    /// <summary>The tuple as <c>LOCAL:PORT &lt;-&gt; REMOTE:PORT</c>, for logs.</summary>
    public override string ToString() => $"{LocalAddress}:{LocalPort} <-> {RemoteAddress}:{RemotePort}";
}
