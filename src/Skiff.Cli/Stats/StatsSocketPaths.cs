using System.Globalization;
using System.Text;

namespace Skiff.Cli.Stats;

/// <summary>
/// Where <c>skiff serve</c> puts its stats control socket by default, and how <c>skiff stats</c> finds it:
/// <c>skiff-serve-PID.sock</c> in <c>$XDG_RUNTIME_DIR</c> when set, else in the temporary directory (<c>/tmp</c>).
/// </summary>
internal static class StatsSocketPaths
{
    public const string FilePrefix = "skiff-serve-";
    public const string FileSuffix = ".sock";

    /// <summary>The most bytes of a Unix socket path (sun_path is 108 bytes with its terminating NUL).</summary>
    public const int MaxPathBytes = 107;

    /// <summary>The value of <c>--stats-socket</c> that turns the socket off.</summary>
    public const string Off = "none";

    /// <summary>The default socket of the process <paramref name="pid"/>.</summary>
    public static string Default(int pid) => Path.Combine(DefaultDirectory(), FileName(pid));

    public static string FileName(int pid) => FilePrefix + pid.ToString(CultureInfo.InvariantCulture) + FileSuffix;

    /// <summary><c>$XDG_RUNTIME_DIR</c> when it names a directory, else the temporary directory.</summary>
    public static string DefaultDirectory()
    {
        string? runtime = Environment.GetEnvironmentVariable("XDG_RUNTIME_DIR");
        return !string.IsNullOrEmpty(runtime) && Directory.Exists(runtime) ? runtime : Path.GetTempPath();
    }

    /// <summary>
    /// The directories <c>skiff stats</c> searches: the default one, and also the temporary directory and <c>/tmp</c>
    /// (a serve started with sudo does not see the user's <c>$XDG_RUNTIME_DIR</c>).
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
    /// The serve sockets in <paramref name="directories"/> whose process is alive (a socket left by a process that
    /// died is skipped). Sorted by path.
    /// </summary>
    public static List<string> Discover(IEnumerable<string> directories)
    {
        List<string> found = [];
        foreach (string directory in directories)
        {
            IEnumerable<string> files;
            try
            {
                files = Directory.EnumerateFiles(directory, FilePrefix + "*" + FileSuffix).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (string file in files)
            {
                if (TryParsePid(Path.GetFileName(file), out int pid) && IsAlive(pid) && !found.Contains(file))
                {
                    found.Add(file);
                }
            }
        }
        found.Sort(StringComparer.Ordinal);
        return found;
    }

    /// <summary>The pid in a default socket's file name.</summary>
    public static bool TryParsePid(string fileName, out int pid)
    {
        pid = 0;
        return fileName.StartsWith(FilePrefix, StringComparison.Ordinal) && fileName.EndsWith(FileSuffix, StringComparison.Ordinal)
            && int.TryParse(fileName.AsSpan(FilePrefix.Length, fileName.Length - FilePrefix.Length - FileSuffix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out pid)
            && pid > 0;
    }

    /// <summary>True when <paramref name="path"/> fits a Unix socket address.</summary>
    public static bool FitsSocketAddress(string path) => Encoding.UTF8.GetByteCount(path) <= MaxPathBytes;

    private static bool IsAlive(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
