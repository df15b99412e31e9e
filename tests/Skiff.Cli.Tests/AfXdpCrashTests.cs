using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary>
/// A Skiff process on AF_XDP that dies without cleaning up (kill -9) must leave the interface as it found it: its
/// XDP program is attached through a BPF link owned by the process's descriptors, so the kernel detaches it when they
/// close. The interface then carries the kernel's traffic again, and a new Skiff process can attach.
/// </summary>
public sealed class AfXdpCrashTests
{
    private static string SkiffDll => ServeProcess.SkiffDll;

    private static string Dotnet => ServeProcess.Dotnet;

    private static bool XdpAttached(NetnsPair pair) =>
        ExternalTools.Check("ip", "-n", pair.NamespaceA, "-d", "link", "show", pair.LinkA).Output.Contains("prog/xdp", StringComparison.Ordinal);

    private static bool Answers(NetnsPair pair) =>
        ExternalTools.Run("ip", NetnsPair.In(pair.NamespaceB, "ping", "-c", "1", "-W", "1", pair.Ipv4A)).ExitCode == 0;

    /// <summary>Starts <c>skiff serve --driver afxdp</c> in namespace A and waits until B's ping is answered.</summary>
    private static Process StartOnAfXdp(NetnsPair pair)
    {
        string[] command = [Dotnet, SkiffDll, "serve", "--driver", "afxdp", "--iface", pair.LinkA, "--ip", $"{pair.Ipv4A}/24", "--udp-echo", "7"];
        Process serve = ExternalTools.Start("ip", NetnsPair.In(pair.NamespaceA, command));
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (serve.HasExited)
            {
                Assert.Fail($"skiff serve exited {serve.ExitCode}: {serve.StandardError.ReadToEnd()}");
            }
            if (Answers(pair))
            {
                return serve;
            }
        }
        serve.Kill();
        Assert.Fail("skiff serve on AF_XDP did not answer ping within 30 s");
        return serve;
    }

    [PrivilegedFact("ip", "ping", "kill", "ethtool")]
    public void Kill_9_detaches_the_xdp_program_and_a_new_process_can_attach()
    {
        using NetnsPair pair = new(kernelAddressesOnA: false);
        ExternalTools.Check("ip", NetnsPair.In(pair.NamespaceB, ExternalTools.Require("ethtool"), "-K", pair.LinkB, "tx", "off"));
        Assert.False(XdpAttached(pair));
        for (int round = 0; round < 2; round++)
        {
            using Process serve = StartOnAfXdp(pair);
            Assert.True(XdpAttached(pair), "skiff serve answers on AF_XDP but no XDP program is attached");
            ExternalTools.Check("kill", "-9", serve.Id.ToString());
            Assert.True(serve.WaitForExit(15_000), "skiff serve did not die on SIGKILL");

            // The ip netns exec parent exits with the child; the kernel releases the link once the descriptors close.
            Stopwatch watch = Stopwatch.StartNew();
            while (XdpAttached(pair) && watch.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(50);
            }
            Assert.False(XdpAttached(pair), $"round {round}: the XDP program stayed attached after kill -9");
            Assert.False(Answers(pair)); // nobody owns the address now: the kernel on A has none
        }
    }
}
