namespace Skiff.Samples.DnsServer.Dns;

/// <summary>A parsed, checked zone: its apex (the SOA's owner), the SOA, and every record (duplicates merged).</summary>
public sealed class Zone
{
    internal Zone(DnsName apex, ResourceRecord soa, IReadOnlyList<ResourceRecord> records)
    {
        Apex = apex;
        Soa = soa;
        Records = records;
    }

    /// <summary>The zone's top name, the owner of its SOA.</summary>
    public DnsName Apex { get; }

    /// <summary>The start of authority.</summary>
    public ResourceRecord Soa { get; }

    /// <summary>Every record, in file order.</summary>
    public IReadOnlyList<ResourceRecord> Records { get; }
}

/// <summary>A problem in a zone file: the line it is on and a sentence saying what is wrong and what to write instead.</summary>
/// <param name="Line">The line (1-based; 0 for the zone as a whole).</param>
/// <param name="Message">The sentence.</param>
public sealed record ZoneError(int Line, string Message)
{
    public override string ToString() => Line > 0 ? $"line {Line}: {Message}" : Message;
}

/// <summary>What <see cref="ZoneParser.Parse"/> returns: the zone, or the errors (never both).</summary>
public sealed class ZoneParseResult
{
    internal ZoneParseResult(Zone? zone, IReadOnlyList<ZoneError> errors)
    {
        Zone = zone;
        Errors = errors;
    }

    /// <summary>The zone when the file had no error, else null.</summary>
    public Zone? Zone { get; }

    /// <summary>Every error found (at most <see cref="ZoneParser.MaxErrors"/>), in line order; empty on success.</summary>
    public IReadOnlyList<ZoneError> Errors { get; }

    /// <summary>True when there is a zone.</summary>
    public bool Success => Zone is not null;
}
