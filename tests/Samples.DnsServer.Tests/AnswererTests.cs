using System.Buffers.Binary;
using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Tests;

public sealed class AnswererTests
{
    private static readonly CompiledZone s_zone = TestZones.Compile(TestZones.WithBigTxt);

    private const ushort A = 1, NS = 2, CNAME = 5, SOA = 6, MX = 15, TXT = 16, AAAA = 28, SRV = 33, ANY = 255;

    private static (ParsedMessage Message, int Length, DnsAnswerer Answerer) Ask(byte[] query, DnsTransport transport = DnsTransport.Udp, DnsAnswerer? answerer = null)
    {
        answerer ??= new DnsAnswerer(s_zone);
        byte[] buffer = new byte[ushort.MaxValue];
        query.CopyTo(buffer, 0);
        int length = answerer.Answer(buffer, query.Length, transport);
        Assert.True(length > 0, "the query was dropped");
        ParsedMessage m = DnsWire.Parse(buffer.AsSpan(0, length));
        Assert.True(m.Qr);
        Assert.Equal(BinaryPrimitives.ReadUInt16BigEndian(query), m.Id);
        return (m, length, answerer);
    }

    private static ParsedMessage AskFor(string name, ushort type, int? edns = null) => Ask(DnsWire.Query(name, type, ednsSize: edns)).Message;

    [Fact]
    public void A_and_AAAA_are_answered_authoritatively_with_the_question_echoed()
    {
        ParsedMessage m = AskFor("web.example.com", A);
        Assert.Equal((0, true, false, true), (m.Rcode, m.Aa, m.Tc, m.Rd));
        Assert.Equal(("web.example.com.", A, (ushort)1), (m.QuestionName, m.QuestionType, m.QuestionClass));
        ParsedRecord a = Assert.Single(m.Answers);
        Assert.Equal(("web.example.com.", A, 3600u), (a.Name, a.Type, a.Ttl));
        Assert.Equal(new byte[] { 192, 0, 2, 80 }, a.Data);
        Assert.Equal(System.Net.IPAddress.Parse("2001:db8::80").GetAddressBytes(), Assert.Single(AskFor("web.example.com", AAAA).Answers).Data);
    }

    [Fact]
    public void NS_and_MX_bring_their_in_zone_addresses_in_the_additional_section()
    {
        ParsedMessage ns = AskFor("example.com", NS);
        Assert.Equal(["ns1.example.com.", "ns2.example.net."], ns.Answers.Select(r => r.DataName));
        Assert.Equal(("ns1.example.com.", A), (Assert.Single(ns.Additional).Name, Assert.Single(ns.Additional).Type));
        ParsedMessage mx = AskFor("example.com", MX);
        Assert.Equal("mail.example.com.", Assert.Single(mx.Answers).DataName);
        Assert.Equal([A, AAAA], mx.Additional.Select(r => r.Type).Order());
        Assert.All(mx.Additional, r => Assert.Equal("mail.example.com.", r.Name));
    }

    [Fact]
    public void SOA_TXT_and_ANY()
    {
        ParsedRecord soa = Assert.Single(AskFor("example.com", SOA).Answers);
        Assert.Equal("ns1.example.com. hostmaster.example.com.", soa.DataName);
        Assert.Equal(2026120701u, BinaryPrimitives.ReadUInt32BigEndian(soa.Data.AsSpan(soa.Data.Length - 20)));
        Assert.Equal(["hello world", "second \"quoted\" string", "unquoted", "AB"], DnsWire.TxtStrings(Assert.Single(AskFor("txt.example.com", TXT).Answers).Data));
        Assert.Equal([NS, NS, SOA, MX, TXT], AskFor("example.com", ANY).Answers.Select(r => r.Type).Order());
    }

    [Fact]
    public void CNAMEs_are_chased_inside_the_zone()
    {
        ParsedMessage m = AskFor("chain1.example.com", A);
        Assert.Equal(0, m.Rcode);
        Assert.Equal([("chain1.example.com.", CNAME), ("chain2.example.com.", CNAME), ("www.example.com.", CNAME), ("web.example.com.", A)],
            m.Answers.Select(r => (r.Name, r.Type)));
        // Asking for the CNAME itself does not chase.
        Assert.Equal("web.example.com.", Assert.Single(AskFor("www.example.com", CNAME).Answers).DataName);
        // Out of the zone: the CNAME alone; the resolver goes on.
        ParsedMessage outside = AskFor("outside.example.com", A);
        Assert.Equal((0, "www.example.org."), (outside.Rcode, Assert.Single(outside.Answers).DataName));
        // To a name that does not exist: NXDOMAIN (RFC 6604) with the CNAME and the SOA.
        ParsedMessage dangling = AskFor("dangling.example.com", A);
        Assert.Equal(3, dangling.Rcode);
        Assert.Equal(CNAME, Assert.Single(dangling.Answers).Type);
        Assert.Equal(SOA, Assert.Single(dangling.Authority).Type);
        // To a name without the type: NODATA after the chain.
        ParsedMessage nodata = AskFor("www.example.com", MX);
        Assert.Equal((0, CNAME), (nodata.Rcode, Assert.Single(nodata.Answers).Type));
        Assert.Equal(SOA, Assert.Single(nodata.Authority).Type);
    }

    [Fact]
    public void NXDOMAIN_carries_the_SOA_with_the_negative_TTL_owned_by_the_apex()
    {
        foreach (string name in new[] { "nope.example.com", "deep.er.no.example.com", "X.Y.example.COM" })
        {
            ParsedMessage m = AskFor(name, A);
            Assert.Equal((3, true), (m.Rcode, m.Aa));
            Assert.Empty(m.Answers);
            ParsedRecord soa = Assert.Single(m.Authority);
            Assert.Equal((SOA, 300u), (soa.Type, soa.Ttl)); // min(SOA TTL 3600, MINIMUM 300), RFC 2308
            Assert.Equal("example.com.", soa.Name.ToLowerInvariant());
            Assert.Equal(name + ".", m.QuestionName); // case kept
        }
    }

    [Fact]
    public void NODATA_for_a_missing_type_and_for_an_empty_non_terminal()
    {
        foreach ((string name, ushort type) in new[] { ("web.example.com", MX), ("web.example.com", SRV), ("b.c.example.com", A), ("c.example.com", AAAA) })
        {
            ParsedMessage m = AskFor(name, type);
            Assert.Equal((0, true), (m.Rcode, m.Aa));
            Assert.Empty(m.Answers);
            Assert.Equal(SOA, Assert.Single(m.Authority).Type);
        }
    }

    [Fact]
    public void Names_outside_the_zone_and_other_classes_are_REFUSED()
    {
        foreach (byte[] q in new[] { DnsWire.Query("example.org", A), DnsWire.Query("com", A), DnsWire.Query(".", NS), DnsWire.Query("www.example.com", A, qclass: 3),
            DnsWire.Query("example.com", 252) })
        {
            ParsedMessage m = Ask(q).Message;
            Assert.Equal((5, false, 1, 0), (m.Rcode, m.Aa, (int)m.QdCount, m.Records.Count));
        }
    }

    [Fact]
    public void Case_of_the_question_is_kept_and_answers_point_to_it()
    {
        (ParsedMessage m, int length, _) = Ask(DnsWire.Query("WwW.ExAmPlE.cOm", A));
        Assert.Equal("WwW.ExAmPlE.cOm.", m.QuestionName);
        Assert.Equal("WwW.ExAmPlE.cOm.", m.Answers.First().Name);
        Assert.Equal("web.ExAmPlE.cOm.", m.Answers.Last().Name); // "web" then a pointer to the question's "ExAmPlE.cOm"
        // Compression: the answer owners are 2-byte pointers (0xC00C is the question name).
        Assert.True(length < 12 + 17 + 4 + 2 * (17 + 10) + 2 + 4, $"{length} bytes: the names were not compressed");
    }

    [Fact]
    public void Without_EDNS_answers_over_512_bytes_are_truncated_and_TCP_gets_them_whole()
    {
        (ParsedMessage udp, int udpLength, DnsAnswerer answerer) = Ask(DnsWire.Query("big.example.com", TXT));
        Assert.Equal((true, true, 0, 0), (udp.Tc, udp.Aa, (int)udp.AnCount, udp.Records.Count));
        Assert.True(udpLength <= 512);
        Assert.Equal(1, answerer.Counters.Truncated);
        (ParsedMessage tcp, int tcpLength, _) = Ask(DnsWire.Query("big.example.com", TXT), DnsTransport.Tcp);
        Assert.False(tcp.Tc);
        Assert.Equal(40, tcp.Answers.Count());
        Assert.True(tcpLength > 2800);
    }

    [Fact]
    public void EDNS_size_is_honoured_clamped_and_the_OPT_record_echoed()
    {
        // 40 x 84 bytes > 1232 (our largest UDP answer) even when the client offers 4096.
        (ParsedMessage big, int length, _) = Ask(DnsWire.Query("big.example.com", TXT, ednsSize: 4096));
        Assert.True(big.Tc);
        Assert.True(length <= 1232);
        ParsedRecord opt = Assert.Single(big.Additional);
        Assert.Equal((41, ".", (ushort)DnsAnswerer.DefaultMaxUdpBytes, 0u), (opt.Type, opt.Name, opt.Class, opt.Ttl));
        // An offer under 512 counts as 512 (RFC 6891 section 6.2.5): what fits in 512 is answered.
        ParsedMessage small = Ask(DnsWire.Query("example.com", MX, ednsSize: 100)).Message;
        Assert.Equal((false, 1), (small.Tc, small.Answers.Count()));
        // A server allowing larger answers answers what fits the client's offer.
        DnsAnswerer roomy = new(s_zone, maxUdpBytes: 4000);
        (ParsedMessage whole, int wholeLength, _) = Ask(DnsWire.Query("big.example.com", TXT, ednsSize: 4096), answerer: roomy);
        Assert.Equal((false, 40), (whole.Tc, whole.Answers.Count()));
        Assert.True(wholeLength <= 4000);
        ParsedMessage clamped = Ask(DnsWire.Query("big.example.com", TXT, ednsSize: 2000), answerer: roomy).Message;
        Assert.True(clamped.Tc);
        // DO is copied (RFC 3225); no answer without OPT gets one.
        Assert.Equal(0x8000u, Ask(DnsWire.Query("web.example.com", A, ednsSize: 1232, dnssecOk: true)).Message.Opt!.Ttl);
        Assert.Null(AskFor("web.example.com", A).Opt);
    }

    [Fact]
    public void The_additional_section_is_left_out_before_anything_is_truncated()
    {
        // 6 MX answers with 6 A records each in the additional section: the answers fit 512 bytes, the addresses do not.
        string text = TestZones.Example + "\nmany " + string.Join("\nmany ", Enumerable.Range(0, 6).Select(i => $"MX {i} mx{i}")) + "\n"
            + string.Join("\n", Enumerable.Range(0, 6).SelectMany(i => Enumerable.Range(1, 6).Select(j => $"mx{i} A 192.0.2.{j}")));
        DnsAnswerer answerer = new(TestZones.Compile(text));
        ParsedMessage m = Ask(DnsWire.Query("many.example.com", MX), answerer: answerer).Message;
        Assert.Equal((false, 6, 0), (m.Tc, m.Answers.Count(), m.Additional.Count()));
        Assert.Equal(1, answerer.Counters.AdditionalOmitted);
        Assert.Equal(36, Ask(DnsWire.Query("many.example.com", MX), DnsTransport.Tcp, answerer).Message.Additional.Count());
    }

    [Fact]
    public void EDNS_version_above_0_is_BADVERS_with_an_OPT_of_version_0()
    {
        ParsedMessage m = Ask(DnsWire.Query("web.example.com", A, ednsSize: 1232, ednsVersion: 1)).Message;
        Assert.Equal(0, m.Rcode); // BADVERS is 16: 0 in the header's four bits ...
        ParsedRecord opt = Assert.Single(m.Additional);
        Assert.Equal(1u << 24, opt.Ttl); // ... and 1 in the OPT's extended RCODE; version 0
        Assert.Empty(m.Answers);
    }

    [Fact]
    public void Malformed_queries_get_FORMERR_by_cause()
    {
        DnsAnswerer answerer = new(s_zone);
        byte[] good = DnsWire.Query("web.example.com", A, ednsSize: 1232);
        void Expect(byte[] q, DnsFormErrReason reason)
        {
            long before = answerer.Counters.FormErrBy(reason);
            ParsedMessage m = Ask(q, answerer: answerer).Message;
            Assert.Equal((1, 0, 0, 0, 0), (m.Rcode, (int)m.QdCount, (int)m.AnCount, (int)m.NsCount, (int)m.ArCount));
            Assert.Equal(before + 1, answerer.Counters.FormErrBy(reason));
        }
        byte[] two = (byte[])good.Clone();
        two[5] = 2;
        Expect(two, DnsFormErrReason.SectionCounts);
        byte[] withAnswer = (byte[])good.Clone();
        withAnswer[7] = 1;
        Expect(withAnswer, DnsFormErrReason.SectionCounts);
        byte[] pointer = [.. good[..12], 0xC0, 0x0C, 0, 1, 0, 1];
        pointer[11] = 0;
        Expect(pointer, DnsFormErrReason.BadName);
        Expect(good[..20], DnsFormErrReason.Truncated);
        Expect(good[..(good.Length - 3)], DnsFormErrReason.Truncated);
        Expect([.. good, 0], DnsFormErrReason.TrailingBytes);
        byte[] twoOpts = [.. good, .. good[^11..]];
        twoOpts[11] = 2;
        Expect(twoOpts, DnsFormErrReason.BadOpt);
        byte[] badOption = [.. good[..^2], 0, 3, 0, 1, 0];
        Expect(badOption, DnsFormErrReason.BadOpt);
        byte[] tsig = (byte[])good.Clone();
        tsig[^10] = 250; // the additional record's type: TSIG
        Expect(tsig, DnsFormErrReason.UnsupportedAdditional);
        Expect(DnsWire.Query("web.example.com", 41), DnsFormErrReason.BadType);
    }

    [Fact]
    public void Other_opcodes_are_NOTIMP_and_responses_and_runts_are_dropped()
    {
        DnsAnswerer answerer = new(s_zone);
        ParsedMessage notify = Ask(DnsWire.Query("example.com", SOA, flags: 4 << 11), answerer: answerer).Message;
        Assert.Equal((4, 4), (notify.Rcode, (notify.Flags >> 11) & 0xF));
        byte[] buffer = new byte[512];
        Assert.Equal(0, answerer.Answer(buffer, 11, DnsTransport.Udp));
        byte[] response = DnsWire.Query("web.example.com", A, flags: 0x8000);
        response.CopyTo(buffer, 0);
        Assert.Equal(0, answerer.Answer(buffer, response.Length, DnsTransport.Udp));
        Assert.Equal((1, 1, 1), (answerer.Counters.DroppedBy(DnsDropReason.ShortHeader), answerer.Counters.DroppedBy(DnsDropReason.NotAQuery), answerer.Counters.NotImp));
    }

    [Fact]
    public void Answering_allocates_nothing()
    {
        DnsAnswerer answerer = new(s_zone);
        byte[][] queries = [DnsWire.Query("web.example.com", A), DnsWire.Query("nope.example.com", A, ednsSize: 1232), DnsWire.Query("big.example.com", TXT),
            DnsWire.Query("chain1.example.com", A, ednsSize: 4096), DnsWire.Query("example.org", A), DnsWire.Query("example.com", MX)];
        byte[] buffer = new byte[2048];
        int i = 0;
        long bytes = Allocations.LeastPerRound(() =>
        {
            byte[] q = queries[i++ % queries.Length];
            q.CopyTo(buffer, 0);
            answerer.Answer(buffer, q.Length, DnsTransport.Udp);
        });
        Assert.Equal(0, bytes);
    }
}
