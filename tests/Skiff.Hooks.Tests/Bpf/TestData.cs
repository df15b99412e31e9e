using Skiff.Wire;
using Skiff.Wire.Pcap;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>The committed captures under tests/data, read into memory once.</summary>
internal static class TestData
{
    /// <summary>One frame of a capture: its captured bytes, its wire length and where it came from.</summary>
    public sealed record Frame(string File, int Number, long TimestampNanos, byte[] Bytes, int WireLength)
    {
        public override string ToString() => $"{File} frame {Number} ({Bytes.Length} of {WireLength} bytes)";
    }

    private static readonly Lazy<IReadOnlyList<Frame>> s_all = new(() => [.. Read("sample.pcapng"), .. Read(FilterCapture.FileName)]);

    /// <summary>Every frame of tests/data/sample.pcapng and tests/data/filters.pcap.</summary>
    public static IReadOnlyList<Frame> AllFrames => s_all.Value;

    public static string PathOf(string name) => Path.Combine(RepositoryRoot(), "tests", "data", name);

    public static IReadOnlyList<Frame> Read(string name)
    {
        string path = PathOf(name);
        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with SKIFF_REGENERATE_CAPTURES=1 dotnet test tests/Skiff.Hooks.Tests --filter CommittedCapture");
        WireError openError = CaptureReader.TryOpenFile(path, out ICaptureReader? reader);
        Assert.True(reader is not null, $"{path}: {CaptureReader.DescribeOpenError(openError)}");
        List<Frame> frames = [];
        using (reader)
        {
            while (reader.TryReadNext(out CaptureRecord record, out WireError error) || error != WireError.Ok)
            {
                Assert.True(error == WireError.Ok, $"{path}: {error} after frame {frames.Count}");
                Assert.Equal(LinkType.Ethernet, record.LinkType);
                frames.Add(new Frame(name, frames.Count + 1, record.TimestampNanos, record.Data.ToArray(), record.OriginalLength));
            }
        }
        return frames;
    }

    /// <summary>The repository root (the directory holding Skiff.slnx), searched above this source file, the test binaries and the working directory.</summary>
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
}
