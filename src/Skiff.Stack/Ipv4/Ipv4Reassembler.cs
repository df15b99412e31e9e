using System.Buffers.Binary;
using Skiff.Stack.Internal;

namespace Skiff.Stack.Ipv4;

/// <summary>
/// Puts IPv4 fragments back together (RFC 791 section 3.2, with RFC 815's hole descriptors). Sans-I/O: the caller
/// parses the IPv4 header and passes the fragment's key, offset, MF flag, header and payload; time is passed in.
/// </summary>
/// <remarks>
/// <para>Memory: one slot per datagram in reassembly, preallocated at construction
/// (<see cref="Ipv4ReassemblerOptions.MaxDatagrams"/> slots of 60 + MaxDatagramBytes bytes). A datagram of up to
/// 65535 bytes does not fit one pool frame, so it is rebuilt in a slot rather than in a
/// <see cref="PacketBuffer"/>; fragments are copied in, and the caller keeps (and frees) its own buffers. Each slot
/// keeps its hole list in a fixed array of MaxFragmentsPerDatagram + 1 descriptors (every accepted fragment
/// splits at most one hole into two). Nothing allocates after construction.</para>
/// <para>Bounds (contract 5), each counted when it refuses: datagrams in reassembly
/// (<see cref="RefusedDatagrams"/>), payload bytes held over all of them and datagram size
/// (<see cref="RefusedBytes"/>), fragments per datagram (<see cref="RefusedFragments"/>), and time
/// (<see cref="Ipv4ReassemblerOptions.Timeout"/> from the first fragment; <see cref="Timeouts"/>). Datagrams are
/// found by a linear scan of the slots: there are few (16 by default), and only fragments pay for it.</para>
/// <para>Overlaps: a fragment that overlaps data already received discards the whole datagram
/// (<see cref="Overlaps"/>), as RFC 5722 requires for IPv6 and as is the safe choice for IPv4 (overlapping
/// fragments are how IDS evasion and "teardrop" attacks work). One exception: a fragment whose every byte has
/// already arrived with the same value (a duplicated packet on the network) is ignored and counted in
/// <see cref="Duplicates"/>; the datagram goes on.</para>
/// <para>Not thread-safe: one stack (one core) owns it.</para>
/// </remarks>
public sealed class Ipv4Reassembler
{
    private const int MaxHeaderBytes = 60;
    private const int MinHeaderBytes = 20;
    private const int MaxIpv4Bytes = 65535;

    private readonly FragmentReassembler<Ipv4FragmentKey> _core;

    /// <summary>Creates a reassembler; <paramref name="options"/> defaults to <see cref="Ipv4ReassemblerOptions"/>' defaults.</summary>
    public Ipv4Reassembler(Ipv4ReassemblerOptions? options = null)
    {
        _core = new FragmentReassembler<Ipv4FragmentKey>(options ?? new Ipv4ReassemblerOptions(), MinHeaderBytes, MaxHeaderBytes, MaxIpv4Bytes);
    }

    /// <summary>The options this reassembler was made with.</summary>
    public Ipv4ReassemblerOptions Options => _core.Options;

    /// <summary>Datagrams currently in reassembly.</summary>
    public int InProgress => _core.InProgress;

    /// <summary>Payload bytes currently held.</summary>
    public int BufferedBytes => _core.BufferedBytes;

    /// <summary>Datagrams reassembled completely.</summary>
    public long Reassembled => _core.Reassembled;

    /// <summary>Datagrams given up on by <see cref="TryExpire"/>.</summary>
    public long Timeouts => _core.Timeouts;

    /// <summary>Datagrams discarded because fragments overlapped.</summary>
    public long Overlaps => _core.Overlaps;

    /// <summary>Identical duplicate fragments ignored.</summary>
    public long Duplicates => _core.Duplicates;

    /// <summary>Fragments with an impossible offset or length (see <see cref="Ipv4ReassemblyStatus.BadLength"/>).</summary>
    public long BadLengths => _core.BadLengths;

    /// <summary>First fragments of a new datagram refused because every slot was in use.</summary>
    public long RefusedDatagrams => _core.RefusedDatagrams;

    /// <summary>Fragments refused by the byte budget or because the datagram would exceed <see cref="Ipv4ReassemblerOptions.MaxDatagramBytes"/>.</summary>
    public long RefusedBytes => _core.RefusedBytes;

    /// <summary>Datagrams discarded for having more than <see cref="Ipv4ReassemblerOptions.MaxFragmentsPerDatagram"/> fragments.</summary>
    public long RefusedFragments => _core.RefusedFragments;

    /// <summary>
    /// Adds one fragment. <paramref name="offsetBytes"/> is the Fragment Offset field times 8;
    /// <paramref name="header"/> is the fragment's IPv4 header (20 to 60 bytes, options included), kept only from
    /// fragment zero; <paramref name="payload"/> is its data. Both are copied: the caller keeps its buffer. Never
    /// throws on packet data: every outcome is a status and a counter. When the result is
    /// <see cref="Ipv4ReassemblyStatus.Complete"/> its spans are valid until the next call on this reassembler.
    /// </summary>
    public Ipv4ReassemblyResult Add(in Ipv4FragmentKey key, int offsetBytes, bool moreFragments, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload, Instant now)
    {
        FragmentResult result = _core.Add(key, offsetBytes, moreFragments, header, payload, now);
        if (result.Status != Ipv4ReassemblyStatus.Complete)
        {
            return new Ipv4ReassemblyResult(result.Status);
        }
        // RFC 791 section 3.2: the datagram takes the first fragment's header, with the length of the whole.
        RewriteHeader(result.Datagram[..result.HeaderBytes], result.Datagram.Length);
        return new Ipv4ReassemblyResult(Ipv4ReassemblyStatus.Complete, result.Datagram, result.HeaderBytes);
    }

    /// <summary>
    /// Gives up on one datagram whose <see cref="Ipv4ReassemblerOptions.Timeout"/> has passed, if any: frees its slot,
    /// counts <see cref="Timeouts"/> and describes it in <paramref name="expired"/> (valid until the next call).
    /// Call in a loop until it returns false; each call does bounded work.
    /// </summary>
    public bool TryExpire(Instant now, out Ipv4ReassemblyTimeout expired)
    {
        bool any = _core.TryExpire(now, out FragmentTimeout<Ipv4FragmentKey> timeout);
        expired = any ? new Ipv4ReassemblyTimeout(timeout.Key, timeout.IcmpQuote) : default;
        return any;
    }

    /// <summary>The earliest reassembly deadline, or <see cref="Instant.Never"/> when nothing is in reassembly.</summary>
    public Instant PollAt() => _core.PollAt();

    // RFC 791 section 3.1: Total Length at bytes 2-3, flags and Fragment Offset at 6-7, header checksum at 10-11.
    private static void RewriteHeader(Span<byte> header, int totalLength)
    {
        BinaryPrimitives.WriteUInt16BigEndian(header[2..], (ushort)totalLength);
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(header[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(header[6..], (ushort)(flags & 0x4000)); // keep DF; clear MF and the offset
        header[10] = 0;
        header[11] = 0;
        uint sum = 0;
        for (int i = 0; i + 1 < header.Length; i += 2)
        {
            sum += BinaryPrimitives.ReadUInt16BigEndian(header[i..]);
        }
        while (sum > 0xFFFF)
        {
            sum = (sum & 0xFFFF) + (sum >> 16);
        }
        BinaryPrimitives.WriteUInt16BigEndian(header[10..], (ushort)~sum);
    }
}
