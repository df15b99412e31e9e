using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>A connection's 4-tuple, seen from this host: IPv4, or IPv6 (built with the <see cref="IpAddress"/> constructor).</summary>
/// <param name="LocalAddress">Our IPv4 address in the connection.</param>
/// <param name="LocalPort">Our port.</param>
/// <param name="RemoteAddress">The peer's IPv4 address.</param>
/// <param name="RemotePort">The peer's port.</param>
public readonly record struct TcpTuple(Ipv4Address LocalAddress, ushort LocalPort, Ipv4Address RemoteAddress, ushort RemotePort)
{
    private readonly IpAddress _local = LocalAddress;
    private readonly IpAddress _remote = RemoteAddress;

    /// <summary>A tuple of either family; both addresses must be of the same family.</summary>
    /// <param name="localAddress">Our address.</param>
    /// <param name="localPort">Our port.</param>
    /// <param name="remoteAddress">The peer's address.</param>
    /// <param name="remotePort">The peer's port.</param>
    public TcpTuple(IpAddress localAddress, ushort localPort, IpAddress remoteAddress, ushort remotePort)
        : this(Ipv4Address.Any, localPort, Ipv4Address.Any, remotePort)
    {
        _local = localAddress;
        _remote = remoteAddress;
    }

    /// <summary>Our IPv4 address; <see cref="Ipv4Address.Any"/> in an IPv6 tuple (read <see cref="LocalIp"/>).</summary>
    public Ipv4Address LocalAddress { get => _local.Ipv4; init => _local = value; }

    /// <summary>The peer's IPv4 address; <see cref="Ipv4Address.Any"/> in an IPv6 tuple (read <see cref="RemoteIp"/>).</summary>
    public Ipv4Address RemoteAddress { get => _remote.Ipv4; init => _remote = value; }

    /// <summary>Our address, IPv4 or IPv6.</summary>
    public IpAddress LocalIp => _local;

    /// <summary>The peer's address, IPv4 or IPv6.</summary>
    public IpAddress RemoteIp => _remote;

    /// <summary>True for a connection over IPv6.</summary>
    public bool IsIpv6 => _local.IsIpv6;

    /// <summary>True when both tuples name the same connection.</summary>
    /// <param name="other">The other tuple.</param>
    public bool Equals(TcpTuple other) =>
        _local.Equals(other._local) && _remote.Equals(other._remote) && LocalPort == other.LocalPort && RemotePort == other.RemotePort;

    /// <summary>The same value as <see cref="TableHash"/>.</summary>
    public override int GetHashCode() => TableHash();

    /// <summary>A well-mixed hash for table lookups (not the RSS hash).</summary>
    public int TableHash()
    {
        // For IPv4 the folds are the 32-bit addresses (the rotation is the old shift), so this is the hash IPv4 tuples always had.
        ulong a = System.Numerics.BitOperations.RotateLeft(_local.Fold, 32) ^ _remote.Fold;
        ulong b = ((ulong)LocalPort << 16) | RemotePort;
        ulong h = (a ^ (b * 0x9E37_79B9_7F4A_7C15UL)) * 0xBF58_476D_1CE4_E5B9UL;
        return (int)(h >> 33);
    }

    /// <summary>The tuple as <c>LOCAL:PORT &lt;-&gt; REMOTE:PORT</c> (IPv6 addresses in brackets), for logs.</summary>
    public override string ToString() => $"{_local.ToUriHost()}:{LocalPort} <-> {_remote.ToUriHost()}:{RemotePort}";
}
