using Skiff.Hooks.Bpf;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>Hand-written invalid programs: each refused at the right instruction with a reason that says what is wrong.</summary>
public class VerifierTests
{
    private static BpfInstruction S(int code, uint k = 0) => BpfInstruction.Statement((ushort)code, k);
    private static BpfInstruction J(int code, uint k, byte jt, byte jf) => BpfInstruction.Jump((ushort)code, k, jt, jf);
    private static readonly BpfInstruction s_retA = S(Ret | A);

    public static IEnumerable<object[]> InvalidPrograms()
    {
        yield return Case([], -1, "0 instructions");
        yield return Case(Enumerable.Repeat(s_retA, BpfVerifier.MaxInstructions + 1).ToArray(), -1, "4097 instructions");
        yield return Case([S(0xff), s_retA], 0, "opcode 0x00ff");
        yield return Case([S(Ld | H | Imm, 1), s_retA], 0, "opcode 0x0008"); // only the word form of ld #k exists
        yield return Case([S(Ret | X)], 0, "opcode 0x000e"); // ret x is not classic BPF
        yield return Case([S(Ld | W | Abs, 12), S(Alu | Neg | X), s_retA], 1, "opcode 0x008c");
        yield return Case([S(Ld | W | Abs, 12)], 0, "not a return");
        yield return Case([s_retA, S(Ld | Imm, 1)], 1, "not a return");
        yield return Case([J(Jmp | Jeq | K, 0x800, 0, 2), s_retA, s_retA], 0, "false branch (jf 2)");
        yield return Case([J(Jmp | Jgt | X, 0, 5, 0), s_retA], 0, "true branch (jt 5)");
        yield return Case([J(Jmp | Jset | K, 1, 0, 0)], 0, "true branch (jt 0)"); // a jump as the last instruction lands past the end
        yield return Case([S(Jmp | Ja, 1), s_retA], 0, "beyond the end");
        yield return Case([s_retA, S(Jmp | Ja, unchecked((uint)-2)), s_retA], 1, "jumps backward by 1");
        yield return Case([S(St, 16), s_retA], 0, "M[16] is out of range");
        yield return Case([S(Ldx | Mem, 99), s_retA], 0, "M[99] is out of range");
        yield return Case([S(Ld | Mem, 3), s_retA], 0, "reads M[3] on a path that has not written it");
        // M[3] is written on the true branch only, then read where both branches meet.
        yield return Case([S(Ld | B | Abs, 0), J(Jmp | Jeq | K, 1, 0, 1), S(St, 3), S(Ldx | Mem, 3), s_retA], 3, "reads M[3]");
        // the kernel's scan does not skip code after a return: an unreachable read of unwritten memory is refused too
        yield return Case([s_retA, S(Ld | Mem, 7), s_retA], 1, "reads M[7]");
        yield return Case([S(Ld | Imm, 9), S(Alu | Div | K, 0), s_retA], 1, "divides by the constant zero");
        yield return Case([S(Ld | Imm, 9), S(Alu | Mod | K, 0), s_retA], 1, "divides by the constant zero");
        yield return Case([S(Alu | Lsh | K, 32), s_retA], 0, "shifts a 32-bit register by 32 or more");
        yield return Case([S(Alu | Rsh | K, 0xffffffff), s_retA], 0, "shifts");
        yield return Case([S(Ld | B | Abs, 0xfffff000 + 44), s_retA], 0, "ancillary"); // SKF_AD_OFF + SKF_AD_VLAN_TAG
        yield return Case([S(Ld | W | Ind, 0xffe00000), s_retA], 0, "SKF_LL_OFF");
    }

    private static object[] Case(BpfInstruction[] program, int index, string reason) => [program, index, reason];

    [Theory]
    [MemberData(nameof(InvalidPrograms))]
    public void InvalidProgram_IsRefused_AtTheInstruction_WithTheReason(BpfInstruction[] program, int index, string reason)
    {
        BpfVerificationResult result = BpfVerifier.Verify(program);
        Assert.False(result.IsValid);
        Assert.Equal(index, result.InstructionIndex);
        Assert.Contains(reason, result.Reason);
        if (index >= 0)
        {
            Assert.StartsWith($"instruction {index}: ", result.Reason);
        }
        Assert.False(BpfProgram.TryCreate(program, out BpfProgram? none, out _));
        Assert.Null(none);
        ArgumentException e = Assert.Throws<ArgumentException>(() => BpfProgram.Create(program));
        Assert.Contains(reason, e.Message);
    }

    public static IEnumerable<object[]> ValidPrograms()
    {
        yield return [new[] { S(Ret | K, 0) }];
        yield return [Enumerable.Repeat(s_retA, BpfVerifier.MaxInstructions).ToArray()];
        // division by X is allowed (X = 0 at run time returns 0), as are shifts by X
        yield return [new[] { S(Ldx | Imm, 0), S(Ld | Imm, 5), S(Alu | Div | X), S(Alu | Lsh | X), s_retA }];
        // M[3] written on both branches before the read
        yield return [new[] { S(Ld | B | Abs, 0), J(Jmp | Jeq | K, 1, 0, 2), S(St, 3), S(Jmp | Ja, 1), S(Stx, 3), S(Ldx | Mem, 3), s_retA }];
        yield return [new[] { S(Alu | Rsh | K, 31), S(Ld | B | Abs, BpfVerifier.FirstSpecialOffset - 1), J(Jmp | Jset | X, 0, 1, 0), s_retA, S(Ret | K, 1) }];
    }

    [Theory]
    [MemberData(nameof(ValidPrograms))]
    public void ValidProgram_IsAccepted(BpfInstruction[] program)
    {
        BpfVerificationResult result = BpfVerifier.Verify(program);
        Assert.True(result.IsValid, result.Reason);
        Assert.Equal(-1, result.InstructionIndex);
        Assert.Equal(program, BpfProgram.Create(program).Instructions.ToArray());
    }

    [Fact]
    public void EveryOpcodeTheKernelAccepts_IsKnown_AndNoOther()
    {
        // The kernel's bpf_check_classic table, written out by class.
        int[] kernel =
        [
            0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0x64, 0x6c, 0x74, 0x7c, 0x84, 0x94, 0x9c, 0xa4, 0xac,
            0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x80, 0x00, 0x60,
            0x81, 0xb1, 0x01, 0x61,
            0x02, 0x03,
            0x07, 0x87,
            0x06, 0x16,
            0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d,
        ];
        for (int code = 0; code <= ushort.MaxValue; code++)
        {
            Assert.True(BpfVerifier.IsKnownOpcode((ushort)code) == kernel.Contains(code), $"opcode 0x{code:x4}");
        }
    }
}
