using System.Buffers.Binary;
using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Tests;

public sealed class ZoneParserTests
{
    private static Zone Parse(string text)
    {
        ZoneParseResult result = ZoneParser.Parse(text);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Errors);
        return result.Zone!;
    }

    private static ZoneError SingleError(string text)
    {
        ZoneParseResult result = ZoneParser.Parse(text);
        Assert.Null(result.Zone);
        return Assert.Single(result.Errors);
    }

    private static IEnumerable<ResourceRecord> At(Zone zone, string name, RecordType type) =>
        zone.Records.Where(r => r.Owner.ToString() == name && r.Type == type);

    private const string Head = "$ORIGIN example.com.\n$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\n";

    [Fact]
    public void Every_construct_of_the_test_zone_is_read()
    {
        Zone zone = Parse(TestZones.Example);
        Assert.Equal("example.com.", zone.Apex.ToString());
        ResourceRecord soa = zone.Soa;
        Assert.Equal("ns1.example.com.", soa.Name1!.ToString()); // relative names completed by $ORIGIN
        Assert.Equal("hostmaster.example.com.", soa.Name2!.ToString());
        Assert.Equal(3600u, soa.Ttl); // $TTL 1h
        // Parentheses across lines with comments inside: serial, refresh, retry, expire, minimum.
        Assert.Equal([2026120701u, 7200u, 3600u, 1209600u, 300u], Enumerable.Range(0, 5).Select(i => BinaryPrimitives.ReadUInt32BigEndian(soa.Data.AsSpan(4 * i))));
        // Blank owners repeat the previous one: two NS, MX and TXT at the apex.
        Assert.Equal(["ns1.example.com.", "ns2.example.net."], At(zone, "example.com.", RecordType.NS).Select(r => r.Name1!.ToString()));
        ResourceRecord mx = Assert.Single(At(zone, "example.com.", RecordType.MX));
        Assert.Equal((10, "mail.example.com."), (mx.Preference, mx.Name1!.ToString()));
        // TTL and class in either order, class optional.
        Assert.Equal(300u, Assert.Single(At(zone, "mail.example.com.", RecordType.A)).Ttl);
        ResourceRecord aaaa = Assert.Single(At(zone, "mail.example.com.", RecordType.AAAA));
        Assert.Equal(300u, aaaa.Ttl);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::25").GetAddressBytes(), aaaa.Data);
        Assert.Equal(new byte[] { 192, 0, 2, 80 }, Assert.Single(At(zone, "web.example.com.", RecordType.A)).Data);
        Assert.Single(At(zone, "web.example.com.", RecordType.AAAA));
        // Quoted strings with escaped quotes, an unquoted string, \DDD escapes.
        ResourceRecord txt = Assert.Single(At(zone, "txt.example.com.", RecordType.TXT));
        Assert.Equal(["hello world", "second \"quoted\" string", "unquoted", "AB"], DnsWire.TxtStrings(txt.Data));
        // Absolute names, explicit TTL, case folded.
        Assert.Equal(60u, Assert.Single(At(zone, "abs.example.com.", RecordType.A)).Ttl);
        Assert.Single(At(zone, "upper.example.com.", RecordType.A));
        Assert.Equal("web.example.com.", Assert.Single(At(zone, "www.example.com.", RecordType.CNAME)).Name1!.ToString());
        Assert.Single(At(zone, "a.b.c.example.com.", RecordType.A));
    }

    [Fact]
    public void Origin_can_change_midway_and_at_sign_follows_it()
    {
        Zone zone = Parse(Head + "$ORIGIN sub.example.com.\n@ A 192.0.2.1\nx A 192.0.2.2\n$ORIGIN other\ny A 192.0.2.3\n");
        Assert.Single(At(zone, "sub.example.com.", RecordType.A));
        Assert.Single(At(zone, "x.sub.example.com.", RecordType.A));
        Assert.Single(At(zone, "y.other.sub.example.com.", RecordType.A)); // a relative $ORIGIN is completed by the current one
    }

    [Fact]
    public void Without_TTL_directive_the_last_explicit_TTL_applies()
    {
        Zone zone = Parse("$ORIGIN example.com.\n@ 77 SOA ns1 host 1 2 3 4 5\n@ NS ns1\nx A 192.0.2.1\n");
        Assert.All(zone.Records, r => Assert.Equal(77u, r.Ttl));
    }

    [Fact]
    public void The_origin_may_come_from_the_caller_and_class_IN_is_optional_in_any_case()
    {
        ZoneParseResult result = ZoneParser.Parse("$TTL 60\n@ in SOA ns1 host 1 2 3 4 5\n@ In NS ns1\nwww a 192.0.2.1\n", DnsName.Parse("example.org.", null, out _));
        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Equal("example.org.", result.Zone!.Apex.ToString());
        Assert.Single(At(result.Zone, "www.example.org.", RecordType.A));
    }

    [Fact]
    public void Ttl_units_add_up_and_out_of_range_is_refused()
    {
        Assert.True(ZoneParser.TryParseTtl("1h30m", out uint t));
        Assert.Equal(5400u, t);
        Assert.True(ZoneParser.TryParseTtl("1w2d3h4m5s", out t));
        Assert.Equal(604800u + 2 * 86400 + 3 * 3600 + 4 * 60 + 5, t);
        Assert.True(ZoneParser.TryParseTtl("2147483647", out _));
        Assert.False(ZoneParser.TryParseTtl("2147483648", out _));
        Assert.False(ZoneParser.TryParseTtl("1x", out _));
        Assert.False(ZoneParser.TryParseTtl("h", out _));
    }

    [Fact]
    public void Duplicate_records_are_one()
    {
        Zone zone = Parse(Head + "x A 192.0.2.1\nx A 192.0.2.1\nx 99 A 192.0.2.1\n");
        Assert.Single(At(zone, "x.example.com.", RecordType.A));
    }

    [Theory]
    [InlineData("x A 192.0.2\n", 5, "an A record needs one IPv4 address, e.g. 'A 192.0.2.1'.")]
    [InlineData("x A 192.0.2.256\n", 5, "an A record needs one IPv4 address")]
    [InlineData("x AAAA 192.0.2.1\n", 5, "an AAAA record needs one IPv6 address")]
    [InlineData("x MX mail\n", 5, "an MX record needs a preference (0 to 65535) and a mail exchanger name")]
    [InlineData("x SRV 0 0 80 web\n", 5, "type 'SRV' is not supported; this server serves A, AAAA, NS, SOA, CNAME, MX and TXT.")]
    [InlineData("x CH A 192.0.2.1\n", 5, "class CH is not served; this server serves class IN only")]
    [InlineData("x TXT \"open\n", 5, "a quoted string is not closed on its line")]
    [InlineData("x A ( 192.0.2.1\n", 5, "a '(' is never closed; add the ')' that ends the record.")]
    [InlineData("x A 192.0.2.1 )\n", 5, "a ')' closes no '('")]
    [InlineData("$INCLUDE other.zone\n", 5, "$INCLUDE is not supported by this server")]
    [InlineData("$TTL forever\n", 5, "$TTL takes one time to live")]
    [InlineData("$GENERATE 1-10 h$ A 10.0.0.$\n", 5, "'$GENERATE' is not a directive; use $ORIGIN or $TTL.")]
    [InlineData("*.w A 192.0.2.1\n", 5, "wildcard owner names (*.w.example.com.) are not supported")]
    [InlineData("sub NS ns.sub\n", 5, "NS records below the apex (sub.example.com.) would delegate a subzone")]
    [InlineData("x.example.org. A 192.0.2.1\n", 5, "x.example.org. is outside the zone example.com.")]
    [InlineData("x CNAME y\nx A 192.0.2.1\n", 6, "x.example.com. has a CNAME (line 5) and other data (line 6)")]
    [InlineData("x CNAME y\nx CNAME z\n", 6, "x.example.com. has a second CNAME (the first is on line 5)")]
    [InlineData("a..b A 192.0.2.1\n", 5, "the owner name is not valid: 'a..b' has an empty label")]
    [InlineData("  A 192.0.2.1 extra\n", 5, "an A record needs one IPv4 address")]
    [InlineData("x TXT\n", 5, "a TXT record needs at least one string")]
    [InlineData("x SOA ns1 host 1 2 3 4\n", 5, "an SOA record needs 7 fields")]
    public void Errors_are_sentences_with_their_line(string record, int line, string message)
    {
        ZoneError error = SingleError(Head + record);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message);
        Assert.StartsWith($"line {line}: ", error.ToString());
        Assert.EndsWith(".", error.Message.TrimEnd());
    }

    [Fact]
    public void A_label_over_63_bytes_and_a_name_over_255_are_refused()
    {
        Assert.Contains("DNS allows at most 63", SingleError(Head + new string('a', 64) + " A 192.0.2.1\n").Message);
        string longName = string.Join('.', Enumerable.Repeat(new string('a', 60), 5));
        Assert.Contains("DNS allows at most 255", SingleError(Head + longName + " A 192.0.2.1\n").Message);
    }

    [Fact]
    public void Zone_level_errors_say_what_to_add()
    {
        Assert.Contains("the zone has no SOA record; add one at the apex", SingleError("$ORIGIN example.com.\n$TTL 60\n@ NS ns1\n").Message);
        ZoneError noNs = SingleError("$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n");
        Assert.Equal((3, true), (noNs.Line, noNs.Message.Contains("has no NS record at its apex; add one", StringComparison.Ordinal)));
        Assert.Contains("a second SOA record (the first is on line 3)", SingleError(Head + "@ SOA ns2 host 2 2 3 4 5\n").Message);
        Assert.Contains("no $ORIGIN was given", SingleError("$TTL 60\nexample SOA ns1 host 1 2 3 4 5\n").Message);
        Assert.Contains("has no TTL and none came before", SingleError("$ORIGIN example.com.\n@ SOA ns1 host 1 2 3 4 5\n").Message);
        Assert.Contains("repeats the previous owner, but there is none yet", SingleError("$TTL 60\n  A 192.0.2.1\n").Message);
    }

    [Fact]
    public void Several_errors_are_all_reported_in_line_order()
    {
        ZoneParseResult result = ZoneParser.Parse(Head + "x A 1\ny MX z\nz BOGUS 1\n");
        Assert.Null(result.Zone);
        Assert.Equal([5, 6, 7], result.Errors.Select(e => e.Line));
    }

    [Fact]
    public void Garbage_never_throws()
    {
        Random random = new(18);
        string alphabet = "ab.@$();\"\\ \t\n0123456789AINSOXMTCH*:-";
        for (int i = 0; i < 2000; i++)
        {
            char[] text = new char[random.Next(0, 200)];
            for (int j = 0; j < text.Length; j++)
            {
                text[j] = alphabet[random.Next(alphabet.Length)];
            }
            ZoneParseResult result = ZoneParser.Parse(Head + new string(text));
            Assert.True(result.Success || result.Errors.Count is > 0 and <= ZoneParser.MaxErrors);
        }
    }
}
