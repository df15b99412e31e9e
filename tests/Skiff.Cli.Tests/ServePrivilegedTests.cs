using System.Diagnostics;
using System.Security.Cryptography;
using Skiff.Cli.Demo;
using Skiff.Cli.Serve;

namespace Skiff.Cli.Tests;

/// <summary>
/// <c>skiff serve</c> over AF_PACKET in namespace A of a veth pair (no kernel address there), with the kernel's curl
/// and Skiff's own <c>send</c> and <c>fetch</c> as clients from namespace B.
/// </summary>
public sealed class ServePrivilegedTests
{
    /// <summary>Starts <c>skiff serve</c> on AF_PACKET in namespace A and waits until B can ping it.</summary>
    private static Process StartServe(NetnsPair pair, params string[] services) =>
        ServeProcess.Start("afpacket", pair.NamespaceA, pair.LinkA, $"{pair.Ipv4A}/24", pair.NamespaceB, pair.Ipv4A, services);

    private static string Interrupt(Process serve) => ServeProcess.Interrupt(serve);

    [PrivilegedFact("ip", "curl", "ping", "kill")]
    public void Curl_gets_the_page_and_bytes_over_one_kept_alive_connection()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using Process serve = StartServe(pair, "--http", "80");
        string page = Path.GetTempFileName(), bytes = Path.GetTempFileName();
        try
        {
            const int n = 1_000_003;
            ExternalTools.Result curl = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "curl", "-s", "-m", "20", "-w", "%{http_code} %{size_download} %{num_connects}\n",
                "-o", page, $"http://{pair.Ipv4A}/", "-o", bytes, $"http://{pair.Ipv4A}/bytes/{n}"));
            Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {curl.Error}");
            string[] lines = curl.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.StartsWith("200 ", lines[0]);
            Assert.Equal($"200 {n} 0", lines[1]); // no new connection: keep-alive
            Assert.Contains("Skiff", File.ReadAllText(page));
            byte[] expected = new byte[n];
            new SeededStream(HttpConnection.BytesSeed).Fill(expected);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(expected)), Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(bytes))));

            ExternalTools.Result missing = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", $"http://{pair.Ipv4A}/nope"));
            Assert.Equal("404", missing.Output);
        }
        finally
        {
            File.Delete(page);
            File.Delete(bytes);
        }
        string counters = Interrupt(serve);
        Assert.Contains("skiff serve: stopped", counters);
        Assert.Contains("http: 3 requests, 2 2xx, 1 4xx", counters);
        Assert.Contains("2 connections accepted", counters);
    }

    [PrivilegedFact("ip", "ping", "kill")]
    public void Skiff_send_and_fetch_from_a_second_stack_reach_skiff_serve()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        using Process serve = StartServe(pair, "--tcp-echo", "7", "--http", "80");
        string clientIp = pair.Ipv4A[..pair.Ipv4A.LastIndexOf('.')] + ".3/24";
        CliRunner.Result send = NamespaceThread.Run(pair.NamespaceB, () => CliRunner.Run(
            "send", "--driver", "afpacket", "--iface", pair.LinkB, "--ip", clientIp, "--to", $"{pair.Ipv4A}:7", "--bytes", "4M"));
        Assert.True(send.ExitCode == 0, send.Output + send.Error);
        Assert.Contains("integrity: ok", send.Output);

        CliRunner.Result fetch = NamespaceThread.Run(pair.NamespaceB, () => CliRunner.Run(
            "fetch", "--driver", "afpacket", "--iface", pair.LinkB, "--ip", clientIp, $"http://{pair.Ipv4A}/bytes/65536"));
        Assert.True(fetch.ExitCode == 0, fetch.Output + fetch.Error);
        byte[] expected = new byte[65536];
        new SeededStream(HttpConnection.BytesSeed).Fill(expected);
        Assert.Contains($"sha256: {Convert.ToHexStringLower(SHA256.HashData(expected))}", fetch.Output);

        string counters = Interrupt(serve);
        Assert.Contains($"echo {4 << 20} bytes", counters);
    }

    [PrivilegedFact("ip", "curl", "ping", "kill")]
    public void Skiff_stats_reads_the_counters_of_a_running_serve_over_its_control_socket()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        string socket = Path.Combine(Path.GetTempPath(), $"skiff-test-{Guid.NewGuid():N}.sock");
        using Process serve = StartServe(pair, "--http", "80", "--stats-socket", socket);
        const int n = 100_000;
        for (int i = 0; i < 3; i++)
        {
            ExternalTools.Result curl = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "curl", "-s", "-m", "20", "-o", "/dev/null", $"http://{pair.Ipv4A}/bytes/{n}"));
            Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {curl.Error}");
        }

        CliRunner.Result json = CliRunner.Run("stats", "--socket", socket, "--once", "--json");
        Assert.True(json.ExitCode == 0, json.Error);
        Skiff.Cli.Stats.StatsReport report = Skiff.Cli.Stats.StatsProtocol.Parse(Assert.Single(json.Lines));
        Assert.Equal(serve.Id, report.Pid);
        Skiff.Engine.Metrics.SkiffMetricsSnapshot q = Assert.Single(report.Queues);
        Assert.Equal(pair.Ipv4A, q.Address);
        Assert.Equal(3, q.TcpPassiveOpens);
        Assert.True(q.TxBytes > 3 * n, $"serve sent {q.TxBytes} bytes of frames for three {n}-byte bodies");
        Assert.True(q.RxPackets > 0);

        CliRunner.Result table = CliRunner.Run("stats", "--socket", socket, "--once");
        Assert.True(table.ExitCode == 0, table.Error);
        Assert.Contains($"queue 0 {pair.Ipv4A}", table.Output);
        string passive = table.Lines.Single(l => l.StartsWith("tcp opens passive", StringComparison.Ordinal));
        Assert.Equal("3", passive.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);

        string output = Interrupt(serve);
        Assert.Contains($"  counters: skiff stats --socket {socket}", output);
        Assert.False(File.Exists(socket), "serve left its stats socket behind");
    }

    [Fact]
    public void An_unavailable_driver_is_a_sentence_and_exit_3()
    {
        CliRunner.Result r = CliRunner.Run("serve", "--driver", "afpacket", "--iface", "skiff-no-such-if0", "--ip", "10.0.0.2/24", "--http", "80");
        Assert.Equal(3, r.ExitCode);
        Assert.StartsWith("skiff serve: cannot open afpacket on skiff-no-such-if0", r.Error);
    }

    [Theory]
    [InlineData("--ip", "10.0.0.2", "is not a unicast IPv4 address with a prefix")]
    [InlineData("--gateway", "192.168.1.1", "is not on 10.0.0.2/24")]
    [InlineData("--mac", "zz", "is not a unicast MAC address")]
    public void Bad_stack_options_are_sentences_and_exit_2(string option, string value, string message)
    {
        List<string> args = ["serve", "--driver", "tap", "--iface", "skt0", "--http", "80"];
        if (option != "--ip")
        {
            args.AddRange(["--ip", "10.0.0.2/24"]);
        }
        args.AddRange([option, value]);
        CliRunner.Result r = CliRunner.Run([.. args]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
    }
}
