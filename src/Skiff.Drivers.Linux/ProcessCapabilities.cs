using System.Globalization;

namespace Skiff.Drivers.Linux;

/// <summary>
/// The calling process's effective capabilities, read from the <c>CapEff:</c> line of <c>/proc/self/status</c>
/// (a 64-bit hexadecimal mask, bit n = capability n of linux/capability.h). Used to tell "the process lacks a
/// privilege" from "the kernel refuses although the process has it" in error messages.
/// </summary>
internal static class ProcessCapabilities
{
    public const int CAP_NET_ADMIN = 12;
    public const int CAP_SYS_ADMIN = 21;
    public const int CAP_SYS_RESOURCE = 24;
    public const int CAP_PERFMON = 38;
    public const int CAP_BPF = 39;

    /// <summary>The effective mask, or null when <c>/proc/self/status</c> cannot be read or has no CapEff line.</summary>
    public static ulong? Effective()
    {
        try
        {
            return Parse(File.ReadAllText("/proc/self/status"));
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The CapEff mask in the text of a <c>/proc/PID/status</c> file, or null if it has none.</summary>
    public static ulong? Parse(string status)
    {
        foreach (string line in status.Split('\n'))
        {
            if (line.StartsWith("CapEff:", StringComparison.Ordinal)
                && ulong.TryParse(line.AsSpan(7).Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong mask))
            {
                return mask;
            }
        }
        return null;
    }

    /// <summary>True if <paramref name="mask"/> has capability <paramref name="capability"/>.</summary>
    public static bool Has(ulong mask, int capability) => (mask & (1UL << capability)) != 0;

    /// <summary>
    /// True if the process has what the kernel asks of a BPF networking program: CAP_BPF (or CAP_SYS_ADMIN, which
    /// implies it) and CAP_NET_ADMIN. False also when the mask cannot be read.
    /// </summary>
    public static bool HasBpfNetworking() =>
        Effective() is ulong mask && (Has(mask, CAP_BPF) || Has(mask, CAP_SYS_ADMIN)) && Has(mask, CAP_NET_ADMIN);

    /// <summary>The BPF networking capabilities <paramref name="mask"/> lacks, as "CAP_BPF and CAP_NET_ADMIN" (for messages); empty if none.</summary>
    public static string Missing(ulong mask)
    {
        List<string> missing = [];
        if (!Has(mask, CAP_BPF) && !Has(mask, CAP_SYS_ADMIN))
        {
            missing.Add("CAP_BPF");
        }
        if (!Has(mask, CAP_NET_ADMIN))
        {
            missing.Add("CAP_NET_ADMIN");
        }
        return string.Join(" and ", missing);
    }
}
