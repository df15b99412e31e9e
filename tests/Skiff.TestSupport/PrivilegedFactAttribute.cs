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
    public PrivilegedFactAttribute(params string[] tools)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        if (!Environment.IsPrivilegedProcess)
        {
            Skip = "needs root (network namespaces, packet capture); run as root, or set CI=true to make this a failure";
            return;
        }
        string[] missing = tools.Where(t => ExternalTools.Find(t) is null).ToArray();
        if (missing.Length > 0)
        {
            Skip = $"needs {string.Join(", ", missing)}; install with: bash scripts/test.sh (it apt-installs the test packages)";
        }
    }
}
