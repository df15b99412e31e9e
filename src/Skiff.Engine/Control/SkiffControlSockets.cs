using System.Globalization;
using System.Text;

namespace Skiff.Engine.Control;

/// <summary>
/// Where a process running Skiff puts its control socket by default, and how <c>skiff stats</c> and <c>skiff capture</c>
/// find it: <c>skiff-KIND-PID.sock</c> (<c>skiff-serve-PID.sock</c> for <c>skiff serve</c>, <c>skiff-app-PID.sock</c> for
/// an application's <see cref="SkiffStack.StartControlServer"/>) in <c>$XDG_RUNTIME_DIR</c> when set, else in the
/// temporary directory (<c>/tmp</c>).
/// </summary>
public static class SkiffControlSockets
{
    /// <summary>The start of every default socket's file name.</summary>
    public const string Prefix = "skiff-";

    /// <summary>The start of <c>skiff serve</c>'s default socket's file name.</summary>
    public const string FilePrefix = "skiff-serve-";

    /// <summary>The end of every default socket's file name.</summary>
    public const string FileSuffix = ".sock";

    /// <summary>The most bytes of a Unix socket path (sun_path is 108 bytes with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>The value of <c>--stats-socket</c> that turns the socket off.</summary>
    public const string Off = "none";

    /// <summary>The default socket of <c>skiff serve</c> with process id <paramref name="pid"/>.</summary>
    public static string Default(int pid) => Path.Combine(DefaultDirectory(), FileName(pid));

    /// <summary>The default socket of a process <paramref name="pid"/> of kind <paramref name="kind"/> (serve, app, ...).</summary>
    public static string Default(int pid, string kind) => Path.Combine(DefaultDirectory(), FileName(pid, kind));

    /// <summary><c>skiff-serve-PID.sock</c>.</summary>
    public static string FileName(int pid) => FileName(pid, "serve");

    /// <summary><c>skiff-KIND-PID.sock</c>.</summary>
    public static string FileName(int pid, string kind) => Prefix + kind + "-" + pid.ToString(CultureInfo.InvariantCulture) + FileSuffix;

    /// <summary><c>$XDG_RUNTIME_DIR</c> when it names a directory, else the temporary directory.</summary>
    public static string DefaultDirectory()
    {
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Directory.Exists(runtime) ? runtime : Path.GetTempPath();
    }

    /// <summary>
    /// The directories searched for sockets: the default one, and also the temporary directory and <c>/tmp</c>
    /// (a process started with sudo does not see the user's <c>$XDG_RUNTIME_DIR</c>).
    /// </summary>
    public static IReadOnlyList<string> SearchDirectories()
    {
        List<string> directories = [];
        foreach (string d in new[] { DefaultDirectory(), Path.GetTempPath(), "/tmp" })
        {
            string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(d));
            if (!directories.Contains(full) && Directory.Exists(full))
            {
                directories.Add(full);
            }
        }
        return directories;
    }

    /// <summary>
    /// The default sockets in <paramref name="directories"/> whose process is alive (a socket left by a process that
    /// died is skipped), of process <paramref name="pid"/> only when given. Sorted by path.
    /// </summary>
    public static List<string> Discover(IEnumerable<string> directories, int? pid = null)
    {
        List<string> found = [];
        foreach (string directory in directories)
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(directory, Prefix + "*" + FileSuffix).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (string file in files)
            {
                if (TryParsePid(Path.GetFileName(file), out int p) && (pid is null || p == pid) && IsAlive(p) && !found.Contains(file))
                {
                    found.Add(file);
                }
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>The pid in a default socket's file name (<c>skiff-KIND-PID.sock</c>).</summary>
    public static bool TryParsePid(string fileName, out int pid)
    {
        pid = 0;
        if (!fileName.StartsWith(Prefix, StringComparison.Ordinal) || !fileName.EndsWith(FileSuffix, StringComparison.Ordinal))
        {
            return false;
        }
        string middle = fileName[Prefix.Length..^FileSuffix.Length];
        int dash = middle.LastIndexOf('-');
        return dash > 0 && int.TryParse(middle.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out pid) && pid > 0;
    }

    /// <summary>True when <paramref name="path"/> fits a Unix socket address.</summary>
    public static bool FitsSocketAddress(string path) => Encoding.UTF8.GetByteCount(path) <= MaxPathBytes;

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
