using System.CommandLine;

namespace Skiff.Cli.Tests;

/// <summary>Runs the <c>skiff</c> command tree in-process with its output captured (no global Console redirection, so tests may run in parallel).</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static Result Run(params string[] args)
    {
        StringWriter output = new();
        StringWriter error = new();
        int exit = Program.Run(args, new InvocationConfiguration { Output = output, Error = error });
        return new Result(exit, output.ToString(), error.ToString());
    }

    /// <summary>
    /// The repository root (the directory holding Skiff.slnx), searched above this source file, the test binaries
    /// and the working directory (builds may use an --artifacts-path outside the repository, and CI builds map
    /// source paths, so no one of them is enough).
    /// </summary>
    public static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        foreach (string start in new[] { Path.GetDirectoryName(sourceFile) ?? "", AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (DirectoryInfo? d = start.Length > 0 && Directory.Exists(start) ? new(start) : null; d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Skiff.slnx")))
                {
                    return d.FullName;
                }
            }
        }
        throw new InvalidOperationException($"Skiff.slnx not found above {sourceFile}, {AppContext.BaseDirectory} or {Environment.CurrentDirectory}; run the tests from the repository.");
    }

    /// <summary>Writes <paramref name="bytes"/> to a fresh temporary file and returns its path.</summary>
    public static string TempFile(byte[] bytes, string extension)
    {
        string path = Path.Combine(Path.GetTempPath(), $"skiff-test-{Guid.NewGuid():N}{extension}");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
