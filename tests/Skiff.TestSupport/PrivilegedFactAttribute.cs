using Xunit;

namespace Skiff.TestSupport;

/// <summary>
/// A fact that needs root and some programs (tcpdump, ip, ...). It is skipped, with the reason, when the machine
/// cannot run it, except under <c>CI=true</c>: there it always runs, so a missing privilege or tool fails the build
/// instead of turning into a silent skip (TESTING.md, "Privileged tests must run in CI").
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PrivilegedFactAttribute : FactAttribute
{
    public PrivilegedFactAttribute(params string[] tools) => Skip = PrivilegedSkip.Reason(tools);
}

/// <summary>A theory with <see cref="PrivilegedFactAttribute"/>'s rules: skipped with the reason, never under <c>CI=true</c>.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PrivilegedTheoryAttribute : TheoryAttribute
{
    public PrivilegedTheoryAttribute(params string[] tools) => Skip = PrivilegedSkip.Reason(tools);
}

internal static class PrivilegedSkip
{
    /// <summary>Why a privileged test cannot run here, or null when it can (always null under <c>CI=true</c>).</summary>
    public static string? Reason(string[] tools)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            return "needs root (network namespaces, packet capture); run as root, or set CI=true to make this a failure";
        }
        string[] missing = tools.Where(t => ExternalTools.Find(t) is null).ToArray();
        return missing.Length > 0 ? $"needs {string.Join(", ", missing)}; install with: bash scripts/test.sh (it apt-installs the test packages)" : null;
    }
}
