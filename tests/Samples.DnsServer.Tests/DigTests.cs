using System.Diagnostics;

namespace Skiff.Samples.DnsServer.Tests;

/// <summary>
/// The sample as a user runs it (DnsServer.dll) on AF_XDP or AF_PACKET at end A of a veth pair in namespaces the test
/// creates, and BIND's dig in namespace B as the client, over the kernel's UDP and TCP: every record type, NXDOMAIN,
/// NODATA, REFUSED, truncation and dig's retry over TCP, EDNS0 and BADVERS.
/// </summary>
public sealed class DigTests
{
    [PrivilegedTheory("ip", "ethtool", "dig", "kill")]
    [InlineData("afxdp", "af_xdp:")]
    [InlineData("afpacket", "af_packet:")]
    public void Dig_gets_every_kind_of_answer(string driver, string banner)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        // The veth checksum trap (TESTING.md): the kernel peer must finish its checksums before frames cross the veth.
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off", "tso", "off", "gso", "off"));
        string zoneFile = Path.Combine(Path.GetTempPath(), $"skiff-dns-{Guid.NewGuid():N}.zone");
        string statsSocket = Path.Combine(Path.GetTempPath(), $"skiff-dns-{Guid.NewGuid():N}.sock");
        File.WriteAllText(zoneFile, TestZones.WithBigTxt);
        try
        {
            using ServerProcess server = ServerProcess.StartIn(pair.NamespaceA, "--driver", driver, "--iface", pair.LinkA, "--ip", $"{pair.Ipv4A}/24",
                "--zone", zoneFile, "--stats-socket", statsSocket);
            string Dig(params string[] args) =>
                ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, [ExternalTools.Require("dig"), $"@{pair.Ipv4A}", "+norec", "+time=2", "+tries=2", .. args])).Output;
            server.WaitUntil(() => Dig("web.example.com", "A").Contains("status: NOERROR", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "dig's first answer");

            string a = Dig("web.example.com", "A");
            Assert.Contains("flags: qr aa;", a);
            Assert.Matches(@"web\.example\.com\.\s+3600\s+IN\s+A\s+192\.0\.2\.80", a);
            Assert.Contains("; EDNS: version: 0, flags:; udp: 1232", a); // the OPT record echoed with our size
            Assert.Matches(@"web\.example\.com\.\s+3600\s+IN\s+AAAA\s+2001:db8::80", Dig("web.example.com", "AAAA"));
            string ns = Dig("example.com", "NS");
            Assert.Matches(@"example\.com\.\s+3600\s+IN\s+NS\s+ns1\.example\.com\.", ns);
            Assert.Matches(@"example\.com\.\s+3600\s+IN\s+NS\s+ns2\.example\.net\.", ns);
            Assert.Matches(@"ns1\.example\.com\.\s+3600\s+IN\s+A\s+192\.0\.2\.1", ns); // the additional section
            Assert.Matches(@"example\.com\.\s+3600\s+IN\s+SOA\s+ns1\.example\.com\. hostmaster\.example\.com\. 2026120701 7200 3600 1209600 300", Dig("example.com", "SOA"));
            Assert.Matches(@"www\.example\.com\.\s+3600\s+IN\s+CNAME\s+web\.example\.com\.", Dig("www.example.com", "CNAME"));
            string chased = Dig("WWW.Example.com", "A"); // any case
            Assert.Matches(@"WWW\.Example\.com\.\s+3600\s+IN\s+CNAME\s+web\.Example\.com\.", chased);
            Assert.Matches(@"web\.Example\.com\.\s+3600\s+IN\s+A\s+192\.0\.2\.80", chased);
            Assert.Matches(@"example\.com\.\s+3600\s+IN\s+MX\s+10 mail\.example\.com\.", Dig("example.com", "MX"));
            Assert.Contains("IN\tTXT\t\"hello world\" \"second \\\"quoted\\\" string\" \"unquoted\" \"AB\"", Dig("txt.example.com", "TXT"));

            string nx = Dig("nope.example.com", "A");
            Assert.Contains("status: NXDOMAIN", nx);
            Assert.Contains("flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1", nx);
            Assert.Matches(@"example\.com\.\s+300\s+IN\s+SOA", nx);
            string nodata = Dig("web.example.com", "MX");
            Assert.Contains("status: NOERROR", nodata);
            Assert.Contains("ANSWER: 0, AUTHORITY: 1", nodata);
            Assert.Contains("status: NOERROR", Dig("b.c.example.com", "A")); // an empty non-terminal exists
            Assert.Contains("status: REFUSED", Dig("example.org", "A"));

            // 40 TXT records (about 3 kB): truncated over UDP with EDNS (our 1232) and without (512), and dig asks again over TCP.
            foreach (string[] options in new[] { new[] { "+bufsize=4096" }, new[] { "+noedns" } })
            {
                string big = Dig(["big.example.com", "TXT", .. options]);
                Assert.Contains(";; Truncated, retrying in TCP mode.", big);
                Assert.Contains("ANSWER: 40,", big);
                Assert.Matches(@"SERVER: [0-9.]+#53\([0-9.]+\) \(TCP\)", big);
            }
            string badvers = Dig("web.example.com", "A", "+edns=1", "+noednsneg");
            Assert.Contains("status: BADVERS", badvers);
            Assert.Contains("; EDNS: version: 0,", badvers);

            // The server's own counters reach skiff stats through its control socket, in the snapshot's "app" values.
            string snapshot = ControlSocket.Snapshot(statsSocket);
            Assert.Contains("\"name\":\"skiff.dns.queries\"", snapshot);
            Assert.Matches("\"name\":\"skiff.dns.responses\",\"tags\":\"skiff.dns.result=nxdomain\",\"value\":[1-9]", snapshot);
            Assert.Matches("\"name\":\"skiff.dns.truncated\",\"tags\":\"\",\"value\":2", snapshot);

            string output = server.Interrupt();
            Assert.Contains($"over {banner}{pair.LinkA}", output);
            Assert.Matches(@"udp queries \d+: answers \d+, nodata [1-9]\d*, nxdomain [1-9]\d*, refused [1-9]\d*, notimp 0, badvers 1, formerr 0; truncated 2,", output);
            Assert.Matches(@"tcp queries 2: answers 2,", output);
        }
        finally
        {
            File.Delete(zoneFile);
        }
    }

    [Fact]
    public void Bad_arguments_and_zone_files_are_sentences_and_exit_2()
    {
        ExternalTools.Result none = ServerProcess.Run();
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("DnsServer: give --driver.", none.Error);
        ExternalTools.Result driver = ServerProcess.Run("--driver", "dpdk", "--iface", "eth0", "--ip", "10.0.0.1/24", "--zone", "z");
        Assert.Equal(2, driver.ExitCode);
        Assert.Contains("DnsServer: there is no driver 'dpdk'; choose one of afxdp, afpacket, tap.", driver.Error);
        string zoneFile = Path.Combine(Path.GetTempPath(), $"skiff-dns-{Guid.NewGuid():N}.zone");
        File.WriteAllText(zoneFile, "$ORIGIN example.com.\n$TTL 60\n@ SOA ns1 host 1 2 3 4 5\n@ NS ns1\nwww A 300.1.2.3\n");
        try
        {
            ExternalTools.Result zone = ServerProcess.Run("--driver", "afxdp", "--iface", "eth0", "--ip", "10.0.0.1/24", "--zone", zoneFile);
            Assert.Equal(2, zone.ExitCode);
            Assert.Equal($"DnsServer: {zoneFile} line 5: an A record needs one IPv4 address, e.g. 'A 192.0.2.1'.", zone.Error.Trim());
        }
        finally
        {
            File.Delete(zoneFile);
        }
        ExternalTools.Result missing = ServerProcess.Run("--driver", "afxdp", "--iface", "eth0", "--ip", "10.0.0.1/24", "--zone", "/nonexistent/zone");
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("DnsServer: cannot read the zone file /nonexistent/zone:", missing.Error);
    }
}

/// <summary>The built sample (DnsServer.dll, copied next to the tests) as a child process, optionally in a namespace.</summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    private ServerProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
    }

    private static string[] Command(string[] args) =>
        [ExternalTools.Find("dotnet") ?? Environment.ProcessPath ?? "dotnet", Path.Combine(AppContext.BaseDirectory, "DnsServer.dll"), .. args];

    public static ServerProcess StartIn(string netns, params string[] args) => new(ExternalTools.Start("ip", NetnsPair.In(netns, Command(args))));

    public static ExternalTools.Result Run(params string[] args)
    {
        string[] command = Command(args);
        return ExternalTools.Run(command[0], command[1..], timeoutSeconds: 60);
    }

    /// <summary>Polls <paramref name="probe"/> until true; fails with the server's output if it exits or time runs out.</summary>
    public void WaitUntil(Func<bool> probe, TimeSpan timeout, string what)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The server exited {_process.ExitCode} before {what}: {_output.Result}{_error.Result}");
            }
            if (probe())
            {
                return;
            }
            Thread.Sleep(200);
        }
        Assert.Fail($"{what} did not happen within {timeout.TotalSeconds} s.");
    }

    /// <summary>SIGINT, as Ctrl-C: it must print its counters and exit 0. Returns standard output.</summary>
    public string Interrupt()
    {
        ExternalTools.Check("kill", "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (!_process.WaitForExit(20_000))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail("The server did not stop within 20 s of SIGINT.");
        }
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"The server exited {_process.ExitCode}: {_error.Result}");
        return _output.Result;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
