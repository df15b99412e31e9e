using System.Diagnostics;

namespace Skiff.Kestrel.Tests;

/// <summary>
/// The built sample (<c>KestrelHello.dll</c>, copied next to the tests) running as a child process, optionally inside a
/// network namespace (<c>ip netns exec</c>). Its output is drained as it comes; <see cref="Interrupt"/> stops it the
/// way Ctrl-C does and returns what it printed.
/// </summary>
internal sealed class SampleProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task<string> _output;
    private readonly Task<string> _error;

    private SampleProcess(Process process)
    {
        _process = process;
        _output = process.StandardOutput.ReadToEndAsync();
        _error = process.StandardError.ReadToEndAsync();
    }

    public static string SampleDll => Path.Combine(AppContext.BaseDirectory, "KestrelHello.dll");

    private static string Dotnet => ExternalTools.Find("dotnet") ?? Environment.ProcessPath ?? "dotnet";

    /// <summary>Arguments that run the sample with <paramref name="args"/>; its content root (appsettings.json) is the test directory.</summary>
    public static string[] Command(params string[] args) => [Dotnet, SampleDll, "--contentRoot", AppContext.BaseDirectory, .. args];

    /// <summary>Starts the sample in <paramref name="netns"/>.</summary>
    public static SampleProcess StartIn(string netns, params string[] args) => new(ExternalTools.Start("ip", NetnsPair.In(netns, Command(args))));

    /// <summary>Runs the sample outside any namespace to completion (it is expected to fail fast); returns its exit code and output.</summary>
    public static ExternalTools.Result Run(params string[] args)
    {
        string[] command = Command(args);
        return ExternalTools.Run(command[0], command[1..], timeoutSeconds: 60);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Polls <paramref name="probe"/> until it returns true; fails with the sample's output if the sample exits or time runs out.</summary>
    public void WaitUntil(Func<bool> probe, TimeSpan timeout, string what)
    {
        Stopwatch watch = Stopwatch.StartNew();
        while (watch.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                Assert.Fail($"The sample exited {_process.ExitCode} before {what}: {_output.Result}{_error.Result}");
            }
            if (probe())
            {
                return;
            }
            Thread.Sleep(200);
        }
        Assert.Fail($"{what} did not happen within {timeout.TotalSeconds} s.");
    }

    /// <summary>SIGINT, as Ctrl-C: the host stops gracefully and the process must exit 0. Returns standard output.</summary>
    public string Interrupt()
    {
        ExternalTools.Check("kill", "-INT", _process.Id.ToString());
        if (!_process.WaitForExit(20_000))
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail("The sample did not stop within 20 s of SIGINT.");
        }
        _process.WaitForExit();
        Assert.True(_process.ExitCode == 0, $"The sample exited {_process.ExitCode}: {_error.Result}");
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
