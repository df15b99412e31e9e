using System.Diagnostics;

namespace Skiff.Cli.Tests;

/// <summary><c>skiff serve</c> as a child process in a test namespace: started until it answers ping, stopped with Ctrl-C.</summary>
internal static class ServeProcess
{
    public static string SkiffDll => Path.Combine(AppContext.BaseDirectory, "skiff.dll");

    public static string Dotnet => ExternalTools.Find("dotnet") ?? Environment.ProcessPath ?? "dotnet";

    /// <summary>
    /// Starts <c>skiff serve --driver DRIVER --iface IFACE --ip CIDR SERVICES</c> in <paramref name="netns"/>, calls
    /// <paramref name="onStarted"/> once per try until it succeeds (a TAP's kernel side needs its address once serve
    /// created it), and waits until <paramref name="pingFrom"/> can ping <paramref name="address"/>. <paramref name="wrapper"/>
    /// (say, setpriv and its arguments) runs the command.
    /// </summary>
    public static Process Start(string driver, string netns, string iface, string cidr, string pingFrom, string address, string[] services,
        Func<bool>? onStarted = null, Func<bool>? ready = null, string[]? wrapper = null)
    {
        // Ready when B can ping it, or, for a serve that is told not to answer ping, when the given probe says so.
        ready ??= () => ExternalTools.Run("ip", NetnsPair.In(pingFrom, "ping", "-c", "1", "-W", "1", address)).ExitCode == 0;
        string[] command = [.. wrapper ?? [], Dotnet, SkiffDll, "serve", "--driver", driver, "--iface", iface, "--ip", cidr, .. services];
        Process serve = ExternalTools.Start("ip", NetnsPair.In(netns, command));
        Stopwatch watch = Stopwatch.StartNew();
        bool started = onStarted is null;
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (serve.HasExited)
            {
                Assert.Fail($"skiff serve exited {serve.ExitCode}: {serve.StandardError.ReadToEnd()}");
            }
            started = started || onStarted!();
            if (started && ready())
            {
                return serve;
            }
            if (!started)
            {
                Thread.Sleep(100);
            }
        }
        serve.Kill();
        Assert.Fail($"skiff serve on {driver} was not ready (ping, or the test's probe) within 30 s");
        return serve;
    }

    /// <summary>Ctrl-C (SIGINT) the child; it must print its counters and exit 0. Returns what it printed.</summary>
    public static string Interrupt(Process serve)
    {
        ExternalTools.Check("kill", "-INT", serve.Id.ToString());
        Task<string> output = serve.StandardOutput.ReadToEndAsync();
        if (!serve.WaitForExit(15_000))
        {
            serve.Kill(entireProcessTree: true);
            Assert.Fail("skiff serve did not stop within 15 s of SIGINT");
        }
        serve.WaitForExit();
        Assert.True(serve.ExitCode == 0, $"skiff serve exited {serve.ExitCode}: {serve.StandardError.ReadToEnd()}");
        return output.Result;
    }
}
