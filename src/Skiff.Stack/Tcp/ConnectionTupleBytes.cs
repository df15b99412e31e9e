using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>Serialises a TCP 4-tuple into a caller's buffer for keyed hashing. Allocation-free.</summary>
internal static class ConnectionTupleBytes
{
    /// <summary>Bytes written for an IPv4 tuple.</summary>
    public const int Ipv4Length = 12;

    /// <summary>Bytes written for an IPv6 tuple; the different length keeps the two families apart under SipHash.</summary>
    public const int Ipv6Length = 36;

    public static int Write(Span<byte> destination, Ipv4Address localAddress, ushort localPort, Ipv4Address remoteAddress, ushort remotePort)
    {
        localAddress.Write(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], localPort);
        remoteAddress.Write(destination[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], remotePort);
        return Ipv4Length;
    }

    public static int Write(Span<byte> destination, Ipv6Address localAddress, ushort localPort, Ipv6Address remoteAddress, ushort remotePort)
    {
        localAddress.Write(destination);
        BinaryPrimitives.WriteUInt16BigEndian(destination[16..], localPort);
        remoteAddress.Write(destination[18..]);
        BinaryPrimitives.WriteUInt16BigEndian(destination[34..], remotePort);
        return Ipv6Length;
    }
}
