using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Skiff.Cli.Tests;

/// <summary><c>skiff rxdrop</c> on a real device: two AF_XDP queues of a two-queue veth, fed by kernel UDP flows from the peer.</summary>
public sealed partial class RxDropPrivilegedTests
{
    private const int Flows = 16;
    private const int PerFlow = 200;

    // argv: host flows count. One socket per flow (its own source port, so the kernel spreads flows over the veth's queues).
    private const string KernelSender = """
import socket, sys, time
host, flows, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
for i in range(count):
    for s in socks:
        s.sendto(b'skiff rxdrop test', (host, 9))
    if i % 20 == 19:
        time.sleep(0.002)
print('sent', flows * count, flush=True)
""";

    private static string SkiffDll => ServeProcess.SkiffDll;

    private static string Dotnet => ServeProcess.Dotnet;

    [PrivilegedFact("ip", "python3")]
    public void Afxdp_on_two_queues_drops_every_steered_frame_and_detaches()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false, queues: 2);
        string macA = NetnsPair.MacOf(pair.NamespaceA, pair.LinkA);
        // rxdrop answers no ARP (it drops that too): the kernel on B gets A's MAC from a static entry.
        ExternalTools.Check("ip", "-n", pair.NamespaceB, "neigh", "replace", pair.Ipv4A, "lladdr", macA, "dev", pair.LinkB);

        using Process rxdrop = ExternalTools.Start("ip", NetnsPair.In(pair.NamespaceA,
            Dotnet, SkiffDll, "rxdrop", "--driver", "afxdp", "--iface", pair.LinkA, "--ip", pair.Ipv4A, "--queues", "2", "--seconds", "8"));
        Task<string> output = rxdrop.StandardOutput.ReadToEndAsync();
        Stopwatch watch = Stopwatch.StartNew();
        while (!ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "show", pair.LinkA).Output.Contains("prog/xdp", StringComparison.Ordinal))
        {
            if (rxdrop.HasExited)
            {
                Assert.Fail($"skiff rxdrop exited {rxdrop.ExitCode} before attaching: {rxdrop.StandardError.ReadToEnd()}");
            }
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "skiff rxdrop attached no XDP program within 20 s");
            Thread.Sleep(50);
        }

        ExternalTools.Result sent = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "python3", "-c", KernelSender, pair.Ipv4A, $"{Flows}", $"{PerFlow}"));
        Assert.True(sent.ExitCode == 0, sent.Error);
        Assert.True(rxdrop.WaitForExit(30_000), "skiff rxdrop did not stop after --seconds");
        rxdrop.WaitForExit();
        Assert.True(rxdrop.ExitCode == 0, $"skiff rxdrop exited {rxdrop.ExitCode}: {rxdrop.StandardError.ReadToEnd()}");

        Match m = Summary().Match(output.Result);
        Assert.True(m.Success, output.Result);
        Assert.Equal(Flows * PerFlow, long.Parse(m.Groups["total"].Value));
        long q0 = long.Parse(m.Groups["q0"].Value), q1 = long.Parse(m.Groups["q1"].Value);
        Assert.Equal(Flows * PerFlow, q0 + q1);
        Assert.True(q0 > 0 && q1 > 0, $"the kernel's flows all arrived on one queue: {output.Result}");
        Assert.DoesNotContain("xdp", ExternalTools.Check("ip", "-n", pair.NamespaceA, "link", "show", pair.LinkA).Output);
    }

    [Theory]
    [InlineData("afxdp", new string[0], "give the frames' destination with --ip")]
    [InlineData("afpacket", new[] { "--ip", "10.0.0.1" }, "leave --ip out")]
    [InlineData("afxdp", new[] { "--ip", "10.0.0.300" }, "is not a unicast IPv4 address")]
    public void Steering_options_that_cannot_work_are_refused_before_opening_anything(string driver, string[] steer, string message)
    {
        CliRunner.Result r = CliRunner.Run(["rxdrop", "--driver", driver, "--iface", "skiff-no-such", .. steer, "--seconds", "1"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Error);
    }

    [GeneratedRegex(@"skiff rxdrop: (?<total>\d+) frames \(queue 0: (?<q0>\d+), queue 1: (?<q1>\d+)\)")]
    private static partial Regex Summary();
}
