using System.Text;
using Skiff.Hooks.Bpf;
using Xunit.Abstractions;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// For every expression of <see cref="FilterExpressions"/>: Skiff's interpreter and JIT return exactly what
/// libpcap's pcap_offline_filter returns on every frame of the committed captures.
/// </summary>
public class ExpressionDifferentialTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Expressions() => FilterExpressions.All().Select(e => new object[] { e });

    [Fact]
    public void CommittedCapture_IsWhatTheGeneratorMakes()
    {
        string path = TestData.PathOf(FilterCapture.FileName);
        byte[] generated = FilterCapture.Build();
        if (Environment.GetEnvironmentVariable("SKIFF_REGENERATE_CAPTURES") == "1")
        {
            File.WriteAllBytes(path, generated);
        }
        Assert.True(File.Exists(path), $"{path} is missing; regenerate it with SKIFF_REGENERATE_CAPTURES=1 dotnet test tests/Skiff.Hooks.Tests --filter CommittedCapture");
        Assert.Equal(generated, File.ReadAllBytes(path));
        Assert.True(generated.Length < 200_000, $"the committed capture should stay small; it is {generated.Length} bytes");
    }

    [Fact]
    public void Captures_HoldSnappedAndTinyFrames()
    {
        IReadOnlyList<TestData.Frame> frames = TestData.AllFrames;
        Assert.True(frames.Count >= 80, $"expected the sample and the filter capture, {frames.Count} frames read");
        Assert.Contains(frames, f => f.Bytes.Length < f.WireLength && f.Bytes.Length > 14);
        Assert.Contains(frames, f => f.Bytes.Length == 0);
        Assert.Contains(frames, f => f.Bytes.Length is > 0 and < 14);
    }

    [Fact]
    public void ThereAreAtLeast200Expressions() => Assert.True(FilterExpressions.All().Count() >= 200, $"{FilterExpressions.All().Count()} expressions");

    [Theory]
    [MemberData(nameof(Expressions))]
    public void InterpreterAndJit_AgreeWithLibpcap_OnEveryFrame(string expression)
    {
        BpfProgram program = PcapCompiler.Compile(expression);
        CompiledBpfFilter jit = BpfJit.Compile(program);
        using PcapReference reference = PcapReference.Compile(expression);
        Assert.Equal(reference.Instructions.ToArray(), program.Instructions.ToArray());
        StringBuilder mismatches = new();
        int matched = 0;
        foreach (TestData.Frame frame in TestData.AllFrames)
        {
            uint expected = reference.Run(frame.Bytes, frame.WireLength);
            uint interpreted = BpfInterpreter.Run(program, frame.Bytes, frame.WireLength);
            uint compiled = jit.Run(frame.Bytes, frame.WireLength);
            if (interpreted != expected || compiled != expected)
            {
                mismatches.AppendLine($"{frame}: libpcap {expected}, interpreter {interpreted}, JIT {compiled}");
            }
            matched += expected != 0 ? 1 : 0;
        }
        output.WriteLine($"'{expression}': {program.Length} instructions, {matched} of {TestData.AllFrames.Count} frames match");
        Assert.True(mismatches.Length == 0, $"'{expression}' disagrees with libpcap:\n{mismatches}\n{program}");
        // An expression that matches everything or nothing here tests little; the capture is built so each one does both.
        if (expression.Length > 0)
        {
            Assert.True(matched > 0 && matched < TestData.AllFrames.Count, $"'{expression}' matches {matched} of {TestData.AllFrames.Count} frames; the captures should make it both match and miss");
        }
    }

    [Theory]
    [MemberData(nameof(LoopingExpressions))]
    public void LoopingPrograms_AreRefused_SayingWhy(string expression)
    {
        using PcapReference reference = PcapReference.Compile(expression); // libpcap itself accepts it
        BpfCompileException e = Assert.Throws<BpfCompileException>(() => PcapCompiler.Compile(expression));
        Assert.Contains("jumps backward", e.Message);
        Assert.Contains(expression, e.Message);
        Assert.False(BpfVerifier.Verify(reference.Instructions).IsValid);
    }

    public static IEnumerable<object[]> LoopingExpressions() => FilterExpressions.Looping.Select(e => new object[] { e });
}
