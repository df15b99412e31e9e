namespace Skiff.Samples.DnsServer.Dns;

/// <summary>The record types this server serves, with their numbers on the wire (RFC 1035, RFC 3596).</summary>
public enum RecordType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    MX = 15,
    TXT = 16,
    AAAA = 28,
}

/// <summary>
/// One resource record of the zone (class IN). Its data is kept in the parts the wire needs: names in the data
/// (NS, CNAME, MX, SOA) separately, so answers can compress them (RFC 1035 section 4.1.4), and the rest as bytes.
/// </summary>
/// <param name="Owner">The owner name.</param>
/// <param name="Type">The type.</param>
/// <param name="Ttl">Time to live in seconds.</param>
/// <param name="Line">The zone-file line it came from (0 when built in code).</param>
public sealed record ResourceRecord(DnsName Owner, RecordType Type, uint Ttl, int Line)
{
    /// <summary>NS and CNAME: the target; MX: the exchange; SOA: MNAME.</summary>
    public DnsName? Name1 { get; init; }

    /// <summary>SOA: RNAME.</summary>
    public DnsName? Name2 { get; init; }

    /// <summary>MX: the preference.</summary>
    public ushort Preference { get; init; }

    /// <summary>A: 4 bytes; AAAA: 16; TXT: the character-strings, each length-prefixed; SOA: serial, refresh, retry, expire, minimum (20 bytes).</summary>
    public byte[] Data { get; init; } = [];

    /// <summary>The SOA's MINIMUM field (negative caching TTL, RFC 2308), or 0 for other types.</summary>
    public uint SoaMinimum => Type == RecordType.SOA ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(Data.AsSpan(16)) : 0;

    /// <summary>True when both have the same owner, type and data (one record of a set; TTL and line do not count).</summary>
    public bool SameData(ResourceRecord other) =>
        Owner.Equals(other.Owner) && Type == other.Type && Preference == other.Preference
        && Equals(Name1, other.Name1) && Equals(Name2, other.Name2) && Data.AsSpan().SequenceEqual(other.Data);
}
