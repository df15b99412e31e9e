using System.Diagnostics;

namespace Skiff.Drivers.Linux.Tests.Support;

/// <summary>
/// A python3 program running in the kernel peer's namespace (see <see cref="PeerPrograms"/>). Dispose kills it if it
/// is still running, so a failed test leaves nothing behind.
/// </summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _name;

    private PeerProcess(Process process, string name)
    {
        _process = process;
        _name = name;
    }

    /// <summary>Starts <c>python3 -c <paramref name="script"/> <paramref name="args"/></c> inside the peer's namespace.</summary>
    public static PeerProcess StartPython(DriverSetup setup, string name, string script, params string[] args) =>
        new(ExternalTools.Start("ip", setup.InPeer([ExternalTools.Require("python3"), "-c", script, .. args])), name);

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for the program to print <paramref name="line"/> (e.g. "ready" once it listens); throws if it exits or is silent for 15 s.</summary>
    public void WaitForLine(string line)
    {
        Task<string?> read = _process.StandardOutput.ReadLineAsync();
        if (!read.Wait(TimeSpan.FromSeconds(15)) || read.Result != line)
        {
            string error = _process.HasExited ? _process.StandardError.ReadToEnd() : "(still running)";
            throw new InvalidOperationException($"The kernel peer {_name} did not print '{line}' (got '{(read.IsCompleted ? read.Result : "nothing")}'): {error}");
        }
    }

    /// <summary>Waits for the program to exit; returns its exit code and output. Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public ExternalTools.Result WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            throw new TimeoutException($"The kernel peer {_name} did not exit within {timeout.TotalSeconds:0} s.");
        }
        _process.WaitForExit();
        return new ExternalTools.Result(_process.ExitCode, _process.StandardOutput.ReadToEnd(), _process.StandardError.ReadToEnd());
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
        _process.Dispose();
    }
}
