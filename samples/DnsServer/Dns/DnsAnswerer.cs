using System.Buffers.Binary;

namespace Skiff.Samples.DnsServer.Dns;

/// <summary>How a query arrived: the size limit of the answer depends on it.</summary>
public enum DnsTransport
{
    /// <summary>UDP: 512 bytes, or the EDNS0 size the client offers (clamped); larger answers are truncated (TC).</summary>
    Udp,

    /// <summary>TCP (RFC 7766): up to 65535 bytes; never truncated.</summary>
    Tcp,
}

/// <summary>
/// Answers DNS queries for one <see cref="CompiledZone"/>, in place: the query's bytes are read and the response is
/// written over them in the same buffer (the header and question stay where they are). Allocation-free, so it runs on
/// the engine's loop for every datagram; any byte sequence is handled as data (RFC 1035, RFC 6891 EDNS0, RFC 2308
/// negative answers): a message with no usable header is dropped and counted, anything else gets an answer, FORMERR
/// for what does not parse. Not thread-safe (its counters): one per loop.
/// </summary>
public sealed class DnsAnswerer
{
    /// <summary>The UDP payload every DNS server and client handles (RFC 1035 section 4.2.1).</summary>
    public const int MinUdpBytes = 512;

    /// <summary>The default largest UDP answer: the DNS flag day 2020 value, which avoids IP fragmentation on every path.</summary>
    public const int DefaultMaxUdpBytes = 1232;

    private const int HeaderBytes = 12;
    private const int OptBytes = 11;
    private const ushort TypeOpt = 41;
    private const ushort ClassIn = 1;
    private const ushort ClassAny = 255;

    private readonly CompiledZone _zone;
    private readonly int _apexBytes;

    /// <summary>An answerer for <paramref name="zone"/> whose UDP answers are at most <paramref name="maxUdpBytes"/> (512 to 65535; the EDNS size it advertises).</summary>
    public DnsAnswerer(CompiledZone zone, int maxUdpBytes = DefaultMaxUdpBytes)
    {
        ArgumentNullException.ThrowIfNull(zone);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxUdpBytes, MinUdpBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxUdpBytes, ushort.MaxValue);
        _zone = zone;
        _apexBytes = zone.Apex.Wire.Length;
        MaxUdpBytes = maxUdpBytes;
    }

    /// <summary>The largest UDP answer, and the size advertised in the OPT record.</summary>
    public int MaxUdpBytes { get; }

    /// <summary>The zone answered for.</summary>
    public CompiledZone Zone => _zone;

    /// <summary>What was answered and dropped, by cause.</summary>
    public DnsCounters Counters { get; } = new();

    /// <summary>
    /// Answers the query in <paramref name="message"/>[..<paramref name="queryLength"/>], writing the response over it;
    /// <paramref name="message"/>'s length is the room there is (for UDP at least 512 bytes plus what the size limit allows).
    /// Returns the response's length, or 0 when the message is dropped (no header to answer; counted).
    /// </summary>
    public int Answer(Span<byte> message, int queryLength, DnsTransport transport)
    {
        if (message.Length < MinUdpBytes)
        {
            throw new ArgumentException($"Give the answerer at least {MinUdpBytes} bytes of room; it had {message.Length}.", nameof(message));
        }
        DnsCounters c = Counters;
        c.Queries++;
        if (queryLength < HeaderBytes || queryLength > message.Length)
        {
            c.Drop(DnsDropReason.ShortHeader);
            return 0;
        }
        ReadOnlySpan<byte> q = message[..queryLength];
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(q[2..]);
        if ((flags & 0x8000) != 0)
        {
            c.Drop(DnsDropReason.NotAQuery);
            return 0;
        }
        if (((flags >> 11) & 0xF) != 0)
        {
            c.NotImp++;
            return HeaderOnly(message, flags, DnsRcode.NotImp);
        }
        if (BinaryPrimitives.ReadUInt16BigEndian(q[4..]) != 1 || BinaryPrimitives.ReadUInt16BigEndian(q[6..]) != 0 || BinaryPrimitives.ReadUInt16BigEndian(q[8..]) != 0)
        {
            return FormErr(message, flags, DnsFormErrReason.SectionCounts);
        }
        int additional = BinaryPrimitives.ReadUInt16BigEndian(q[10..]);

        // The question: literal labels only (a pointer in the first name of a message can point nowhere valid).
        Span<byte> name = stackalloc byte[DnsName.MaxWireBytes];
        int pos = HeaderBytes;
        int nameBytes = 0;
        while (true)
        {
            if (pos >= queryLength)
            {
                return FormErr(message, flags, DnsFormErrReason.Truncated);
            }
            int len = q[pos];
            if ((len & 0xC0) != 0 || nameBytes + len + 1 > DnsName.MaxWireBytes)
            {
                return FormErr(message, flags, DnsFormErrReason.BadName);
            }
            if (pos + 1 + len > queryLength)
            {
                return FormErr(message, flags, DnsFormErrReason.Truncated);
            }
            name[nameBytes] = (byte)len;
            for (int j = 1; j <= len; j++)
            {
                name[nameBytes + j] = DnsName.ToLower(q[pos + j]);
            }
            nameBytes += len + 1;
            pos += len + 1;
            if (len == 0)
            {
                break;
            }
        }
        if (pos + 4 > queryLength)
        {
            return FormErr(message, flags, DnsFormErrReason.Truncated);
        }
        ushort qtype = BinaryPrimitives.ReadUInt16BigEndian(q[pos..]);
        ushort qclass = BinaryPrimitives.ReadUInt16BigEndian(q[(pos + 2)..]);
        pos += 4;
        int questionEnd = pos;

        // The additional section: at most one OPT (RFC 6891 section 6.1.1), nothing else.
        bool edns = false;
        int offeredSize = 0;
        int version = 0;
        bool dnssecOk = false;
        for (int i = 0; i < additional; i++)
        {
            int afterName = SkipName(q, pos);
            if (afterName < 0)
            {
                return FormErr(message, flags, afterName == -1 ? DnsFormErrReason.Truncated : DnsFormErrReason.BadName);
            }
            if (afterName + 10 > queryLength)
            {
                return FormErr(message, flags, DnsFormErrReason.Truncated);
            }
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(q[afterName..]);
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(q[(afterName + 8)..]);
            int end = afterName + 10 + rdLength;
            if (end > queryLength)
            {
                return FormErr(message, flags, DnsFormErrReason.Truncated);
            }
            if (type != TypeOpt)
            {
                return FormErr(message, flags, DnsFormErrReason.UnsupportedAdditional);
            }
            if (edns || afterName != pos + 1)
            {
                return FormErr(message, flags, DnsFormErrReason.BadOpt);
            }
            for (int o = afterName + 10; o < end;)
            {
                if (o + 4 > end)
                {
                    return FormErr(message, flags, DnsFormErrReason.BadOpt);
                }
                o += 4 + BinaryPrimitives.ReadUInt16BigEndian(q[(o + 2)..]);
                if (o > end)
                {
                    return FormErr(message, flags, DnsFormErrReason.BadOpt);
                }
            }
            edns = true;
            offeredSize = BinaryPrimitives.ReadUInt16BigEndian(q[(afterName + 2)..]);
            version = q[afterName + 5];
            dnssecOk = (q[afterName + 6] & 0x80) != 0;
            pos = end;
        }
        if (pos != queryLength)
        {
            return FormErr(message, flags, DnsFormErrReason.TrailingBytes);
        }
        if (edns)
        {
            c.Edns++;
            if (version != 0)
            {
                c.BadVers++;
                return Finish(message, flags, DnsRcode.BadVers, authoritative: false, truncated: false, 0, 0, 0, questionEnd, edns, dnssecOk);
            }
        }
        if (qtype == TypeOpt)
        {
            return FormErr(message, flags, DnsFormErrReason.BadType);
        }
        ReadOnlySpan<byte> lowered = name[..nameBytes];
        if ((qclass != ClassIn && qclass != ClassAny) || qtype is 251 or 252 || !_zone.Contains(lowered))
        {
            c.Refused++; // another class, a zone transfer (not offered), or a name this server is not authoritative for
            return Finish(message, flags, DnsRcode.Refused, authoritative: false, truncated: false, 0, 0, 0, questionEnd, edns, dnssecOk);
        }
        PrecomputedAnswer answer = _zone.TryFind(lowered, out ZoneNode node) ? node.For(qtype) : _zone.NxDomain;

        int limit = transport == DnsTransport.Tcp
            ? ushort.MaxValue
            : edns ? Math.Clamp(offeredSize, MinUdpBytes, MaxUdpBytes) : MinUdpBytes;
        limit = Math.Min(limit, message.Length);
        int room = limit - questionEnd - (edns ? OptBytes : 0);
        int copied;
        ushort an = answer.AnswerCount, ns = answer.AuthorityCount, ar = answer.AdditionalCount;
        bool truncated = false;
        if (answer.Bytes.Length <= room)
        {
            copied = answer.Bytes.Length;
        }
        else if (answer.AuthorityEnd <= room)
        {
            copied = answer.AuthorityEnd; // the additional section is a courtesy: leave it out rather than truncate (RFC 2181 section 9)
            ar = 0;
            c.AdditionalOmitted++;
        }
        else
        {
            copied = 0; // TC: the client asks again over TCP
            an = ns = ar = 0;
            truncated = true;
            c.Truncated++;
        }
        Span<byte> tail = message.Slice(questionEnd, copied);
        answer.Bytes.AsSpan(0, copied).CopyTo(tail);
        foreach (int p in answer.ApexPointers)
        {
            if (p + 2 <= copied)
            {
                BinaryPrimitives.WriteUInt16BigEndian(tail[p..], (ushort)(0xC000 | (HeaderBytes + nameBytes - _apexBytes)));
            }
        }
        if (answer.Rcode == DnsRcode.NxDomain)
        {
            c.NxDomain++;
        }
        else if (answer.AnswerCount > 0)
        {
            c.Answers++;
        }
        else
        {
            c.NoData++;
        }
        return Finish(message, flags, answer.Rcode, authoritative: true, truncated, an, ns, ar, questionEnd + copied, edns, dnssecOk);
    }

    /// <summary>Where the name at <paramref name="pos"/> ends (after a pointer or the root label); -1 if the message ends first, -2 for a reserved label type.</summary>
    private static int SkipName(ReadOnlySpan<byte> q, int pos)
    {
        for (int labels = 0; labels < 128; labels++)
        {
            if (pos >= q.Length)
            {
                return -1;
            }
            int len = q[pos];
            if ((len & 0xC0) == 0xC0)
            {
                return pos + 2 <= q.Length ? pos + 2 : -1;
            }
            if ((len & 0xC0) != 0)
            {
                return -2;
            }
            pos += len + 1;
            if (len == 0)
            {
                return pos <= q.Length ? pos : -1;
            }
        }
        return -2;
    }

    private int FormErr(Span<byte> message, ushort flags, DnsFormErrReason reason)
    {
        Counters.CountFormErr(reason);
        return HeaderOnly(message, flags, DnsRcode.FormErr);
    }

    /// <summary>A header with no sections (FORMERR, NOTIMP): the question may be what could not be read.</summary>
    private static int HeaderOnly(Span<byte> message, ushort flags, DnsRcode rcode)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], ResponseFlags(flags, rcode, authoritative: false, truncated: false));
        message[4..HeaderBytes].Clear();
        return HeaderBytes;
    }

    private int Finish(Span<byte> message, ushort flags, DnsRcode rcode, bool authoritative, bool truncated, ushort an, ushort ns, ushort ar, int at, bool edns, bool dnssecOk)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message[2..], ResponseFlags(flags, rcode, authoritative, truncated));
        BinaryPrimitives.WriteUInt16BigEndian(message[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(message[6..], an);
        BinaryPrimitives.WriteUInt16BigEndian(message[8..], ns);
        BinaryPrimitives.WriteUInt16BigEndian(message[10..], (ushort)(ar + (edns ? 1 : 0)));
        if (!edns)
        {
            return at;
        }
        // OPT (RFC 6891 section 6.1.2): root owner, our UDP size, the extended RCODE's upper bits, version 0, DO echoed (RFC 3225).
        Span<byte> opt = message.Slice(at, OptBytes);
        opt[0] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(opt[1..], TypeOpt);
        BinaryPrimitives.WriteUInt16BigEndian(opt[3..], (ushort)MaxUdpBytes);
        opt[5] = (byte)((int)rcode >> 4);
        opt[6] = 0;
        opt[7] = dnssecOk ? (byte)0x80 : (byte)0;
        opt[8] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(opt[9..], 0);
        return at + OptBytes;
    }

    private static ushort ResponseFlags(ushort queryFlags, DnsRcode rcode, bool authoritative, bool truncated) =>
        (ushort)(0x8000 | (queryFlags & 0x7800) | (authoritative ? 0x0400 : 0) | (truncated ? 0x0200 : 0) | (queryFlags & 0x0100) | (queryFlags & 0x0010) | ((int)rcode & 0xF));
}
