using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary>
/// The capabilities docs/operators.md lists per driver are exactly enough: <c>skiff serve</c> runs under a capability
/// bounding set of just those (setpriv, as root, so no file permission differs) and serves curl; with any one of them
/// taken away it exits 3 with a sentence naming what is missing.
/// </summary>
public sealed class PrivilegeTests
{
    public static TheoryData<string, string[]> Needed => new()
    {
        { "afpacket", ["net_raw"] },
        { "afxdp", ["net_raw", "net_admin", "bpf", "ipc_lock"] },
        { "tap", ["net_admin"] },
    };

    private static string[] Bounded(IEnumerable<string> caps) => ["setpriv", $"--bounding-set=-all{string.Concat(caps.Select(c => ",+" + c))}"];

    [PrivilegedTheory("ip", "curl", "ping", "kill", "ethtool", "setpriv")]
    [MemberData(nameof(Needed))]
    public void Serve_runs_with_exactly_the_documented_capabilities(string driver, string[] caps)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        (Process serve, string clientNs, string server) = ServeHttpDriversTests.StartServe(pair, driver, ["--http", "80", "--stats-socket", "none"], wrapper: Bounded(caps));
        using (serve)
        {
            Assert.All(ServeHttpDriversTests.Curl(clientNs, server, close: true), l => Assert.Equal("200 1", l));
            Assert.Contains("skiff serve: stopped", ServeProcess.Interrupt(serve));
        }
    }

    [PrivilegedTheory("ip", "setpriv")]
    [InlineData("afpacket", "net_raw", "AF_PACKET needs CAP_NET_RAW")]
    [InlineData("afxdp", "net_raw", "AF_XDP needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF")]
    [InlineData("afxdp", "net_admin", "AF_XDP needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF")]
    [InlineData("afxdp", "bpf", "AF_XDP needs CAP_NET_RAW, CAP_NET_ADMIN and CAP_BPF")]
    [InlineData("afxdp", "ipc_lock", "count against the locked-memory limit: raise it (ulimit -l unlimited; LimitMEMLOCK=infinity under systemd), grant CAP_IPC_LOCK")]
    [InlineData("tap", "net_admin", "needs CAP_NET_ADMIN")]
    public void Without_one_of_them_serve_exits_3_and_says_what_is_missing(string driver, string missing, string message)
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        string[] caps = [.. Needed.Single(row => (string)row[0] == driver)[1] is string[] all ? all.Where(c => c != missing) : []];
        string iface = driver == "tap" ? $"{pair.LinkA}t" : pair.LinkA;
        ExternalTools.Result r = ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceA,
            [.. Bounded(caps), ServeProcess.Dotnet, ServeProcess.SkiffDll, "serve", "--driver", driver, "--iface", iface, "--ip", $"{pair.Ipv4A}/24", "--stats-socket", "none"]), timeoutSeconds: 60);
        Assert.True(r.ExitCode == ExitCodes.Environment, $"serve without CAP_{missing.ToUpperInvariant()} exited {r.ExitCode}: {r.Output}{r.Error}");
        Assert.Contains(message, r.Error);
    }
}
