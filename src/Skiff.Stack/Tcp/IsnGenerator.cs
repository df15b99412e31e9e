using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// Initial sequence numbers per RFC 9293 section 3.4.1 and RFC 6528 section 3:
/// ISN = M + F(localip, localport, remoteip, remoteport, secretkey), where M is a timer ticking every
/// 4 microseconds, read from the <see cref="Instant"/> the caller passes (Skiff never reads a clock), and F
/// is SipHash-2-4 under a 128-bit secret, truncated to 32 bits. Successive connections on one 4-tuple get
/// increasing ISNs; other tuples' ISNs are unpredictable without the key.
/// </summary>
/// <remarks>Immutable after construction; thread-safe; allocation-free.</remarks>
public sealed class IsnGenerator
{
    /// <summary>Length of the secret key in bytes.</summary>
    public const int KeyLength = 16;

    /// <summary>Microseconds per tick of M (RFC 9293 section 3.4.1: "a 4 microsecond timer").</summary>
    public const int TimerTickMicros = 4;

    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>
    /// Creates a generator with a 16-byte secret, which should come from a cryptographic random source and
    /// stay the same for the host's uptime (RFC 6528 section 3). Throws <see cref="ArgumentException"/> for any other length.
    /// </summary>
    public IsnGenerator(ReadOnlySpan<byte> secretKey)
    {
        if (secretKey.Length != KeyLength)
        {
            throw new ArgumentException($"The ISN secret must be {KeyLength} bytes; it was {secretKey.Length}.", nameof(secretKey));
        }
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(secretKey);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(secretKey[8..]);
    }

    /// <summary>The ISN for an IPv4 connection at <paramref name="now"/>.</summary>
    public SeqNumber Generate(Ipv4Address localAddress, ushort localPort, Ipv4Address remoteAddress, ushort remotePort, Instant now)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv4Length];
        ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return Compute(tuple, now);
    }

    /// <summary>The ISN for an IPv6 connection at <paramref name="now"/>.</summary>
    public SeqNumber Generate(Ipv6Address localAddress, ushort localPort, Ipv6Address remoteAddress, ushort remotePort, Instant now)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv6Length];
        ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return Compute(tuple, now);
    }

    private SeqNumber Compute(ReadOnlySpan<byte> tuple, Instant now)
    {
        uint m = unchecked((uint)(now.TotalMicros / TimerTickMicros));
        uint f = unchecked((uint)SipHash24.Hash(_k0, _k1, tuple));
        return new SeqNumber(unchecked(m + f));
    }
}
