namespace Skiff.Cli;

/// <summary>
/// The exit codes every <c>skiff</c> command uses, as <c>skiff --help</c> and docs/cli.md state them: a script can
/// tell a failed job from a mistyped command from a machine that cannot run it.
/// </summary>
public static class ExitCodes
{
    /// <summary>The job was done.</summary>
    public const int Success = 0;

    /// <summary>The job failed: an integrity mismatch, a failed transfer or request, a control socket nobody answers.</summary>
    public const int JobFailed = 1;

    /// <summary>A usage error: an unknown option, a missing or malformed value, a value out of range (System.CommandLine's own parse errors too).</summary>
    public const int Usage = 2;

    /// <summary>The environment: a missing privilege, interface, kernel feature or library (libpcap).</summary>
    public const int Environment = 3;

    /// <summary>The convention in one paragraph, for <c>skiff --help</c>.</summary>
    public const string Description =
        "Exit codes: 0 success; 1 the job failed (an integrity mismatch, a failed transfer); 2 a usage error (an unknown option, " +
        "a bad or out-of-range value); 3 the environment (a missing privilege, interface, kernel feature or libpcap).";
}
