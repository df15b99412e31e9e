using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Samples.DdosFilter.Tests;

/// <summary>
/// The issue's test, end to end: attacker and client in namespace A — DdosFilter on AF_XDP in M (wire port towards A,
/// host port towards B) — the host's kernel in B, serving HTTP with python3's http.server on the protected port. While A
/// floods spoofed memcached-reflection UDP, spoofed SYNs and one source's UDP, curl from A keeps getting the kernel's
/// pages; the flood is counted (hook verdicts, the filter's report, <c>skiff stats</c>, <c>skiff capture --point
/// drop</c>), B's kernel sees almost none of it, and the filter's memory stays bounded.
/// </summary>
public sealed partial class FloodTests(ITestOutputHelper output)
{
    private const int Sources = 4096;
    private const int Flows = 1024;
    private const double FloodSeconds = 10;

    [PrivilegedFact("ip", "python3", "curl", "ethtool", "kill", "ss")]
    public void Legitimate_HTTP_passes_while_spoofed_UDP_and_SYN_floods_are_dropped_counted_and_bounded()
    {
        using ThreeNamespaces ns = new(routed: false);
        string socketPath = Path.Combine(Path.GetTempPath(), $"skiff-ddos-{Environment.ProcessId}-{Random.Shared.Next(1 << 20)}.sock");
        string capturePath = Path.ChangeExtension(socketPath, ".pcapng");
        using Process http = ExternalTools.Start("ip", NetnsPair.In(ns.NamespaceB, "python3", "-m", "http.server", "80", "--bind", ns.Ipv4B));
        Process? filter = null;
        try
        {
            filter = ExternalTools.Start("ip", NetnsPair.In(ns.NamespaceM, Dotnet, FilterDll, "--driver", "afxdp", "--wire", ns.LinkMA, "--host", ns.LinkMB,
                "--drop", "udp src port 11211", "--drop", "udp src port 53 and greater 600", "--rate", "200", "--sources", Sources.ToString(CultureInfo.InvariantCulture),
                "--syn-proxy", "80", "--flows", Flows.ToString(CultureInfo.InvariantCulture), "--stats-socket", socketPath));
            WaitUntilServing(ns, filter);
            long hostRxBefore = HostRxPackets(ns);

            // The flood, from A's own veth: A's MAC, towards B's MAC and address (bridged through the filter).
            string heavy = ns.Ipv4A[..ns.Ipv4A.LastIndexOf('.')] + ".77";
            using Process flood = ExternalTools.Start("ip", NetnsPair.In(ns.NamespaceA, "python3", "-c", Flood.Script, ns.LinkA,
                NetnsPair.MacOf(ns.NamespaceB, ns.LinkB), ns.Ipv4B, heavy, "20000", FloodSeconds.ToString(CultureInfo.InvariantCulture), "80"));
            Task<string> floodOutput = flood.StandardOutput.ReadToEndAsync();
            Stopwatch watch = Stopwatch.StartNew();
            Thread.Sleep(2000); // the generator builds its frames, then floods

            // A legitimate client during the flood: every request answered by the host's kernel.
            int requests = 0;
            List<string> failures = [];
            string? stats = null;
            bool captured = false;
            while (watch.Elapsed < TimeSpan.FromSeconds(FloodSeconds - 1) || requests < 10)
            {
                ExternalTools.Result curl = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", $"http://{ns.Ipv4B}/"), timeoutSeconds: 20);
                requests++;
                if (curl.Output.Trim() != "200")
                {
                    failures.Add($"request {requests}: exit {curl.ExitCode}, status '{curl.Output.Trim()}' at {watch.Elapsed.TotalSeconds:F1} s");
                }
                if (stats is null && requests == 2)
                {
                    // skiff stats and skiff capture attach to the filter's control socket while it is under attack.
                    stats = ExternalTools.Run(Dotnet, [SkiffDll, "stats", "--socket", socketPath, "--once"], timeoutSeconds: 20).Output;
                    ExternalTools.Result capture = ExternalTools.Run(Dotnet, [SkiffDll, "capture", "--socket", socketPath, "--point", "drop", "-c", "50", "--seconds", "10", "-w", capturePath], timeoutSeconds: 30);
                    captured = capture.ExitCode == 0;
                    Assert.True(captured, $"skiff capture exited {capture.ExitCode}: {capture.Error}");
                }
            }
            Assert.True(flood.WaitForExit(30_000), "the flood generator did not stop");
            string sent = floodOutput.Result;
            Match counts = SentCounts().Match(sent);
            Assert.True(counts.Success, $"the flood generator printed no counts: {sent} {flood.StandardError.ReadToEnd()}");
            long udpSent = long.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture);
            long synSent = long.Parse(counts.Groups[2].Value, CultureInfo.InvariantCulture);
            long heavySent = long.Parse(counts.Groups[3].Value, CultureInfo.InvariantCulture);
            long floodSent = udpSent + synSent + heavySent;
            long hostRx = HostRxPackets(ns) - hostRxBefore;
            string synRecv = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceB, "ss", "-Htn", "state", "syn-recv")).Output;

            string report = Stop(filter);
            filter = null;
            output.WriteLine($"{sent.Trim()}; {requests} requests, {failures.Count} failed; the host received {hostRx} frames\n{report}\n{stats}");

            Assert.True(failures.Count == 0, $"{failures.Count} of {requests} requests failed during the flood: {string.Join("; ", failures)}\n{report}");
            Assert.True(floodSent > 50_000, $"the generator sent only {floodSent} frames ({sent})");

            // The flood is counted, by rule, by rate limit and by the SYN proxy.
            long ruleDrops = Verdict(report, "drop udp src port 11211", "drop");
            long rateDrops = Verdict(report, "rate-limit", "drop");
            long cookies = Verdict(report, "syn-proxy", "tx");
            Assert.True(ruleDrops > udpSent / 4, $"the rule dropped {ruleDrops} of {udpSent} spoofed UDP frames\n{report}");
            Assert.True(rateDrops > heavySent / 4, $"the rate limit dropped {rateDrops} of {heavySent} frames of one source\n{report}");
            Assert.True(cookies > synSent / 4, $"the SYN proxy answered {cookies} of {synSent} spoofed SYNs\n{report}");
            Match proxy = ProxyLine().Match(report);
            Assert.True(proxy.Success, report);
            Assert.True(int.Parse(proxy.Groups["accepted"].Value, CultureInfo.InvariantCulture) >= requests, report); // every curl's handshake, none of the flood's
            Assert.True(int.Parse(proxy.Groups["handshakes"].Value, CultureInfo.InvariantCulture) >= requests, report);
            Assert.InRange(int.Parse(proxy.Groups["flows"].Value, CultureInfo.InvariantCulture), 0, Flows);

            // B's kernel saw a sliver of the flood (the curls, and the one source's burst), and no half-open connection.
            Assert.True(hostRx < floodSent / 10, $"the host received {hostRx} frames of a {floodSent}-frame flood\n{report}");
            Assert.Equal("", synRecv.Trim());

            // Memory: the table is full at its fixed size (the flood had 5x more sources), and the loop thread allocated
            // (almost) nothing while it handled every frame of the flood.
            Match sources = SourcesLine().Match(report);
            Assert.True(sources.Success, report);
            Assert.Equal(Sources, int.Parse(sources.Groups["tracked"].Value, CultureInfo.InvariantCulture));
            Assert.Equal(Sources, int.Parse(sources.Groups["capacity"].Value, CultureInfo.InvariantCulture));
            Assert.True(long.Parse(sources.Groups["evicted"].Value, CultureInfo.InvariantCulture) > Sources, report);
            Match memory = MemoryLine().Match(report);
            Assert.True(memory.Success, report);
            long allocated = long.Parse(memory.Groups[1].Value, CultureInfo.InvariantCulture);
            long wireRx = long.Parse(WireRx().Match(report).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(wireRx > 50_000, report);
            Assert.True(allocated < 64 * 1024, $"the loop thread allocated {allocated} bytes over {wireRx} frames\n{report}");

            // skiff stats showed the hooks' verdicts; skiff capture --point drop wrote dropped frames with their cause.
            Assert.Contains("hook syn-proxy", stats);
            // and the filter's own instruments (DdosMetrics) under "app": the SYN cookies the proxy sent.
            Assert.Matches(@"\n  skiff\.ddos\.syncookies\{skiff\.ddos\.result=sent\} +[1-9]", stats);
            Assert.Contains("hook drop udp src port 11211", stats);
            Assert.Contains("hook rate-limit", stats);
            byte[] pcapng = File.ReadAllBytes(capturePath);
            Assert.True(pcapng.Length > 50 * 60, $"the drop capture holds {pcapng.Length} bytes");
            Assert.Contains("drop: Filter", System.Text.Encoding.ASCII.GetString(pcapng));
        }
        finally
        {
            if (filter is not null && !filter.HasExited)
            {
                filter.Kill(entireProcessTree: true);
            }
            filter?.Dispose();
            http.Kill(entireProcessTree: true);
            File.Delete(capturePath);
            File.Delete(socketPath);
        }
    }

    private static string FilterDll => Path.Combine(AppContext.BaseDirectory, "DdosFilter.dll");

    private static string SkiffDll => Path.Combine(AppContext.BaseDirectory, "skiff.dll");

    private static string Dotnet => ExternalTools.Find("dotnet") ?? Environment.ProcessPath ?? "dotnet";

    /// <summary>Waits until curl from A reaches B's server through the filter (40 s at most: a loaded machine starts .NET slowly).</summary>
    private static void WaitUntilServing(ThreeNamespaces ns, Process filter)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(40))
        {
            if (filter.HasExited)
            {
                Assert.Fail($"DdosFilter exited {filter.ExitCode}: {filter.StandardError.ReadToEnd()} {filter.StandardOutput.ReadToEnd()}");
            }
            ExternalTools.Result curl = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "curl", "-s", "-m", "2", "-o", "/dev/null", "-w", "%{http_code}", $"http://{ns.Ipv4B}/"));
            if (curl.Output.Trim() == "200")
            {
                return;
            }
            Thread.Sleep(200);
        }
        Assert.Fail("curl from A never reached the HTTP server in B through DdosFilter within 40 s");
    }

    private static long HostRxPackets(ThreeNamespaces ns) =>
        long.Parse(ExternalTools.Check("ip", NetnsPair.In(ns.NamespaceB, "cat", $"/sys/class/net/{ns.LinkB}/statistics/rx_packets")).Output.Trim(), CultureInfo.InvariantCulture);

    /// <summary>SIGTERM, then the filter's report.</summary>
    private static string Stop(Process filter)
    {
        Task<string> output = filter.StandardOutput.ReadToEndAsync();
        ExternalTools.Check("kill", "-TERM", filter.Id.ToString(CultureInfo.InvariantCulture));
        if (!filter.WaitForExit(20_000))
        {
            filter.Kill(entireProcessTree: true);
            Assert.Fail("DdosFilter did not stop within 20 s of SIGTERM");
        }
        filter.WaitForExit();
        Assert.True(filter.ExitCode == 0, $"DdosFilter exited {filter.ExitCode}: {filter.StandardError.ReadToEnd()}");
        string report = output.Result;
        filter.Dispose();
        return report;
    }

    /// <summary>A hook's count for one verdict in the report ("hook NAME: pass N drop N tx N redirect N").</summary>
    private static long Verdict(string report, string hook, string verdict)
    {
        Match m = Regex.Match(report, $@"hook {Regex.Escape(hook)}: .*\b{verdict} (\d+)");
        Assert.True(m.Success, $"no '{verdict}' count of hook '{hook}' in the report:\n{report}");
        return long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"sent udp (\d+) syn (\d+) heavy (\d+)")]
    private static partial Regex SentCounts();

    [GeneratedRegex(@"syn proxy: cookies sent \d+, accepted (?<accepted>\d+), rejected \d+; handshakes (?<handshakes>\d+); flows (?<flows>\d+) of")]
    private static partial Regex ProxyLine();

    [GeneratedRegex(@"sources: (?<tracked>\d+) tracked of (?<capacity>\d+), \d+ inserted, (?<evicted>\d+) evicted")]
    private static partial Regex SourcesLine();

    [GeneratedRegex(@"the loop thread allocated (-?\d+) bytes")]
    private static partial Regex MemoryLine();

    [GeneratedRegex(@"wire rx (\d+)")]
    private static partial Regex WireRx();
}
