using Skiff.Samples.DnsServer.Dns;

namespace Skiff.Samples.DnsServer.Tests;

/// <summary>The zone the tests serve: every construct of the master-file format, every type, CNAME chains, a large TXT set.</summary>
internal static class TestZones
{
    public const string Example = """
        ; the tests' zone
        $ORIGIN example.com.
        $TTL 1h
        @   IN  SOA ns1 hostmaster (
                2026120701 ; serial
                7200       ; refresh
                3600 1209600
                300 )      ; minimum
            IN  NS  ns1
            NS      ns2.example.net.
            MX      10 mail
            TXT     "v=spf1 mx -all"
        ns1         A       192.0.2.1
        mail    300 IN A    192.0.2.25
        mail    IN  300 AAAA 2001:db8::25
        www         CNAME   web
        web         A       192.0.2.80
                    AAAA    2001:db8::80
        txt         TXT     "hello world" "second \"quoted\" string" unquoted \065\066
        a.b.c       A       192.0.2.99
        dangling    CNAME   nothere
        outside     CNAME   www.example.org.
        chain1      CNAME   chain2
        chain2      CNAME   www
        abs.example.com. 60 A 192.0.2.7
        UPPER       A       192.0.2.8
        """;

    /// <summary><see cref="Example"/> with 40 TXT records of 70 bytes at big.example.com: about 3 kB, more than any UDP answer may be.</summary>
    public static string WithBigTxt => Example + "\n" + string.Join("\n", Enumerable.Range(0, 40).Select(i => $"big TXT \"{new string('x', 60)}{i:D10}\""));

    public static CompiledZone Compile(string text)
    {
        ZoneParseResult result = ZoneParser.Parse(text);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return new CompiledZone(result.Zone!);
    }
}
