using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Skiff.Samples.DnsServer.Dns;

/// <summary>
/// Reads a zone in the master-file format of RFC 1035 section 5: <c>$ORIGIN</c>, <c>$TTL</c> (RFC 2308), relative
/// names completed by the origin, <c>@</c> for the origin, a blank owner for the previous one, parentheses across
/// lines, <c>;</c> comments, quoted strings with <c>\"</c> and <c>\DDD</c> escapes, TTL and class (IN, optional) in
/// either order, TTLs in seconds or with units (1h30m). Types A, AAAA, NS, SOA, CNAME, MX and TXT.
/// </summary>
/// <remarks>
/// Bad input is data: <see cref="Parse"/> never throws on the text; it returns every error (up to <see cref="MaxErrors"/>)
/// as a sentence with its line number. Besides syntax it checks what an authoritative server relies on: one SOA, at
/// least one NS at the apex, every name inside the zone, no other data beside a CNAME (RFC 1034 section 3.6.2). Not
/// supported, and refused with a sentence saying so: <c>$INCLUDE</c>, classes other than IN, other types, wildcard owners
/// and delegations (NS below the apex).
/// </remarks>
public static class ZoneParser
{
    /// <summary>Errors reported at most; parsing stops there.</summary>
    public const int MaxErrors = 20;

    private const uint MaxTtl = int.MaxValue; // RFC 2181 section 8

    private sealed record Token(string Text, bool Quoted);

    private sealed record Entry(int Line, bool OwnerBlank, List<Token> Tokens)
    {
        /// <summary>The tokenizer already reported an error in it: parsing it would only add a consequence of that error.</summary>
        public bool Broken { get; set; }
    }

    /// <summary>Parses <paramref name="text"/>; <paramref name="origin"/> is the starting origin (null: the file must set one with $ORIGIN or use absolute names).</summary>
    public static ZoneParseResult Parse(string text, DnsName? origin = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<ZoneError> errors = [];
        List<Entry> entries = Tokenize(text, errors);
        List<ResourceRecord> records = [];
        uint? defaultTtl = null;
        uint? lastTtl = null;
        DnsName? owner = null;
        foreach (Entry e in entries)
        {
            if (errors.Count >= MaxErrors)
            {
                break;
            }
            if (e.Broken)
            {
                continue;
            }
            string first = e.Tokens[0].Text;
            if (!e.OwnerBlank && !e.Tokens[0].Quoted && first.StartsWith('$'))
            {
                Directive(e, ref origin, ref defaultTtl, errors);
                continue;
            }
            int at = 0;
            if (!e.OwnerBlank)
            {
                owner = DnsName.Parse(first, origin, out string? nameError);
                if (owner is null)
                {
                    errors.Add(new(e.Line, $"the owner name is not valid: {nameError}."));
                    continue;
                }
                at = 1;
            }
            else if (owner is null)
            {
                errors.Add(new(e.Line, "the record starts with a blank, which repeats the previous owner, but there is none yet; write the owner name at the start of the line."));
                continue;
            }
            ResourceRecord? record = Record(e, at, owner, origin, defaultTtl, ref lastTtl, errors);
            if (record is not null)
            {
                records.Add(record);
            }
        }
        if (errors.Count == 0)
        {
            Zone? zone = Check(records, errors);
            if (zone is not null && errors.Count == 0)
            {
                return new ZoneParseResult(zone, []);
            }
        }
        errors.Sort((a, b) => a.Line.CompareTo(b.Line));
        return new ZoneParseResult(null, errors.Take(MaxErrors).ToList());
    }

    private static void Directive(Entry e, ref DnsName? origin, ref uint? defaultTtl, List<ZoneError> errors)
    {
        string name = e.Tokens[0].Text.ToUpperInvariant();
        switch (name)
        {
            case "$ORIGIN":
                if (e.Tokens.Count != 2)
                {
                    errors.Add(new(e.Line, "$ORIGIN takes one name, e.g. '$ORIGIN example.com.'."));
                    return;
                }
                DnsName? parsed = DnsName.Parse(e.Tokens[1].Text, origin, out string? error);
                if (parsed is null)
                {
                    errors.Add(new(e.Line, $"$ORIGIN's name is not valid: {error}."));
                    return;
                }
                origin = parsed;
                return;
            case "$TTL":
                if (e.Tokens.Count != 2 || !TryParseTtl(e.Tokens[1].Text, out uint ttl))
                {
                    errors.Add(new(e.Line, $"$TTL takes one time to live, in seconds (0 to {MaxTtl}) or with units, e.g. '$TTL 3600' or '$TTL 1h'."));
                    return;
                }
                defaultTtl = ttl;
                return;
            case "$INCLUDE":
                errors.Add(new(e.Line, "$INCLUDE is not supported by this server; paste the included file's records into the zone file."));
                return;
            default:
                errors.Add(new(e.Line, $"'{e.Tokens[0].Text}' is not a directive; use $ORIGIN or $TTL."));
                return;
        }
    }

    private static ResourceRecord? Record(Entry e, int at, DnsName owner, DnsName? origin, uint? defaultTtl, ref uint? lastTtl, List<ZoneError> errors)
    {
        List<Token> t = e.Tokens;
        uint? ttl = null;
        bool sawClass = false;
        for (int k = 0; k < 2 && at < t.Count; k++)
        {
            string word = t[at].Text;
            if (!t[at].Quoted && ttl is null && word.Length > 0 && char.IsAsciiDigit(word[0]))
            {
                if (!TryParseTtl(word, out uint v))
                {
                    errors.Add(new(e.Line, $"'{word}' is not a valid TTL; give seconds (0 to {MaxTtl}) or units such as 1h30m."));
                    return null;
                }
                ttl = v;
                at++;
            }
            else if (!t[at].Quoted && !sawClass && word.Equals("IN", StringComparison.OrdinalIgnoreCase))
            {
                sawClass = true;
                at++;
            }
            else if (!t[at].Quoted && !sawClass && (word.Equals("CH", StringComparison.OrdinalIgnoreCase) || word.Equals("HS", StringComparison.OrdinalIgnoreCase)
                || word.Equals("CS", StringComparison.OrdinalIgnoreCase)))
            {
                errors.Add(new(e.Line, $"class {word.ToUpperInvariant()} is not served; this server serves class IN only (write IN or leave the class out)."));
                return null;
            }
        }
        if (at >= t.Count)
        {
            errors.Add(new(e.Line, "the record has no type; write e.g. 'www 3600 IN A 192.0.2.1'."));
            return null;
        }
        string typeText = t[at++].Text.ToUpperInvariant();
        if (!Enum.TryParse(typeText, ignoreCase: false, out RecordType type) || !Enum.IsDefined(type) || char.IsAsciiDigit(typeText[0]))
        {
            errors.Add(new(e.Line, $"type '{t[at - 1].Text}' is not supported; this server serves A, AAAA, NS, SOA, CNAME, MX and TXT."));
            return null;
        }
        uint finalTtl;
        if (ttl is uint explicitTtl)
        {
            finalTtl = explicitTtl;
            lastTtl = explicitTtl;
        }
        else if (defaultTtl is uint d)
        {
            finalTtl = d;
        }
        else if (lastTtl is uint last)
        {
            finalTtl = last; // RFC 1035 section 5.1: the last explicitly stated value
        }
        else
        {
            errors.Add(new(e.Line, "the record has no TTL and none came before; add '$TTL 3600' at the top of the file or give the TTL in the record."));
            return null;
        }
        List<Token> data = t.GetRange(at, t.Count - at);
        return Data(e.Line, owner, type, finalTtl, data, origin, errors);
    }

    private static ResourceRecord? Data(int line, DnsName owner, RecordType type, uint ttl, List<Token> data, DnsName? origin, List<ZoneError> errors)
    {
        ResourceRecord r = new(owner, type, ttl, line);
        switch (type)
        {
            case RecordType.A:
                if (data.Count != 1 || !TryParseIpv4(data[0].Text, out byte[] v4))
                {
                    errors.Add(new(line, "an A record needs one IPv4 address, e.g. 'A 192.0.2.1'."));
                    return null;
                }
                return r with { Data = v4 };
            case RecordType.AAAA:
                if (data.Count != 1 || !data[0].Text.Contains(':', StringComparison.Ordinal)
                    || !IPAddress.TryParse(data[0].Text, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6 || v6.ScopeId != 0)
                {
                    errors.Add(new(line, "an AAAA record needs one IPv6 address, e.g. 'AAAA 2001:db8::1'."));
                    return null;
                }
                return r with { Data = v6.GetAddressBytes() };
            case RecordType.NS:
            case RecordType.CNAME:
            {
                if (data.Count != 1)
                {
                    errors.Add(new(line, $"a{(type == RecordType.NS ? "n NS" : " CNAME")} record needs one target name, e.g. '{type} {(type == RecordType.NS ? "ns1" : "www.example.com.")}'."));
                    return null;
                }
                DnsName? target = NameOrError(data[0], origin, line, type == RecordType.NS ? "name server" : "canonical name", errors);
                return target is null ? null : r with { Name1 = target };
            }
            case RecordType.MX:
            {
                if (data.Count != 2 || !ushort.TryParse(data[0].Text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort preference))
                {
                    errors.Add(new(line, "an MX record needs a preference (0 to 65535) and a mail exchanger name, e.g. 'MX 10 mail'."));
                    return null;
                }
                DnsName? exchange = NameOrError(data[1], origin, line, "mail exchanger", errors);
                return exchange is null ? null : r with { Preference = preference, Name1 = exchange };
            }
            case RecordType.SOA:
            {
                if (data.Count != 7)
                {
                    errors.Add(new(line, $"an SOA record needs 7 fields (primary name server, responsible mailbox, serial, refresh, retry, expire, minimum) and has {data.Count}; " +
                        "e.g. 'SOA ns1 hostmaster 2026120701 7200 3600 1209600 300' (parentheses may spread it over lines)."));
                    return null;
                }
                DnsName? mname = NameOrError(data[0], origin, line, "primary name server", errors);
                DnsName? rname = NameOrError(data[1], origin, line, "responsible mailbox", errors);
                if (mname is null || rname is null)
                {
                    return null;
                }
                byte[] fields = new byte[20];
                if (!uint.TryParse(data[2].Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint serial))
                {
                    errors.Add(new(line, $"the SOA serial '{data[2].Text}' is not a number from 0 to 4294967295."));
                    return null;
                }
                BinaryPrimitives.WriteUInt32BigEndian(fields, serial);
                string[] names = ["refresh", "retry", "expire", "minimum"];
                for (int i = 0; i < 4; i++)
                {
                    if (!TryParseTtl(data[3 + i].Text, out uint v))
                    {
                        errors.Add(new(line, $"the SOA {names[i]} '{data[3 + i].Text}' is not a time; give seconds or units such as 2h."));
                        return null;
                    }
                    BinaryPrimitives.WriteUInt32BigEndian(fields.AsSpan(4 + 4 * i), v);
                }
                return r with { Name1 = mname, Name2 = rname, Data = fields };
            }
            case RecordType.TXT:
            {
                if (data.Count == 0)
                {
                    errors.Add(new(line, "a TXT record needs at least one string, e.g. 'TXT \"v=spf1 -all\"'."));
                    return null;
                }
                List<byte> bytes = [];
                foreach (Token token in data)
                {
                    byte[]? s = CharacterString(token.Text, out string? error);
                    if (s is null)
                    {
                        errors.Add(new(line, $"a TXT string is not valid: {error}."));
                        return null;
                    }
                    if (s.Length > 255)
                    {
                        errors.Add(new(line, $"a TXT string has {s.Length} bytes; each may have at most 255, so split it into several quoted strings."));
                        return null;
                    }
                    bytes.Add((byte)s.Length);
                    bytes.AddRange(s);
                }
                if (bytes.Count > ushort.MaxValue)
                {
                    errors.Add(new(line, "a TXT record's data exceeds 65535 bytes; make it shorter."));
                    return null;
                }
                return r with { Data = [.. bytes] };
            }
            default:
                errors.Add(new(line, $"type {type} is not supported."));
                return null;
        }
    }

    private static DnsName? NameOrError(Token token, DnsName? origin, int line, string what, List<ZoneError> errors)
    {
        DnsName? name = token.Quoted ? null : DnsName.Parse(token.Text, origin, out string? error);
        if (name is null)
        {
            errors.Add(new(line, $"the {what} '{token.Text}' is not a valid name{(token.Quoted ? " (names are not quoted)" : "")}."));
        }
        return name;
    }

    /// <summary>The zone-level rules: one SOA (its owner is the apex), NS at the apex, every owner inside, CNAME alone.</summary>
    private static Zone? Check(List<ResourceRecord> records, List<ZoneError> errors)
    {
        List<ResourceRecord> soas = records.Where(r => r.Type == RecordType.SOA).ToList();
        if (soas.Count == 0)
        {
            errors.Add(new(0, "the zone has no SOA record; add one at the apex, e.g. '@ SOA ns1 hostmaster 1 7200 3600 1209600 300'."));
            return null;
        }
        if (soas.Count > 1)
        {
            errors.Add(new(soas[1].Line, $"a second SOA record (the first is on line {soas[0].Line}); a zone has exactly one, at its apex."));
            return null;
        }
        ResourceRecord soa = soas[0];
        DnsName apex = soa.Owner;
        List<ResourceRecord> unique = [];
        Dictionary<DnsName, List<ResourceRecord>> byOwner = [];
        foreach (ResourceRecord r in records)
        {
            if (!r.Owner.IsAtOrBelow(apex))
            {
                errors.Add(new(r.Line, $"{r.Owner} is outside the zone {apex} (the SOA's owner); check the $ORIGIN or end the name with the zone's name."));
                continue;
            }
            if (r.Owner.IsWildcard)
            {
                errors.Add(new(r.Line, $"wildcard owner names ({r.Owner}) are not supported by this server; list the names one by one."));
                continue;
            }
            if (r.Type == RecordType.NS && !r.Owner.Equals(apex))
            {
                errors.Add(new(r.Line, $"NS records below the apex ({r.Owner}) would delegate a subzone, which this server does not support; serve the subzone's names in this zone instead."));
                continue;
            }
            if (!byOwner.TryGetValue(r.Owner, out List<ResourceRecord>? list))
            {
                byOwner[r.Owner] = list = [];
            }
            if (list.Any(x => x.SameData(r)))
            {
                continue; // a set holds each record once (RFC 2181 section 5)
            }
            list.Add(r);
            unique.Add(r);
        }
        foreach ((DnsName name, List<ResourceRecord> list) in byOwner)
        {
            List<ResourceRecord> cnames = list.Where(r => r.Type == RecordType.CNAME).ToList();
            if (cnames.Count > 1)
            {
                errors.Add(new(cnames[1].Line, $"{name} has a second CNAME (the first is on line {cnames[0].Line}); a name has at most one."));
            }
            else if (cnames.Count == 1 && list.Count > 1)
            {
                ResourceRecord other = list.First(r => r.Type != RecordType.CNAME);
                errors.Add(new(Math.Max(other.Line, cnames[0].Line), $"{name} has a CNAME (line {cnames[0].Line}) and other data (line {other.Line}); a name with a CNAME can have no other records (RFC 1034 section 3.6.2)."));
            }
        }
        if (!unique.Any(r => r.Type == RecordType.NS && r.Owner.Equals(apex)))
        {
            errors.Add(new(soa.Line, $"the zone {apex} has no NS record at its apex; add one, e.g. '@ NS ns1'."));
        }
        return errors.Count == 0 ? new Zone(apex, soa, unique) : null;
    }

    /// <summary>Splits the text into entries: a line, or lines joined by parentheses; comments removed; quoted strings kept whole.</summary>
    private static List<Entry> Tokenize(string text, List<ZoneError> errors)
    {
        List<Entry> entries = [];
        int line = 1;
        int depth = 0;
        int parenLine = 0;
        Entry? current = null;
        bool lineStart = true;
        int i = 0;
        System.Text.StringBuilder word = new();
        while (i < text.Length)
        {
            char c = text[i];
            if (lineStart && depth == 0)
            {
                lineStart = false;
                if (current is { Tokens.Count: > 0 })
                {
                    entries.Add(current);
                }
                current = new Entry(line, c is ' ' or '\t', []);
            }
            if (c == '\n')
            {
                line++;
                lineStart = true;
                i++;
                continue;
            }
            if (c is ' ' or '\t' or '\r')
            {
                i++;
                continue;
            }
            if (c == ';')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    i++;
                }
                continue;
            }
            if (c == '(')
            {
                if (depth == 0)
                {
                    parenLine = line;
                }
                depth++;
                i++;
                continue;
            }
            if (c == ')')
            {
                if (depth == 0)
                {
                    errors.Add(new(line, "a ')' closes no '('; remove it or add the '(' it belongs to."));
                }
                else
                {
                    depth--;
                }
                i++;
                continue;
            }
            word.Clear();
            if (c == '"')
            {
                int startLine = line;
                i++;
                bool closed = false;
                while (i < text.Length)
                {
                    char q = text[i];
                    if (q == '\\' && i + 1 < text.Length)
                    {
                        word.Append(q).Append(text[i + 1]);
                        i += 2;
                        continue;
                    }
                    if (q == '"')
                    {
                        closed = true;
                        i++;
                        break;
                    }
                    if (q == '\n')
                    {
                        break;
                    }
                    word.Append(q);
                    i++;
                }
                if (!closed)
                {
                    errors.Add(new(startLine, "a quoted string is not closed on its line; add the closing '\"'."));
                    current!.Broken = true;
                    continue;
                }
                current!.Tokens.Add(new Token(word.ToString(), true));
                continue;
            }
            while (i < text.Length)
            {
                char w = text[i];
                if (w == '\\' && i + 1 < text.Length && text[i + 1] != '\n')
                {
                    word.Append(w).Append(text[i + 1]);
                    i += 2;
                    continue;
                }
                if (w is ' ' or '\t' or '\r' or '\n' or ';' or '(' or ')' or '"')
                {
                    break;
                }
                word.Append(w);
                i++;
            }
            current!.Tokens.Add(new Token(word.ToString(), false));
        }
        if (current is { Tokens.Count: > 0 })
        {
            entries.Add(current);
        }
        if (depth > 0)
        {
            errors.Add(new(parenLine, "a '(' is never closed; add the ')' that ends the record."));
        }
        return entries;
    }

    /// <summary>A TTL: seconds, or a sum of numbers with units w, d, h, m, s (BIND's form, e.g. 1h30m); at most 2^31-1.</summary>
    public static bool TryParseTtl(string text, out uint ttl)
    {
        ttl = 0;
        if (text.Length == 0)
        {
            return false;
        }
        ulong total = 0;
        ulong number = 0;
        bool digits = false;
        foreach (char c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                number = number * 10 + (ulong)(c - '0');
                digits = true;
                if (number > MaxTtl)
                {
                    return false;
                }
                continue;
            }
            if (!digits)
            {
                return false;
            }
            ulong unit = char.ToLowerInvariant(c) switch { 'w' => 604800, 'd' => 86400, 'h' => 3600, 'm' => 60, 's' => 1, _ => 0 };
            if (unit == 0)
            {
                return false;
            }
            total += number * unit;
            number = 0;
            digits = false;
        }
        total += number;
        if (total > MaxTtl)
        {
            return false;
        }
        ttl = (uint)total;
        return true;
    }

    private static bool TryParseIpv4(string text, out byte[] bytes)
    {
        bytes = new byte[4];
        string[] parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }
        for (int i = 0; i < 4; i++)
        {
            if (parts[i].Length is 0 or > 3 || !byte.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>A character-string's bytes from its text (quoted or not), with \X and \DDD escapes decoded.</summary>
    private static byte[]? CharacterString(string text, out string? error)
    {
        List<byte> bytes = [];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 3 < text.Length && char.IsAsciiDigit(text[i + 1]) && char.IsAsciiDigit(text[i + 2]) && char.IsAsciiDigit(text[i + 3]))
                {
                    int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
                    if (v > 255)
                    {
                        error = $"the escape \\{text.Substring(i + 1, 3)} is above 255";
                        return null;
                    }
                    bytes.Add((byte)v);
                    i += 3;
                }
                else if (i + 1 < text.Length)
                {
                    bytes.Add((byte)text[++i]);
                }
                else
                {
                    error = "it ends with a lone backslash";
                    return null;
                }
                continue;
            }
            if (c > 255)
            {
                error = "it has a character beyond Latin-1; write such bytes as \\DDD escapes of their UTF-8 encoding";
                return null;
            }
            bytes.Add((byte)c);
        }
        error = null;
        return [.. bytes];
    }
}
