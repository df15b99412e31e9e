using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Skiff.Wire;

/// <summary>
/// The Toeplitz hash that NICs use for receive-side scaling, as Microsoft specifies it ("RSS hashing
/// functions" and "Verifying the RSS hash calculation", Windows driver docs): for each set bit of the
/// input, most significant bit of the first byte first, XOR in the 32-bit window of the key that starts
/// at that bit position. Software computes the same value the NIC puts in its RX descriptor, so a flow
/// can be steered to the queue the hardware would pick.
/// </summary>
/// <remarks>
/// The constructor precomputes, for every input byte position and byte value, the XOR of the key windows
/// of its set bits (36 positions x 256 values x 4 bytes = 36 KiB), so a hash costs one table load and XOR
/// per input byte instead of eight conditional XORs. Immutable after construction: safe to share between
/// threads. Hashing never allocates.
/// </remarks>
public sealed class ToeplitzHash
{
    /// <summary>Key length in bytes (320 bits, as NDIS and most NICs use).</summary>
    public const int KeyLength = 40;

    /// <summary>Longest input: the key supplies 320 - 32 + 1 windows, i.e. 36 bytes (an IPv6 4-tuple).</summary>
    public const int MaxInputLength = KeyLength - 4;

    private readonly uint[] _table;

    /// <summary>The key Microsoft's verification suite uses, and the default of many drivers (ixgbe, mlx5, DPDK's default).</summary>
    public static ReadOnlySpan<byte> MicrosoftKey =>
    [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
        0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
        0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    /// <summary>A hasher with <see cref="MicrosoftKey"/>.</summary>
    public ToeplitzHash() : this(MicrosoftKey)
    {
    }

    /// <summary>A hasher with <paramref name="key"/>, which must be exactly <see cref="KeyLength"/> bytes (else <see cref="ArgumentException"/>). The key is copied into tables.</summary>
    public ToeplitzHash(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
        {
            throw new ArgumentException($"An RSS Toeplitz key is {KeyLength} bytes; this one is {key.Length}.", nameof(key));
        }
        Span<byte> padded = stackalloc byte[KeyLength + 8];
        padded.Clear();
        key.CopyTo(padded);
        _table = new uint[MaxInputLength * 256];
        Span<uint> windows = stackalloc uint[8];
        for (int position = 0; position < MaxInputLength; position++)
        {
            // Window for bit 7 - i of this byte starts at key bit position * 8 + i.
            ulong bits = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(padded[position..]);
            for (int i = 0; i < 8; i++)
            {
                windows[i] = (uint)((bits << i) >> 32);
            }
            for (int value = 0; value < 256; value++)
            {
                uint h = 0;
                for (int i = 0; i < 8; i++)
                {
                    if ((value & (0x80 >> i)) != 0)
                    {
                        h ^= windows[i];
                    }
                }
                _table[position * 256 + value] = h;
            }
        }
    }

    /// <summary>The hash of <paramref name="input"/> (at most <see cref="MaxInputLength"/> bytes, else <see cref="ArgumentOutOfRangeException"/>).</summary>
    public uint Hash(ReadOnlySpan<byte> input)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(input.Length, MaxInputLength);
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        uint h = 0;
        for (int i = 0; i < input.Length; i++)
        {
            h ^= Unsafe.Add(ref table, (i << 8) | input[i]);
        }
        return h;
    }

    /// <summary>The 2-tuple hash (NDIS_HASH_IPV4): source address, destination address.</summary>
    public uint HashIpv4(Ipv4Address source, Ipv4Address destination)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        return Word(ref table, 0, source.Value) ^ Word(ref table, 4, destination.Value);
    }

    /// <summary>The 4-tuple hash (NDIS_HASH_TCP_IPV4, and UDP): source address, destination address, source port, destination port.</summary>
    public uint HashIpv4(Ipv4Address source, Ipv4Address destination, ushort sourcePort, ushort destinationPort)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        return Word(ref table, 0, source.Value) ^ Word(ref table, 4, destination.Value)
             ^ Word(ref table, 8, ((uint)sourcePort << 16) | destinationPort);
    }

    /// <summary>The 2-tuple hash (NDIS_HASH_IPV6): source address, destination address.</summary>
    public uint HashIpv6(Ipv6Address source, Ipv6Address destination)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        return Address(ref table, 0, source) ^ Address(ref table, 16, destination);
    }

    /// <summary>The 4-tuple hash (NDIS_HASH_TCP_IPV6, and UDP): source address, destination address, source port, destination port.</summary>
    public uint HashIpv6(Ipv6Address source, Ipv6Address destination, ushort sourcePort, ushort destinationPort)
    {
        ref uint table = ref MemoryMarshal.GetArrayDataReference(_table);
        return Address(ref table, 0, source) ^ Address(ref table, 16, destination)
             ^ Word(ref table, 32, ((uint)sourcePort << 16) | destinationPort);
    }

    // The positions passed in are constants below MaxInputLength - 3, so no lookup leaves the table.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Word(ref uint table, int position, uint value) =>
        Unsafe.Add(ref table, (position << 8) | (int)(value >> 24))
        ^ Unsafe.Add(ref table, ((position + 1) << 8) | (int)((value >> 16) & 0xFF))
        ^ Unsafe.Add(ref table, ((position + 2) << 8) | (int)((value >> 8) & 0xFF))
        ^ Unsafe.Add(ref table, ((position + 3) << 8) | (int)(value & 0xFF));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Address(ref uint table, int position, Ipv6Address address) =>
        Word(ref table, position, (uint)(address.High >> 32)) ^ Word(ref table, position + 4, (uint)address.High)
        ^ Word(ref table, position + 8, (uint)(address.Low >> 32)) ^ Word(ref table, position + 12, (uint)address.Low);
}
