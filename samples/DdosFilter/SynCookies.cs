using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DdosFilter;

/// <summary>
/// SYN cookies (RFC 4987 section 3.6, the Linux layout's idea): the initial sequence number of the SYN-ACK carries
/// everything needed to accept the handshake's final ACK without any state kept for the SYN.
/// </summary>
/// <remarks>
/// <para>Layout of the 32-bit cookie: bits 31..27 the time slot (64 s slots, modulo 32), bits 26..24 the index of the
/// client's MSS in <see cref="MssTable"/>, bits 23..0 a keyed hash (SipHash-2-4 with a random 128-bit key) of the four
/// addresses and ports, the client's initial sequence number and the full time slot.</para>
/// <para>A cookie is accepted during its own slot and the next one (64 to 128 s). An attacker who does not see the
/// SYN-ACK must guess 24 bits per try for each four-tuple and ISN: 1 in 16.7 million per ACK (twice that, over two slots).</para>
/// <para>Sans-I/O: the time comes from the caller (the hook context's <c>Now</c>); nothing is allocated per call.</para>
/// </remarks>
public sealed class SynCookies
{
    /// <summary>The MSS values a cookie can carry (3 bits); the client's MSS rounds down to one of them.</summary>
    public static readonly ushort[] MssTable = [536, 1200, 1300, 1380, 1420, 1440, 1460, 8960];

    /// <summary>Microseconds in one time slot.</summary>
    public const long SlotMicros = 64_000_000;

    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>Cookies keyed with a fresh random key.</summary>
    public SynCookies()
    {
        Span<byte> key = stackalloc byte[16];
        RandomNumberGenerator.Fill(key);
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(key[8..]);
    }

    /// <summary>Cookies with a given key (tests).</summary>
    public SynCookies(ulong k0, ulong k1)
    {
        _k0 = k0;
        _k1 = k1;
    }

    /// <summary>The index in <see cref="MssTable"/> of the largest entry not above <paramref name="mss"/> (0 when it is below all).</summary>
    public static int MssIndex(int mss)
    {
        int index = 0;
        for (int i = 0; i < MssTable.Length; i++)
        {
            if (MssTable[i] <= mss)
            {
                index = i;
            }
        }
        return index;
    }

    /// <summary>
    /// The cookie (the SYN-ACK's sequence number) for a SYN from <paramref name="client"/>:<paramref name="clientPort"/> to
    /// <paramref name="server"/>:<paramref name="serverPort"/> with initial sequence number <paramref name="clientIsn"/>
    /// and MSS option <paramref name="mss"/>, at <paramref name="nowMicros"/>.
    /// </summary>
    public uint Encode(uint client, uint server, ushort clientPort, ushort serverPort, uint clientIsn, int mss, long nowMicros)
    {
        long slot = nowMicros / SlotMicros;
        uint mssIndex = (uint)MssIndex(mss);
        return ((uint)(slot & 31) << 27) | (mssIndex << 24) | (uint)(Hash(client, server, clientPort, serverPort, clientIsn, slot) & 0xFF_FFFF);
    }

    /// <summary>
    /// Checks <paramref name="cookie"/> (the final ACK's acknowledgment number minus one) for the ACK's four-tuple and
    /// <paramref name="clientIsn"/> (its sequence number minus one). Returns the MSS it carries, or 0 when it is not a
    /// cookie this key made in the current or the previous time slot.
    /// </summary>
    public int Verify(uint cookie, uint client, uint server, ushort clientPort, ushort serverPort, uint clientIsn, long nowMicros)
    {
        long now = nowMicros / SlotMicros;
        uint cookieSlot = cookie >> 27;
        for (long slot = now; slot >= now - 1 && slot >= 0; slot--)
        {
            if ((uint)(slot & 31) != cookieSlot)
            {
                continue;
            }
            if ((Hash(client, server, clientPort, serverPort, clientIsn, slot) & 0xFF_FFFF) == (cookie & 0xFF_FFFF))
            {
                return MssTable[(cookie >> 24) & 7];
            }
        }
        return 0;
    }

    private ulong Hash(uint client, uint server, ushort clientPort, ushort serverPort, uint clientIsn, long slot) =>
        SipHash24(_k0, _k1, ((ulong)client << 32) | server, ((ulong)clientPort << 48) | ((ulong)serverPort << 32) | clientIsn, (ulong)slot);

    /// <summary>SipHash-2-4 of three 64-bit words (24 bytes, little-endian words), as <see cref="SipHash24(ulong, ulong, ReadOnlySpan{byte})"/> of their bytes.</summary>
    public static ulong SipHash24(ulong k0, ulong k1, ulong m0, ulong m1, ulong m2)
    {
        ulong v0 = k0 ^ 0x736f6d6570736575UL, v1 = k1 ^ 0x646f72616e646f6dUL, v2 = k0 ^ 0x6c7967656e657261UL, v3 = k1 ^ 0x7465646279746573UL;
        Absorb(ref v0, ref v1, ref v2, ref v3, m0);
        Absorb(ref v0, ref v1, ref v2, ref v3, m1);
        Absorb(ref v0, ref v1, ref v2, ref v3, m2);
        Absorb(ref v0, ref v1, ref v2, ref v3, 24UL << 56);
        return Finish(v0, v1, v2, v3);
    }

    /// <summary>SipHash-2-4 (Aumasson and Bernstein) of <paramref name="message"/> under the key (k0, k1): the reference for the fixed-size form.</summary>
    public static ulong SipHash24(ulong k0, ulong k1, ReadOnlySpan<byte> message)
    {
        ulong v0 = k0 ^ 0x736f6d6570736575UL, v1 = k1 ^ 0x646f72616e646f6dUL, v2 = k0 ^ 0x6c7967656e657261UL, v3 = k1 ^ 0x7465646279746573UL;
        int blocks = message.Length / 8;
        for (int i = 0; i < blocks; i++)
        {
            Absorb(ref v0, ref v1, ref v2, ref v3, BinaryPrimitives.ReadUInt64LittleEndian(message[(i * 8)..]));
        }
        ulong last = (ulong)(message.Length & 0xFF) << 56;
        ReadOnlySpan<byte> tail = message[(blocks * 8)..];
        for (int i = 0; i < tail.Length; i++)
        {
            last |= (ulong)tail[i] << (8 * i);
        }
        Absorb(ref v0, ref v1, ref v2, ref v3, last);
        return Finish(v0, v1, v2, v3);
    }

    private static void Absorb(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3, ulong m)
    {
        v3 ^= m;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= m;
    }

    private static ulong Finish(ulong v0, ulong v1, ulong v2, ulong v3)
    {
        v2 ^= 0xFF;
        for (int i = 0; i < 4; i++)
        {
            Round(ref v0, ref v1, ref v2, ref v3);
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    private static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1; v1 = ulong.RotateLeft(v1, 13); v1 ^= v0; v0 = ulong.RotateLeft(v0, 32);
        v2 += v3; v3 = ulong.RotateLeft(v3, 16); v3 ^= v2;
        v0 += v3; v3 = ulong.RotateLeft(v3, 21); v3 ^= v0;
        v2 += v1; v1 = ulong.RotateLeft(v1, 17); v1 ^= v2; v2 = ulong.RotateLeft(v2, 32);
    }
}
