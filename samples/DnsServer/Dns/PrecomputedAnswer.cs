namespace Skiff.Samples.DnsServer.Dns;

/// <summary>
/// The sections of one response after its question, encoded once at load: answer, authority and additional records
/// in that order, names compressed against the question (which sits at offset 12 of every response, so every
/// pointer is known in advance). Answering copies <see cref="Bytes"/> (or a prefix, when it must shrink) after the question.
/// </summary>
/// <remarks>
/// For a response whose question name is not known in advance (NXDOMAIN: any name below the apex), the records' owner
/// is the apex, which is a suffix of the question name: <see cref="ApexPointers"/> lists where the answerer writes a
/// pointer to it. All other names in such a response are written in full.
/// </remarks>
public sealed class PrecomputedAnswer
{
    internal PrecomputedAnswer(byte[] bytes, int answerEnd, int authorityEnd, ushort answerCount, ushort authorityCount, ushort additionalCount,
        DnsRcode rcode, int[] apexPointers)
    {
        Bytes = bytes;
        AnswerEnd = answerEnd;
        AuthorityEnd = authorityEnd;
        AnswerCount = answerCount;
        AuthorityCount = authorityCount;
        AdditionalCount = additionalCount;
        Rcode = rcode;
        ApexPointers = apexPointers;
    }

    /// <summary>The answer, authority and additional sections.</summary>
    public byte[] Bytes { get; }

    /// <summary>Where the answer section ends in <see cref="Bytes"/>.</summary>
    public int AnswerEnd { get; }

    /// <summary>Where the authority section ends (the additional section follows).</summary>
    public int AuthorityEnd { get; }

    public ushort AnswerCount { get; }

    public ushort AuthorityCount { get; }

    public ushort AdditionalCount { get; }

    /// <summary>NoError or NxDomain.</summary>
    public DnsRcode Rcode { get; }

    /// <summary>Offsets in <see cref="Bytes"/> of 2-byte compression pointers to the apex, filled in per query (empty: none).</summary>
    public int[] ApexPointers { get; }
}

/// <summary>Response codes (RFC 1035 section 4.1.1; BADVERS is RFC 6891's extended code 16).</summary>
public enum DnsRcode : byte
{
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NxDomain = 3,
    NotImp = 4,
    Refused = 5,
    BadVers = 16,
}
