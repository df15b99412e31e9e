namespace Skiff.Samples.DnsServer.Dns;

/// <summary>Why a query got no answer at all (no header could be answered).</summary>
public enum DnsDropReason
{
    /// <summary>Shorter than the 12-byte header.</summary>
    ShortHeader,

    /// <summary>The QR bit says it is a response; answering responses invites loops.</summary>
    NotAQuery,

    /// <summary>The sender's address or port cannot be answered (port 0).</summary>
    BadSource,

    /// <summary>The stack could not queue the answer (send queue full, no buffer).</summary>
    SendRefused,
}

/// <summary>Why a query was answered with FORMERR.</summary>
public enum DnsFormErrReason
{
    /// <summary>QDCOUNT is not 1, or the query carries answer or authority records.</summary>
    SectionCounts,

    /// <summary>The question name runs past the message, has a compression pointer or a reserved label type, or exceeds 255 bytes.</summary>
    BadName,

    /// <summary>The message ends inside the question or a record.</summary>
    Truncated,

    /// <summary>An OPT record not owned by the root, a second OPT, or options that do not add up (RFC 6891).</summary>
    BadOpt,

    /// <summary>An additional record other than OPT (TSIG and the like are not supported).</summary>
    UnsupportedAdditional,

    /// <summary>Bytes after the last record.</summary>
    TrailingBytes,

    /// <summary>A question for a meta type that cannot be asked (OPT).</summary>
    BadType,
}

/// <summary>
/// What the answerer did, by outcome and cause. Written by one thread (the loop that owns the answerer); read from any
/// (values may be a moment old). Allocation-free to update.
/// </summary>
public sealed class DnsCounters
{
    private readonly long[] _drops = new long[Enum.GetValues<DnsDropReason>().Length];
    private readonly long[] _formErrs = new long[Enum.GetValues<DnsFormErrReason>().Length];

    /// <summary>Messages looked at.</summary>
    public long Queries;

    /// <summary>NOERROR answers with records in the answer section.</summary>
    public long Answers;

    /// <summary>NOERROR answers without the type asked for (SOA in authority).</summary>
    public long NoData;

    /// <summary>NXDOMAIN answers.</summary>
    public long NxDomain;

    /// <summary>REFUSED: outside the zone, a class other than IN, or a zone transfer.</summary>
    public long Refused;

    /// <summary>NOTIMP: an opcode other than QUERY.</summary>
    public long NotImp;

    /// <summary>BADVERS: an EDNS version above 0.</summary>
    public long BadVers;

    /// <summary>Answers sent with TC because they did not fit the UDP size.</summary>
    public long Truncated;

    /// <summary>Answers that left out the additional section to fit (no TC needed).</summary>
    public long AdditionalOmitted;

    /// <summary>Queries with an OPT record.</summary>
    public long Edns;

    /// <summary>FORMERR answers, all causes.</summary>
    public long FormErr => _formErrs.Sum();

    /// <summary>Dropped messages, all causes.</summary>
    public long Dropped => _drops.Sum();

    /// <summary>Dropped messages of one cause.</summary>
    public long DroppedBy(DnsDropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    /// <summary>FORMERR answers of one cause.</summary>
    public long FormErrBy(DnsFormErrReason reason) => Volatile.Read(ref _formErrs[(int)reason]);

    /// <summary>Counts a drop.</summary>
    public void Drop(DnsDropReason reason) => _drops[(int)reason]++;

    internal void CountFormErr(DnsFormErrReason reason) => _formErrs[(int)reason]++;

    /// <summary>Adds <paramref name="other"/>'s counts to this one's.</summary>
    public void Add(DnsCounters other)
    {
        Queries += other.Queries;
        Answers += other.Answers;
        NoData += other.NoData;
        NxDomain += other.NxDomain;
        Refused += other.Refused;
        NotImp += other.NotImp;
        BadVers += other.BadVers;
        Truncated += other.Truncated;
        AdditionalOmitted += other.AdditionalOmitted;
        Edns += other.Edns;
        for (int i = 0; i < _drops.Length; i++)
        {
            _drops[i] += other._drops[i];
        }
        for (int i = 0; i < _formErrs.Length; i++)
        {
            _formErrs[i] += other._formErrs[i];
        }
    }

    /// <summary>One line per kind, for the end of a run.</summary>
    public override string ToString()
    {
        string drops = string.Join(", ", Enum.GetValues<DnsDropReason>().Where(r => DroppedBy(r) > 0).Select(r => $"{r} {DroppedBy(r)}"));
        string formErrs = string.Join(", ", Enum.GetValues<DnsFormErrReason>().Where(r => FormErrBy(r) > 0).Select(r => $"{r} {FormErrBy(r)}"));
        return $"queries {Queries}: answers {Answers}, nodata {NoData}, nxdomain {NxDomain}, refused {Refused}, notimp {NotImp}, badvers {BadVers}, " +
            $"formerr {FormErr}{(formErrs.Length > 0 ? $" ({formErrs})" : "")}; truncated {Truncated}, additional omitted {AdditionalOmitted}, edns {Edns}; " +
            $"dropped {Dropped}{(drops.Length > 0 ? $" ({drops})" : "")}";
    }
}
