using System.Buffers.Binary;

namespace Skiff.Cli.Demo;

/// <summary>A reproducible pseudo-random byte stream (xorshift64*), so both ends can agree on what was meant to arrive.</summary>
internal struct SeededStream(ulong seed)
{
    private ulong _state = seed == 0 ? 0x9E37_79B9_7F4A_7C15UL : seed;

    /// <summary>Fills <paramref name="destination"/> (a multiple of 8 bytes is fastest) with the next bytes.</summary>
    public void Fill(Span<byte> destination)
    {
        int i = 0;
        for (; i + 8 <= destination.Length; i += 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination[i..], Next());
        }
        if (i < destination.Length)
        {
            Span<byte> tail = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(tail, Next());
            tail[..(destination.Length - i)].CopyTo(destination[i..]);
        }
    }

    private ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545_F491_4F6C_DD1DUL;
    }
}
