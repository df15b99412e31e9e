using Skiff.Hooks.Bpf;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// bpf_filter's rules, one per case, with the value worked out by hand from the rule: the interpreter, the JIT
/// and libpcap must each return it.
/// </summary>
public class SemanticsTests
{
    private static BpfInstruction S(int code, uint k = 0) => BpfInstruction.Statement((ushort)code, k);
    private static readonly byte[] s_frame = [0x45, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde];

    public static IEnumerable<object[]> Cases()
    {
        // name, program, captured bytes, wire length, expected
        yield return Case("ld [1] reads four bytes big-endian", [S(Ld | W | Abs, 1), S(Ret | A)], s_frame, 8, 0x12345678);
        yield return Case("ldh [3] reads two bytes big-endian", [S(Ld | H | Abs, 3), S(Ret | A)], s_frame, 8, 0x5678);
        yield return Case("ldb [7] reads the last byte", [S(Ld | B | Abs, 7), S(Ret | A)], s_frame, 8, 0xde);
        yield return Case("ld [5] needs bytes 5..8: one past the end rejects", [S(Ld | W | Abs, 5), S(Ret | K, 7)], s_frame, 100, 0);
        yield return Case("ldb [8] past the captured bytes rejects even if the wire frame is longer", [S(Ld | B | Abs, 8), S(Ret | K, 7)], s_frame, 1500, 0);
        yield return Case("ld [x + 2] with X = 2 reads bytes 4..7", [S(Ldx | Imm, 2), S(Ld | W | Ind, 2), S(Ret | A)], s_frame, 8, 0x789abcde);
        yield return Case("X + k wrapping past 2^32 does not wrap: rejects", [S(Ldx | Imm, 0xffffffff), S(Ld | B | Ind, 1), S(Ret | K, 7)], s_frame, 8, 0);
        yield return Case("ldxb 4*([0]&0xf) gives the IPv4 header length", [S(Ldx | B | Msh, 0), S(Misc | Txa), S(Ret | A)], s_frame, 8, 20);
        yield return Case("ldxb past the end rejects", [S(Ldx | B | Msh, 8), S(Ret | K, 7)], s_frame, 8, 0);
        yield return Case("len is the wire length, not the captured one", [S(Ld | W | Len), S(Ret | A)], s_frame, 1514, 1514);
        yield return Case("ldx len too", [S(Ldx | W | Len), S(Misc | Txa), S(Ret | A)], s_frame, 60, 60);
        yield return Case("A and X start at 0", [S(Alu | Add | X), S(Ret | A)], s_frame, 8, 0);
        yield return Case("div x with X = 0 rejects", [S(Ld | Imm, 10), S(Alu | Div | X), S(Ret | K, 7)], s_frame, 8, 0);
        yield return Case("mod x with X = 0 rejects", [S(Ld | Imm, 10), S(Alu | Mod | X), S(Ret | K, 7)], s_frame, 8, 0);
        yield return Case("div is unsigned", [S(Ld | Imm, 0xfffffff0), S(Alu | Div | K, 16), S(Ret | A)], s_frame, 8, 0x0fffffff);
        yield return Case("lsh x by 33 gives 0", [S(Ldx | Imm, 33), S(Ld | Imm, 1), S(Alu | Lsh | X), S(Ret | A)], s_frame, 8, 0);
        yield return Case("rsh x by 32 gives 0", [S(Ldx | Imm, 32), S(Ld | Imm, 0x80000000), S(Alu | Rsh | X), S(Ret | A)], s_frame, 8, 0);
        yield return Case("rsh is logical", [S(Ld | Imm, 0x80000000), S(Alu | Rsh | K, 31), S(Ret | A)], s_frame, 8, 1);
        yield return Case("neg wraps", [S(Ld | Imm, 1), S(Alu | Neg), S(Ret | A)], s_frame, 8, 0xffffffff);
        yield return Case("mul wraps at 32 bits", [S(Ld | Imm, 0x10000), S(Alu | Mul | K, 0x10000), S(Ret | A)], s_frame, 8, 0);
        yield return Case("jgt compares unsigned", [S(Ld | Imm, 0x80000000), BpfInstruction.Jump(Jmp | Jgt | K, 1, 0, 1), S(Ret | K, 1), S(Ret | K, 2)], s_frame, 8, 1);
        yield return Case("jset tests bits", [S(Ld | B | Abs, 0), BpfInstruction.Jump(Jmp | Jset | K, 0x40, 1, 0), S(Ret | K, 1), S(Ret | K, 2)], s_frame, 8, 2);
        yield return Case("ja skips", [S(Jmp | Ja, 1), S(Ret | K, 1), S(Ret | K, 2)], s_frame, 8, 2);
        yield return Case("scratch memory keeps a value", [S(Ld | Imm, 5), S(St, 15), S(Ld | Imm, 0), S(Ldx | Mem, 15), S(Misc | Txa), S(Ret | A)], s_frame, 8, 5);
        yield return Case("an empty capture rejects any load", [S(Ld | B | Abs, 0), S(Ret | K, 7)], [], 60, 0);
        yield return Case("but not a program without loads", [S(Ret | K, 7)], [], 60, 7);
    }

    private static object[] Case(string name, BpfInstruction[] program, byte[] frame, int wire, uint expected) => [name, program, frame, wire, expected];

    [Theory]
    [MemberData(nameof(Cases))]
    public void InterpreterJitAndLibpcap_ReturnTheWorkedOutValue(string name, BpfInstruction[] instructions, byte[] frame, int wireLength, uint expected)
    {
        BpfProgram program = BpfProgram.Create(instructions);
        using PcapReference reference = PcapReference.Wrap(instructions);
        Assert.True(expected == reference.Run(frame, wireLength), $"{name}: libpcap disagrees with the rule as written here");
        Assert.True(expected == BpfInterpreter.Run(program, frame, wireLength), $"{name}: interpreter");
        Assert.True(expected == BpfJit.Compile(program).Run(frame, wireLength), $"{name}: JIT");
    }

    [Fact]
    public unsafe void PointerEntry_GivesTheSpanEntrysResult()
    {
        CompiledBpfFilter filter = BpfJit.Compile(PcapCompiler.Compile("ip"));
        byte[] frame = new byte[60];
        frame[12] = 0x08;
        fixed (byte* p = frame)
        {
            Assert.Equal(filter.Run(frame, 60), filter.Run(p, frame.Length, 60));
            Assert.NotEqual(0u, filter.Run(p, frame.Length, 60));
            Assert.Equal(0u, filter.Run(p, 13, 60)); // the EtherType is cut off
        }
    }

    [Fact]
    public void NegativeWireLength_IsRefused()
    {
        BpfProgram program = BpfProgram.Create([S(Ret | K, 1)]);
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfInterpreter.Run(program, s_frame, -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => BpfJit.Compile(program).Run(s_frame, -1));
    }
}
