using System.Diagnostics;

namespace Skiff.TestSupport;

/// <summary>Finds and runs the external programs the interop tests drive.</summary>
public static class ExternalTools
{
    private static readonly string[] s_searchPath = [.. (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'), "/usr/sbin", "/sbin", "/usr/bin", "/bin"];

    /// <summary>The full path of <paramref name="tool"/> (an absolute path is checked as is), or null if absent.</summary>
    public static string? Find(string tool)
    {
        if (Path.IsPathRooted(tool))
        {
            return File.Exists(tool) ? tool : null;
        }
        return s_searchPath.Where(d => d.Length > 0).Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
    }

    /// <summary>Like <see cref="Find"/>, but fails the test with what to install.</summary>
    public static string Require(string tool) =>
        Find(tool) ?? throw new InvalidOperationException($"'{tool}' is not installed; run bash scripts/test.sh, which apt-installs the test packages.");

    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Runs a program to completion (killed after <paramref name="timeoutSeconds"/>).</summary>
    public static Result Run(string tool, IEnumerable<string> args, int timeoutSeconds = 30)
    {
        using Process process = Start(tool, args);
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {timeoutSeconds} s.");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, output.Result, error.Result);
    }

    /// <summary>Runs a program and fails unless it exits 0.</summary>
    public static Result Check(string tool, params string[] args)
    {
        Result result = Run(tool, args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{tool} {string.Join(' ', args)} exited {result.ExitCode}: {result.Error.Trim()}");
        }
        return result;
    }

    /// <summary>Starts a program with its output redirected; the caller waits for it and disposes it.</summary>
    public static Process Start(string tool, IEnumerable<string> args)
    {
        ProcessStartInfo info = new(Require(tool))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }
        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {tool}");
    }
}
