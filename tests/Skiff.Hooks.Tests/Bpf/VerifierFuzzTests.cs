using Skiff.Hooks.Bpf;
using Xunit.Abstractions;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// Malformed programs: random bytes as instructions, and valid programs with one byte changed. The verifier
/// never throws; whatever it accepts runs in the interpreter, the JIT and libpcap without throwing, all three agreeing.
/// </summary>
public class VerifierFuzzTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(11, 100_000)]
    public void RandomBytes_AreRefusedOrRunAlike(int seed, int programs)
    {
        Random random = new(seed);
        int accepted = 0;
        for (int p = 0; p < programs; p++)
        {
            byte[] bytes = new byte[8 * random.Next(1, 24)];
            random.NextBytes(bytes);
            // Half the time draw the opcode bytes from the low range, where the real opcodes are, so some programs pass.
            if (random.Next(2) == 0)
            {
                for (int i = 0; i < bytes.Length; i += 8)
                {
                    bytes[i] = (byte)random.Next(0xb8);
                    bytes[i + 1] = 0;
                    bytes[i + 2] = (byte)random.Next(4);
                    bytes[i + 3] = (byte)random.Next(4);
                }
                bytes[^8] = random.Next(2) == 0 ? (byte)0x06 : (byte)0x16;
            }
            BpfInstruction[] program = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BpfInstruction>(bytes).ToArray();
            accepted += CheckOne(program, seed, p, random) ? 1 : 0;
        }
        output.WriteLine($"seed {seed}: {programs} random-byte programs, {accepted} accepted and run alike");
        Assert.InRange(accepted, 1, programs - 1);
    }

    [Theory]
    [InlineData(12, 20_000)]
    public void MutatedValidPrograms_AreRefusedOrRunAlike(int seed, int programs)
    {
        Random random = new(seed);
        RandomProgramGenerator generator = new(seed);
        int accepted = 0;
        for (int p = 0; p < programs; p++)
        {
            BpfInstruction[] program = generator.NextProgram(24);
            byte[] bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(program.AsSpan()).ToArray();
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            program = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, BpfInstruction>(bytes).ToArray();
            accepted += CheckOne(program, seed, p, random) ? 1 : 0;
        }
        output.WriteLine($"seed {seed}: {programs} mutated programs, {accepted} accepted and run alike");
        Assert.InRange(accepted, programs / 10, programs - 1);
    }

    private static bool CheckOne(BpfInstruction[] program, int seed, int index, Random random)
    {
        BpfVerificationResult result;
        try
        {
            result = BpfVerifier.Verify(program);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"seed {seed}, program {index}: the verifier threw {e}\n{string.Join("\n", program)}");
        }
        if (!result.IsValid)
        {
            Assert.False(string.IsNullOrWhiteSpace(result.Reason));
            return false;
        }
        BpfProgram verified = BpfProgram.Create(program);
        CompiledBpfFilter jit = BpfJit.Compile(verified);
        using PcapReference reference = PcapReference.Wrap(program);
        for (int f = 0; f < 4; f++)
        {
            byte[] frame = new byte[random.Next(80)];
            random.NextBytes(frame);
            int wire = frame.Length + random.Next(100);
            uint expected = reference.Run(frame, wire);
            uint interpreted = BpfInterpreter.Run(verified, frame, wire);
            uint compiled = jit.Run(frame, wire);
            Assert.True(interpreted == expected && compiled == expected,
                $"seed {seed}, program {index}, frame {Convert.ToHexString(frame)} (wire {wire}): libpcap {expected}, interpreter {interpreted}, JIT {compiled}\n{verified}");
        }
        return true;
    }
}
