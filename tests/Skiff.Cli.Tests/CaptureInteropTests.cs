using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Skiff.Cli.Tests;

/// <summary>Skiff's capture files against tcpdump, and tcpdump's captures of real kernel traffic against <c>skiff read</c>. Need root.</summary>
public partial class CaptureInteropTests
{
    [PrivilegedFact("tcpdump")]
    public void Tcpdump_ReadsSkiffPcapAndPcapng_FrameForFrame()
    {
        int frames = SampleCapture.Frames().Count;
        foreach (bool pcapng in new[] { false, true })
        {
            string path = CliRunner.TempFile(SampleCapture.Build(pcapng), pcapng ? ".pcapng" : ".pcap");
            try
            {
                ExternalTools.Result tcpdump = ExternalTools.Run("tcpdump", ["-nn", "-r", path]);
                Assert.True(tcpdump.ExitCode == 0, $"tcpdump -r {(pcapng ? "pcapng" : "pcap")} failed: {tcpdump.Error}");
                Assert.DoesNotContain("error", tcpdump.Error, StringComparison.OrdinalIgnoreCase);
                Assert.Equal(frames, Lines(tcpdump.Output));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }

    [PrivilegedFact("tcpdump", "ip", "ping", "/usr/bin/python3", "kill")]
    public void SkiffRead_AgreesWithTcpdump_OnRealKernelTraffic()
    {
        using NetnsPair net = new();
        string capture = Path.Combine(Path.GetTempPath(), $"skiff-interop-{Guid.NewGuid():N}.pcap");
        using Process tcpdump = ExternalTools.Start("ip", NetnsPair.In(net.NamespaceA, "tcpdump", "-i", net.LinkA, "--immediate-mode", "-U", "-nn", "-w", capture));
        try
        {
            WaitForListening(tcpdump);
            GenerateTraffic(net);
            // SIGINT makes tcpdump flush and close the file; `ip netns exec` execs tcpdump, so the pid is tcpdump's.
            ExternalTools.Check("kill", "-INT", tcpdump.Id.ToString());
            Assert.True(tcpdump.WaitForExit(10_000), "tcpdump did not stop on SIGINT");

            ExternalTools.Result reference = ExternalTools.Run("tcpdump", ["-nn", "-r", capture]);
            Assert.True(reference.ExitCode == 0, $"tcpdump -r failed: {reference.Error}");
            int expected = Lines(reference.Output);

            CliRunner.Result skiff = CliRunner.Run("read", capture);
            Assert.Equal(0, skiff.ExitCode);
            Match summary = SummaryLine().Match(skiff.Output);
            Assert.True(summary.Success, $"no summary line in:\n{skiff.Output}");
            string detail = $"skiff read:\n{skiff.Output}\ntcpdump -r:\n{reference.Output}";
            Assert.True(expected == int.Parse(summary.Groups["frames"].Value), $"frame counts differ (tcpdump {expected}).\n{detail}");
            Assert.True(summary.Groups["malformed"].Value == "0", $"Skiff called kernel frames malformed.\n{detail}");
            Assert.True(summary.Groups["errors"].Value == "0", $"capture errors.\n{detail}");
            foreach (string protocol in new[] { "ARP", "TCP", "UDP", "ICMP", "ICMP6", "IPv4-frag" })
            {
                Assert.True(Regex.IsMatch(skiff.Output, $@"by protocol:.*\b{Regex.Escape(protocol)} \d"), $"no {protocol} frames seen.\n{detail}");
            }
            Assert.Contains("Flags [S]", skiff.Output);
            Assert.Contains("options [mss 1460,sackOK,TS val", skiff.Output);
            Assert.Contains("neighbor solicitation", skiff.Output);
        }
        finally
        {
            if (!tcpdump.HasExited)
            {
                tcpdump.Kill();
                tcpdump.WaitForExit(5000);
            }
            File.Delete(capture);
        }
    }

    private static void WaitForListening(Process tcpdump)
    {
        // tcpdump says "listening on <dev>" on stderr once the socket is bound; frames sent before that are lost.
        Task<string?> line = tcpdump.StandardError.ReadLineAsync();
        Assert.True(line.Wait(10_000) && line.Result is not null, "tcpdump did not start listening");
        Assert.Contains("listening on", line.Result);
        _ = tcpdump.StandardError.ReadToEndAsync();
        _ = tcpdump.StandardOutput.ReadToEndAsync();
    }

    private static void GenerateTraffic(NetnsPair net)
    {
        const string python = "/usr/bin/python3";
        // TCP: a server in B echoes upper-cased bytes; the client in A retries until the server listens. Linux puts
        // mss, sackOK, TS, nop, wscale on the SYN.
        string server = $"import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{net.Ipv4B}',5000))\ns.listen()\nc,_=s.accept()\nc.sendall(c.recv(100).upper())\nc.close()";
        string client = $"import socket,time\nfor i in range(100):\n    try:\n        c=socket.create_connection(('{net.Ipv4B}',5000),timeout=2); break\n    except OSError: time.sleep(0.05)\nc.sendall(b'hello skiff')\nassert c.recv(100)==b'HELLO SKIFF'\nc.close()";
        using Process serverProcess = ExternalTools.Start("ip", NetnsPair.In(net.NamespaceB, python, "-c", server));
        ExternalTools.Check("ip", NetnsPair.In(net.NamespaceA, python, "-c", client));
        Assert.True(serverProcess.WaitForExit(10_000), "the TCP server did not finish");
        // UDP to a closed port: the datagram and an ICMP port unreachable.
        ExternalTools.Check("ip", NetnsPair.In(net.NamespaceA, python, "-c",
            $"import socket\nsocket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'skiff',('{net.Ipv4B}',9999))"));
        ExternalTools.Check("ip", NetnsPair.In(net.NamespaceA, "ping", "-c", "2", "-i", "0.2", net.Ipv4B));
        ExternalTools.Check("ip", NetnsPair.In(net.NamespaceA, "ping", "-6", "-c", "2", "-i", "0.2", net.Ipv6B));
        // 4000 bytes over a 1500-byte MTU: IPv4 fragments both ways.
        ExternalTools.Check("ip", NetnsPair.In(net.NamespaceA, "ping", "-c", "1", "-s", "4000", net.Ipv4B));
        Thread.Sleep(500); // let the last replies reach the capture (immediate mode) before stopping it
    }

    private static int Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    [GeneratedRegex(@"summary: (?<frames>\d+) frames, (?<malformed>\d+) malformed, (?<errors>\d+) capture errors")]
    private static partial Regex SummaryLine();
}
