using System.Buffers.Binary;
using Skiff.Wire;

namespace Skiff.Stack.Tcp;

/// <summary>
/// Stateless SYN cookies (RFC 4987 section 3.6, Linux's <c>secure_tcp_syn_cookie</c> layout): when the
/// half-open table is full, the listener answers a SYN with ISN =
/// <c>hash1(tuple, clientIsn) + (counter &lt;&lt; 24) + ((hash2(tuple, counter) + mssIndex) mod 2^24)</c>,
/// keeps no state, and rebuilds the connection from the ACK whose <c>SEG.ACK - 1</c> is the cookie.
/// <c>counter</c> is the passed-in time in 64-second steps; hash1/hash2 are SipHash-2-4 under a 128-bit
/// secret with distinct domain bytes. A cookie is accepted up to <see cref="MaxAgeSteps"/> steps old.
/// One deliberate difference from Linux: the client's ISN goes into hash1 instead of being added to the
/// cookie, so an ACK whose SEG.SEQ - 1 differs from the SYN's ISN fails the 24-bit check instead of
/// shifting the MSS index by the difference.
/// </summary>
/// <remarks>
/// Only the MSS survives in the ISN (2 bits, <see cref="MssTable"/>); window scale, SACK-permitted and ECN
/// can ride in the low 6 bits of our timestamp when the peer uses RFC 7323 timestamps
/// (<see cref="EncodeTimestamp"/>/<see cref="TryDecodeTimestamp"/>), as Linux does. Without timestamps
/// those options are lost (RFC 4987 section 3.6). Immutable apart from counters; the counters are not
/// synchronised (one instance per core). Allocation-free.
/// </remarks>
public sealed class SynCookies
{
    /// <summary>Length of the secret key in bytes.</summary>
    public const int KeyLength = 16;

    /// <summary>Seconds per counter step (64 s).</summary>
    public const long CounterPeriodSeconds = 64;

    /// <summary>Oldest accepted cookie, in counter steps (so a cookie lives between 128 and 192 s).</summary>
    public const int MaxAgeSteps = 2;

    private const int CounterShift = 24;
    private const int ScratchBytes = 5; // a 32-bit ISN or counter, then a domain byte
    private const uint LowMask = (1u << CounterShift) - 1;
    private const uint TimestampOptionBits = 6;
    private const uint TimestampMask = (1u << (int)TimestampOptionBits) - 1;
    private const uint NoWindowScale = 0xF;
    private const uint SackBit = 1u << 4;
    private const uint EcnBit = 1u << 5;

    private static readonly ushort[] s_mssTable = [536, 1300, 1440, 1460];

    private readonly ulong _k0;
    private readonly ulong _k1;

    /// <summary>
    /// Creates the codec with a 16-byte secret from a cryptographic random source. Throws
    /// <see cref="ArgumentException"/> for any other length.
    /// </summary>
    public SynCookies(ReadOnlySpan<byte> secretKey)
    {
        if (secretKey.Length != KeyLength)
        {
            throw new ArgumentException($"The SYN cookie secret must be {KeyLength} bytes; it was {secretKey.Length}.", nameof(secretKey));
        }
        _k0 = BinaryPrimitives.ReadUInt64LittleEndian(secretKey);
        _k1 = BinaryPrimitives.ReadUInt64LittleEndian(secretKey[8..]);
    }

    /// <summary>The MSS values a cookie can encode, ascending (Linux's IPv4 table).</summary>
    public static ReadOnlySpan<ushort> MssTable => s_mssTable;

    /// <summary>Cookies issued.</summary>
    public long Issued { get; private set; }

    /// <summary>Cookies accepted.</summary>
    public long Accepted { get; private set; }

    /// <summary>Cookies refused: too old, from the future, forged, or for another tuple/ISN.</summary>
    public long Rejected { get; private set; }

    /// <summary>
    /// The cookie to use as our ISN in the SYN-ACK for an IPv4 SYN. <paramref name="encodedMss"/> is the
    /// largest table MSS not above the client's (the smallest when the client's is below all): the caller
    /// must use it as the connection's MSS, since that is what validation will return.
    /// </summary>
    public SeqNumber Encode(Ipv4Address localAddress, ushort localPort, Ipv4Address remoteAddress, ushort remotePort, SeqNumber clientIsn, ushort clientMss, Instant now, out ushort encodedMss)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv4Length + ScratchBytes];
        int n = ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return EncodeCore(tuple, n, clientIsn, clientMss, now, out encodedMss);
    }

    /// <summary>The cookie for an IPv6 SYN; see the IPv4 overload.</summary>
    public SeqNumber Encode(Ipv6Address localAddress, ushort localPort, Ipv6Address remoteAddress, ushort remotePort, SeqNumber clientIsn, ushort clientMss, Instant now, out ushort encodedMss)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv6Length + ScratchBytes];
        int n = ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return EncodeCore(tuple, n, clientIsn, clientMss, now, out encodedMss);
    }

    /// <summary>
    /// Checks the cookie returned in an IPv4 ACK: <paramref name="cookie"/> is <c>SEG.ACK - 1</c>,
    /// <paramref name="clientIsn"/> is <c>SEG.SEQ - 1</c>. True with the encoded MSS when the cookie was made
    /// for this tuple and ISN at most <see cref="MaxAgeSteps"/> counter steps before <paramref name="now"/>.
    /// </summary>
    public bool TryValidate(SeqNumber cookie, Ipv4Address localAddress, ushort localPort, Ipv4Address remoteAddress, ushort remotePort, SeqNumber clientIsn, Instant now, out ushort mss)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv4Length + ScratchBytes];
        int n = ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return ValidateCore(cookie, tuple, n, clientIsn, now, out mss);
    }

    /// <summary>Checks the cookie returned in an IPv6 ACK; see the IPv4 overload.</summary>
    public bool TryValidate(SeqNumber cookie, Ipv6Address localAddress, ushort localPort, Ipv6Address remoteAddress, ushort remotePort, SeqNumber clientIsn, Instant now, out ushort mss)
    {
        Span<byte> tuple = stackalloc byte[ConnectionTupleBytes.Ipv6Length + ScratchBytes];
        int n = ConnectionTupleBytes.Write(tuple, localAddress, localPort, remoteAddress, remotePort);
        return ValidateCore(cookie, tuple, n, clientIsn, now, out mss);
    }

    /// <summary>
    /// Our TSval for a cookie SYN-ACK: <paramref name="timestampNow"/> with its low 6 bits replaced by the
    /// options (bits 0-3 window scale, 15 = none; bit 4 SACK; bit 5 ECN), moved back 64 ticks if that would
    /// put it ahead of the clock (Linux <c>cookie_init_timestamp</c>), so TSval never runs ahead (RFC 7323 section 5.4).
    /// Throws <see cref="ArgumentOutOfRangeException"/> for a window scale above 14 (RFC 7323 section 2.3).
    /// </summary>
    public static uint EncodeTimestamp(uint timestampNow, SynCookieOptions options)
    {
        uint bits = NoWindowScale;
        if (options.WindowScale is byte ws)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThan(ws, (byte)14, nameof(options));
            bits = ws;
        }
        if (options.SackPermitted)
        {
            bits |= SackBit;
        }
        if (options.EcnPermitted)
        {
            bits |= EcnBit;
        }
        uint ts = (timestampNow & ~TimestampMask) | bits;
        if (ts > timestampNow)
        {
            ts = unchecked(ts - (TimestampMask + 1));
        }
        return ts;
    }

    /// <summary>
    /// Recovers the options from the TSecr of the cookie's ACK. False when the window-scale field holds
    /// an impossible value (15 means none; 0-14 valid).
    /// </summary>
    public static bool TryDecodeTimestamp(uint echoedTimestamp, out SynCookieOptions options)
    {
        uint bits = echoedTimestamp & TimestampMask;
        uint ws = bits & 0xF;
        options = default;
        if (ws != NoWindowScale && ws > 14)
        {
            return false;
        }
        options = new SynCookieOptions(ws == NoWindowScale ? null : (byte)ws, (bits & SackBit) != 0, (bits & EcnBit) != 0);
        return true;
    }

    private SeqNumber EncodeCore(Span<byte> buffer, int tupleLength, SeqNumber clientIsn, ushort clientMss, Instant now, out ushort encodedMss)
    {
        uint index = 0;
        for (int i = s_mssTable.Length - 1; i >= 0; i--)
        {
            if (clientMss >= s_mssTable[i])
            {
                index = (uint)i;
                break;
            }
        }
        encodedMss = s_mssTable[index];
        uint counter = Counter(now);
        uint cookie = unchecked(Hash1(buffer, tupleLength, clientIsn) + (counter << CounterShift)
            + ((Hash2(buffer, tupleLength, counter) + index) & LowMask));
        Issued++;
        return new SeqNumber(cookie);
    }

    private bool ValidateCore(SeqNumber cookie, Span<byte> buffer, int tupleLength, SeqNumber clientIsn, Instant now, out ushort mss)
    {
        mss = 0;
        uint value = unchecked(cookie.Value - Hash1(buffer, tupleLength, clientIsn));
        uint counterNow = Counter(now);
        uint age = unchecked(counterNow - (value >> CounterShift)) & 0xFF;
        if (age > MaxAgeSteps)
        {
            Rejected++;
            return false;
        }
        uint counter = unchecked(counterNow - age);
        uint index = unchecked(value - Hash2(buffer, tupleLength, counter)) & LowMask;
        if (index >= (uint)s_mssTable.Length)
        {
            Rejected++;
            return false;
        }
        mss = s_mssTable[index];
        Accepted++;
        return true;
    }

    private static uint Counter(Instant now) => unchecked((uint)(now.TotalMicros / (CounterPeriodSeconds * 1_000_000)));

    private uint Hash1(Span<byte> buffer, int tupleLength, SeqNumber clientIsn)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer[tupleLength..], clientIsn.Value);
        buffer[tupleLength + 4] = 1;
        return unchecked((uint)SipHash24.Hash(_k0, _k1, buffer[..(tupleLength + ScratchBytes)]));
    }

    private uint Hash2(Span<byte> buffer, int tupleLength, uint counter)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer[tupleLength..], counter);
        buffer[tupleLength + 4] = 2;
        return unchecked((uint)SipHash24.Hash(_k0, _k1, buffer[..(tupleLength + ScratchBytes)]));
    }
}
