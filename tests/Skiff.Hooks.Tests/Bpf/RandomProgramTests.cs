using System.Diagnostics;
using Skiff.Hooks.Bpf;
using Xunit.Abstractions;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// Random verifier-accepted programs over random and real frames: Skiff's interpreter, Skiff's JIT and libpcap's
/// pcap_offline_filter return the same value every time. Counted as (program, frame) runs, each checked in all three.
/// </summary>
public class RandomProgramTests(ITestOutputHelper output)
{
    private const int ProgramsPerSeed = 5000;
    private const int FramesPerProgram = 200;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void InterpreterJitAndLibpcap_Agree(int seed)
    {
        Stopwatch clock = Stopwatch.StartNew();
        RandomProgramGenerator generator = new(seed);
        (byte[] Bytes, int WireLength)[] frames = new (byte[], int)[FramesPerProgram];
        long runs = 0;
        long accepted = 0;
        for (int p = 0; p < ProgramsPerSeed; p++)
        {
            BpfInstruction[] instructions = generator.NextProgram();
            BpfVerificationResult verdict = BpfVerifier.Verify(instructions);
            Assert.True(verdict.IsValid, $"seed {seed}, program {p}: the generator made a program the verifier refuses: {verdict.Reason}");
            BpfProgram program = BpfProgram.Create(instructions);
            CompiledBpfFilter jit = BpfJit.Compile(program);
            using PcapReference reference = PcapReference.Wrap(instructions);
            for (int f = 0; f < frames.Length; f++)
            {
                frames[f] = generator.NextFrame(TestData.AllFrames);
            }
            foreach ((byte[] bytes, int wire) in frames)
            {
                uint expected = reference.Run(bytes, wire);
                uint interpreted = BpfInterpreter.Run(program, bytes, wire);
                uint compiled = jit.Run(bytes, wire);
                if (interpreted != expected || compiled != expected)
                {
                    Assert.Fail($"seed {seed}, program {p}, frame {Convert.ToHexString(bytes)} (wire {wire}): libpcap {expected}, interpreter {interpreted}, JIT {compiled}\n{program}");
                }
                runs++;
                accepted += expected != 0 ? 1 : 0;
            }
        }
        output.WriteLine($"seed {seed}: {ProgramsPerSeed} programs x {FramesPerProgram} frames = {runs} runs, each in interpreter, JIT and libpcap; {accepted} accepted; {clock.ElapsedMilliseconds} ms");
        Assert.Equal((long)ProgramsPerSeed * FramesPerProgram, runs);
        // Not a degenerate corpus: a fair share both accepted and rejected.
        Assert.InRange(accepted, runs / 20, runs - runs / 20);
    }
}
