using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Skiff.Cli.Tests.Capture;

/// <summary>
/// <c>skiff capture</c> attached to a running <c>skiff serve</c> on every driver, against the judge: tcpdump in the
/// kernel peer's namespace recording the same exchange (ping, which the filter leaves out, and forty HTTP requests of
/// curl, a connection each). Both files must read cleanly in <c>tcpdump -r</c> and hold the same TCP segments: every
/// segment decoded by tcpdump with absolute sequence and acknowledgement numbers, without its timestamp, compared as
/// a multiset. Then Ctrl-C ends the capture with counters that add up, and serve serves on.
/// </summary>
public sealed partial class CaptureDriversTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("skiff-capdrv-").FullName;

    [GeneratedRegex(@"^skiff capture: (\d+) frames written; (\d+) seen, (\d+) filtered out, (\d+) lost \(ring full\)", RegexOptions.Multiline)]
    private static partial Regex Summary();

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool", "tcpdump")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Capture_holds_the_tcp_segments_the_kernel_side_tcpdump_saw(string driver)
    {
        string socket = Path.Combine(_directory, "serve.sock");
        string kernelFile = Path.Combine(_directory, "kernel.pcap");
        string skiffFile = Path.Combine(_directory, "skiff.pcapng");
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string server) = ServeHttpDriversTests.StartServe(pair, driver, ["--http", "80", "--stats-socket", socket]);
        using (serve)
        {
            string clientLink = driver == "tap" ? $"{pair.LinkA}t" : pair.LinkB;
            using Process tcpdump = ExternalTools.Start("ip", NetnsPair.In(clientNs, "tcpdump", "-i", clientLink, "-n", "-U", "-s", "0", "-w", kernelFile, "tcp port 80"));
            // tcpdump says "listening on IF" once its socket is open.
            Task<string?> listening = tcpdump.StandardError.ReadLineAsync();
            Assert.True(listening.Wait(TimeSpan.FromSeconds(60)), "the kernel-side tcpdump did not start within 60 s");
            Assert.Contains("listening on", listening.Result ?? "(tcpdump closed its error output)");
            using Process capture = ExternalTools.Start(ServeProcess.Dotnet, [ServeProcess.SkiffDll, "capture", "--socket", socket, "-w", skiffFile, "tcp port 80"]);
            Task<string> captureErrors = capture.StandardError.ReadToEndAsync();
            // Attached when the serving process has sent the file's header (section and interface blocks).
            WaitFor(() => File.Exists(skiffFile) && new FileInfo(skiffFile).Length > 0 || capture.HasExited, "skiff capture to attach");
            if (capture.HasExited)
            {
                Assert.Fail($"skiff capture exited {capture.ExitCode}: {captureErrors.Result}");
            }

            ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(clientNs, "ping", "-c", "3", "-i", "0.2", "-W", "1", server));
            Assert.True(ping.ExitCode == 0, ping.Output + ping.Error);
            string[] pages = ServeHttpDriversTests.Curl(clientNs, server, close: true);
            Assert.All(pages, l => Assert.Equal("200 1", l));
            Thread.Sleep(1000); // the last FIN's ACK on both sides

            ExternalTools.Check("kill", "-INT", capture.Id.ToString());
            Assert.True(capture.WaitForExit(30_000), "skiff capture did not end within 30 s of SIGINT");
            capture.WaitForExit();
            string summary = captureErrors.Result;
            Assert.True(capture.ExitCode == 0, $"skiff capture exited {capture.ExitCode}: {summary}");
            ExternalTools.Check("kill", "-INT", tcpdump.Id.ToString());
            Assert.True(tcpdump.WaitForExit(30_000), "tcpdump did not end within 30 s of SIGINT");

            List<string> skiff = Segments(skiffFile);
            List<string> kernel = Segments(kernelFile);
            Assert.True(kernel.Count >= pages.Length * 7, $"the kernel saw {kernel.Count} segments for {pages.Length} connections");
            Assert.All(skiff, s => Assert.Matches(@"\.80[ :]", s)); // only what the filter matches: no ICMP
            Assert.Equal(kernel.Order(StringComparer.Ordinal), skiff.Order(StringComparer.Ordinal));

            Match counters = Summary().Match(summary);
            Assert.True(counters.Success, summary);
            long written = long.Parse(counters.Groups[1].Value), seen = long.Parse(counters.Groups[2].Value),
                filtered = long.Parse(counters.Groups[3].Value), lost = long.Parse(counters.Groups[4].Value);
            Assert.Equal(skiff.Count, written);
            Assert.Equal(0, lost);
            Assert.Equal(seen, written + filtered + lost);
            Assert.True(filtered >= 6, $"the 3 pings and their replies were seen and filtered out: {summary}");

            // Detached cleanly: serve answers on and counts every request.
            Assert.All(ServeHttpDriversTests.Curl(clientNs, server, close: false), l => Assert.StartsWith("200 ", l));
            string finalCounters = ServeProcess.Interrupt(serve);
            Assert.Contains($"http: {2 * pages.Length} requests, {2 * pages.Length} 2xx", finalCounters);
        }
    }

    /// <summary>tcpdump's decoding of every TCP segment in <paramref name="file"/> (absolute numbers, no timestamp); it must read without warning.</summary>
    private static List<string> Segments(string file)
    {
        ExternalTools.Result read = ExternalTools.Run("tcpdump", ["-n", "-S", "-r", file]);
        Assert.True(read.ExitCode == 0, $"tcpdump -r {file} exited {read.ExitCode}: {read.Error}");
        Assert.DoesNotContain("warning", read.Error, StringComparison.OrdinalIgnoreCase);
        return [.. read.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l[(l.IndexOf(' ') + 1)..])];
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"waited 60 s for {what}");
            Thread.Sleep(100);
        }
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
