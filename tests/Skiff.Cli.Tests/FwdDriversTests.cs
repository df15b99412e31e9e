using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Skiff.Cli.Tests;

/// <summary>
/// <c>skiff fwd</c> between two kernels on every driver: kernel A — Skiff in namespace M — kernel B (two veth pairs, or
/// for TAP the two TAP interfaces Skiff creates, moved to A and B). The judges are the kernels' own ping, TCP and
/// traceroute: a 100 MiB TCP transfer arrives with the SHA-256 it left with, and the router's ICMP errors are what
/// the kernel's tools print.
/// </summary>
public sealed partial class FwdDriversTests
{
    private const int TransferBytes = 100 << 20;

    // argv: port. Prints "bytes sha256" of everything one connection sends.
    private const string Receiver = """
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', int(sys.argv[1])))
s.listen(1)
print('listening', flush=True)
s.settimeout(60)
c, _ = s.accept()
c.settimeout(60)
h = hashlib.sha256()
n = 0
while True:
    d = c.recv(1 << 20)
    if not d:
        break
    h.update(d)
    n += len(d)
print(n, h.hexdigest(), flush=True)
""";

    // argv: host port bytes. Sends that many random bytes over one connection; prints "bytes sha256".
    private const string Sender = """
import hashlib, os, socket, sys
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = os.urandom(n)
s = socket.create_connection((host, port), timeout=60)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
s.recv(1)
s.close()
print(n, hashlib.sha256(data).hexdigest(), flush=True)
""";

    [PrivilegedTheory("ip", "ping", "python3", "ethtool", "kill", "traceroute")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void L3_routes_ping_and_100_MiB_and_answers_as_an_RFC_1812_router(string driver)
    {
        using ThreeNamespaces ns = new(routed: true, veths: driver != "tap");
        // B's side gets an MTU of 1400 in Skiff: A's 1500-byte packets with DF set need fragmentation-needed (and TCP
        // finds the path MTU through it). A second network behind B is reachable by a static route.
        string beyond = ns.Ipv4B[..ns.Ipv4B.IndexOf('.', 3)] + ".200.0/24"; // e.g. 10.93.200.0/24, via B
        using Process fwd = StartFwd(ns, driver,
            ["--mode", "l3", "--route", beyond, "via", ns.Ipv4B],
            ipA: $"{ns.RouterA}/{ThreeNamespaces.PrefixLength}", ipB: $"{ns.RouterB}/{ThreeNamespaces.PrefixLength}", mtuB: 1400);

        // The router's own addresses answer ping, from either side.
        Ping(ns.NamespaceA, ns.RouterA, 3);
        Ping(ns.NamespaceA, ns.RouterB, 3);
        Ping(ns.NamespaceB, ns.RouterB, 3);
        // Through it, both ways, with the TTL one lower.
        string through = Ping(ns.NamespaceA, ns.Ipv4B, 5);
        Assert.Contains("ttl=63", through);
        Ping(ns.NamespaceB, ns.Ipv4A, 3);

        // TTL 1: Time Exceeded from the router's address on A's side.
        ExternalTools.Result ttl = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "ping", "-c", "2", "-i", "0.3", "-W", "1", "-t", "1", ns.Ipv4B));
        Assert.Contains($"From {ns.RouterA} icmp_seq=1 Time to live exceeded", ttl.Output);

        // A route miss: Destination Net Unreachable from the router.
        ExternalTools.Result miss = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "ping", "-c", "1", "-W", "1", "198.51.100.7"));
        Assert.Contains($"From {ns.RouterA} icmp_seq=1 Destination Net Unreachable", miss.Output);

        // DF set and too big for B's side: fragmentation needed, with the next hop's MTU.
        ExternalTools.Result big = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "ping", "-c", "1", "-W", "1", "-M", "do", "-s", "1450", ns.Ipv4B));
        Assert.Contains($"From {ns.RouterA} icmp_seq=1 Frag needed and DF set (mtu = 1400)", big.Output);

        // traceroute from A shows Skiff's hop, then B.
        ExternalTools.Result trace = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "traceroute", "-n", "-q", "1", "-w", "2", "-m", "4", ns.Ipv4B), timeoutSeconds: 60);
        Assert.Matches($@"(?m)^ 1  {Regex.Escape(ns.RouterA)} ", trace.Output);
        Assert.Matches($@"(?m)^ 2  {Regex.Escape(ns.Ipv4B)} ", trace.Output);

        Transfer(ns);

        string report = ServeProcess.Interrupt(fwd);
        Assert.Contains("routes: 3 ", report); // two connected, one static
        Assert.Matches(@"forwarded [1-9]\d{4,} frames", report); // 100 MiB is more than 70,000 frames
        Assert.Matches(@"drops:.* TtlExpired [2-9]", report);
        Assert.Matches(@"drops:.* NoRoute [1-9]", report);
        Assert.Matches(@"drops:.* FragmentationNeeded [1-9]", report);
        Assert.Matches(@"router port 0 \([\d.]+\): ping replies ([6-9]|\d\d)", report);
        if (driver == "afxdp")
        {
            // Two AF_XDP sockets on two veths have two UMEMs: every forwarded frame is copied once (docs/forwarding.md).
            Match m = ForwardedAndCopied().Match(report);
            Assert.True(m.Success, report);
            Assert.Equal(m.Groups[1].Value, m.Groups[2].Value);
        }
        else
        {
            Assert.Contains(", 0 copied between pools", report);
        }
    }

    [PrivilegedTheory("ip", "ping", "python3", "ethtool", "kill")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Mac_mode_carries_ping_and_100_MiB_between_two_kernels_on_one_network(string driver)
    {
        using ThreeNamespaces ns = new(routed: false, veths: driver != "tap");
        // l2fwd: frames leave with the sending port's MAC as source and the peer's as destination.
        string macA = driver == "tap" ? "02:00:5e:10:00:0a" : ThreeNamespaces.MacOf(ns.NamespaceA, ns.LinkA);
        string macB = driver == "tap" ? "02:00:5e:10:00:0b" : ThreeNamespaces.MacOf(ns.NamespaceB, ns.LinkB);
        using Process fwd = StartFwd(ns, driver, ["--mode", "mac"], peerMacA: macA, peerMacB: macB);
        Ping(ns.NamespaceA, ns.Ipv4B, 5);
        Ping(ns.NamespaceB, ns.Ipv4A, 3);
        // B learned A's address from the ARP inside, but A's frames came from Skiff's MAC: the neighbour entry in B is A's
        // real MAC (ARP's sender field), and the frames still reach A because Skiff rewrites them on the way.
        Transfer(ns);
        string report = ServeProcess.Interrupt(fwd);
        Assert.Matches(@"forwarded [1-9]\d{4,} frames", report);
        Assert.Contains("drops: none", report);
    }

    [PrivilegedTheory("ip", "ping", "python3", "ethtool", "kill")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Io_mode_with_drop_icmp_stops_ping_while_tcp_passes_and_counts_the_filter(string driver)
    {
        using ThreeNamespaces ns = new(routed: false, veths: driver != "tap");
        using Process fwd = StartFwd(ns, driver, ["--mode", "io", "--drop", "icmp"], ready: () => TcpWorks(ns));
        ExternalTools.Result ping = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "ping", "-c", "3", "-i", "0.2", "-W", "1", ns.Ipv4B));
        Assert.Contains("3 packets transmitted, 0 received", ping.Output);
        Assert.True(TcpWorks(ns), "a TCP transfer through the bridge failed while ICMP was dropped");
        string report = ServeProcess.Interrupt(fwd);
        Assert.Matches(@"drops:.* Filter [3-9]", report);
    }

    /// <summary>
    /// <c>--shape</c> on a forwarder: each port's egress runs through its own shaper above fq_codel, so a kernel TCP
    /// transfer through the bridge arrives intact but no faster than the rate, and the report shows the qdisc's
    /// tc-style line with the data it sent and the times the shaper held it back.
    /// </summary>
    [PrivilegedTheory("ip", "ping", "python3", "ethtool", "kill")]
    [InlineData("afpacket")]
    [InlineData("afxdp")]
    [InlineData("tap")]
    public void Io_mode_with_shape_holds_a_tcp_transfer_to_the_rate_and_reports_the_qdisc(string driver)
    {
        using ThreeNamespaces ns = new(routed: false, veths: driver != "tap");
        using Process fwd = StartFwd(ns, driver, ["--mode", "io", "--shape", "20mbit"], ready: () => TcpWorks(ns));
        const int bytes = 4 << 20;
        Stopwatch watch = Stopwatch.StartNew();
        Transfer(ns, bytes);
        TimeSpan took = watch.Elapsed;
        string report = ServeProcess.Interrupt(fwd);
        // 4 MiB of payload at 20 Mbit/s take 1.68 s on the wire before headers; a shaper that let it through faster
        // would not be shaping (a slow machine only makes it take longer).
        Assert.True(took > TimeSpan.FromSeconds(1.3), $"4 MiB crossed a 20 Mbit/s shaper in {took.TotalSeconds:F2} s:\n{report}");
        Match line = QDiscLine().Match(report.Split("port 1: rx")[1]); // the exit report, not the banner
        Assert.True(line.Success, report);
        Assert.True(long.Parse(line.Groups[1].Value) > bytes, report);   // port 1 (to B) sent the data
        Assert.True(long.Parse(line.Groups[2].Value) > 0, report);       // and the shaper held it back
        Assert.Contains("qdisc shape 20Mbit over fq_codel", report);
    }

    [GeneratedRegex(@"qdisc [^:]+: sent (\d+) bytes \d+ pkt \(dropped \d+, overlimits (\d+)")]
    private static partial Regex QDiscLine();

    /// <summary>Starts skiff fwd in M on the two ports; returns once A reaches B through it (ping, or <paramref name="ready"/>).</summary>
    private static Process StartFwd(ThreeNamespaces ns, string driver, string[] options, string? ipA = null, string? ipB = null,
        int? mtuB = null, string? peerMacA = null, string? peerMacB = null, Func<bool>? ready = null)
    {
        // The frames for A leave by port 0 (towards A) to A's MAC: port 0's peer is A.
        List<string> args = [ServeProcess.Dotnet, ServeProcess.SkiffDll, "fwd", "--driver", driver, "--stats-socket", "none", "--iface", ns.LinkMA];
        if (ipA is not null)
        {
            args.AddRange(["--ip", ipA]);
        }
        if (peerMacA is not null)
        {
            args.AddRange(["--peer-mac", peerMacA]);
        }
        args.AddRange(["--iface", ns.LinkMB]);
        if (ipB is not null)
        {
            args.AddRange(["--ip", ipB]);
        }
        if (peerMacB is not null)
        {
            args.AddRange(["--peer-mac", peerMacB]);
        }
        if (mtuB is int mtu)
        {
            args.AddRange(["--mtu", mtu.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        }
        args.AddRange(options);
        Process fwd = ExternalTools.Start("ip", NetnsPair.In(ns.NamespaceM, [.. args]));
        ready ??= () => ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "ping", "-c", "1", "-W", "1", ns.Ipv4B)).ExitCode == 0;
        bool adopted = driver != "tap";
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(40))
        {
            if (fwd.HasExited)
            {
                Assert.Fail($"skiff fwd exited {fwd.ExitCode}: {fwd.StandardError.ReadToEnd()} {fwd.StandardOutput.ReadToEnd()}");
            }
            adopted = adopted || ns.Adopt(peerMacA, peerMacB);
            if (adopted && ready())
            {
                return fwd;
            }
            Thread.Sleep(100);
        }
        fwd.Kill(entireProcessTree: true);
        Assert.Fail($"skiff fwd on {driver} did not carry A's traffic to B within 40 s: {fwd.StandardError.ReadToEnd()}");
        return fwd;
    }

    /// <summary>Every one of <paramref name="count"/> pings answered; a second try on a loaded machine (a reply later than the wait is lost to ping).</summary>
    private static string Ping(string from, string to, int count)
    {
        ExternalTools.Result ping = null!;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            ping = ExternalTools.Run("ip", NetnsPair.In(from, "ping", "-c", count.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", "0.2", "-W", "5", to));
            if (ping.ExitCode == 0 && ping.Output.Contains($"{count} packets transmitted, {count} received", StringComparison.Ordinal))
            {
                return ping.Output;
            }
        }
        Assert.Fail($"ping {to} from {from}: {ping.Output}{ping.Error}");
        return ping.Output;
    }

    /// <summary>100 MiB of random bytes from A to B over the kernels' TCP through Skiff; B's SHA-256 must be A's.</summary>
    private static void Transfer(ThreeNamespaces ns, int bytes = TransferBytes)
    {
        using Process receiver = ExternalTools.Start("ip", NetnsPair.In(ns.NamespaceB, "python3", "-c", Receiver, "5001"));
        try
        {
            Assert.Equal("listening", receiver.StandardOutput.ReadLine());
            ExternalTools.Result sent = ExternalTools.Run("ip", NetnsPair.In(ns.NamespaceA, "python3", "-c", Sender, ns.Ipv4B, "5001", bytes.ToString(System.Globalization.CultureInfo.InvariantCulture)), timeoutSeconds: 120);
            Assert.True(sent.ExitCode == 0, $"the sender failed: {sent.Error}");
            Task<string?> line = receiver.StandardOutput.ReadLineAsync();
            Assert.True(line.Wait(TimeSpan.FromSeconds(60)), "the receiver did not finish");
            Assert.Equal(sent.Output.Trim(), line.Result?.Trim());
            Assert.StartsWith($"{bytes} ", line.Result);
        }
        finally
        {
            if (!receiver.HasExited)
            {
                receiver.Kill(entireProcessTree: true);
            }
        }
    }

    private static bool TcpWorks(ThreeNamespaces ns)
    {
        try
        {
            Transfer(ns, 1 << 20);
            return true;
        }
        catch (Exception e) when (e is Xunit.Sdk.XunitException or TimeoutException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"forwarded (\d+) frames, (\d+) copied")]
    private static partial Regex ForwardedAndCopied();
}
