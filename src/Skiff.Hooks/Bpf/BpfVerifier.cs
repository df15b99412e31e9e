using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// Checks a classic BPF program the way Linux's <c>bpf_check_classic</c> does before it runs one, so that
/// <see cref="BpfInterpreter"/> and <see cref="BpfJit"/> may trust it: 1 to 4096 instructions; only the opcodes
/// the kernel accepts (ld/ldx/st/stx/alu/jmp/ret/misc with the ABS/IND/MSH/LEN/MEM/IMM modes); every jump
/// forward and inside the program; the last instruction a return (so every path ends in one); scratch memory
/// M[0..15] only, and never read on a path that has not written it; no division or modulo by a constant zero
/// and no constant shift of 32 or more. Linux's ancillary and negative-offset loads (k at or above
/// SKF_LL_OFF = 0xffe00000) are refused: Skiff does not implement them, and libpcap emits none for a capture file.
/// </summary>
/// <remarks>Pure and thread-safe; never throws for any input.</remarks>
public static class BpfVerifier
{
    /// <summary>The most instructions a program may have (BPF_MAXINSNS).</summary>
    public const int MaxInstructions = 4096;

    /// <summary>Offsets at and above this (SKF_LL_OFF, -0x200000) select Linux's special loads, which Skiff refuses.</summary>
    public const uint FirstSpecialOffset = 0xffe00000;

    /// <summary>Verifies <paramref name="program"/>; see the class remarks for what is checked.</summary>
    public static BpfVerificationResult Verify(ReadOnlySpan<BpfInstruction> program)
    {
        if (program.Length is < 1 or > MaxInstructions)
        {
            return BpfVerificationResult.Invalid(-1, $"the program has {program.Length} instructions; a classic BPF program has 1 to {MaxInstructions}.");
        }
        for (int pc = 0; pc < program.Length; pc++)
        {
            string? problem = CheckInstruction(program, pc);
            if (problem is not null)
            {
                return BpfVerificationResult.Invalid(pc, problem);
            }
        }
        int last = program.Length - 1;
        if (ClassOf(program[last].Code) != Ret)
        {
            return BpfVerificationResult.Invalid(last, $"the last instruction is '{BpfDisassembler.Mnemonic(program[last])}', not a return; end the program with 'ret' so every path returns.");
        }
        return CheckScratchMemory(program);
    }

    /// <summary>True for the exact opcodes the kernel's classic BPF accepts.</summary>
    public static bool IsKnownOpcode(ushort code) => code switch
    {
        Alu | Add | K or Alu | Add | X or Alu | Sub | K or Alu | Sub | X or Alu | Mul | K or Alu | Mul | X
            or Alu | Div | K or Alu | Div | X or Alu | Mod | K or Alu | Mod | X or Alu | And | K or Alu | And | X
            or Alu | Or | K or Alu | Or | X or Alu | Xor | K or Alu | Xor | X or Alu | Lsh | K or Alu | Lsh | X
            or Alu | Rsh | K or Alu | Rsh | X or Alu | Neg => true,
        Ld | W | Abs or Ld | H | Abs or Ld | B | Abs or Ld | W | Ind or Ld | H | Ind or Ld | B | Ind
            or Ld | W | Len or Ld | Imm or Ld | Mem => true,
        Ldx | W | Len or Ldx | B | Msh or Ldx | Imm or Ldx | Mem => true,
        St or Stx => true,
        Misc | Tax or Misc | Txa => true,
        Ret | K or Ret | A => true,
        Jmp | Ja or Jmp | Jeq | K or Jmp | Jeq | X or Jmp | Jgt | K or Jmp | Jgt | X or Jmp | Jge | K or Jmp | Jge | X
            or Jmp | Jset | K or Jmp | Jset | X => true,
        _ => false,
    };

    private static string? CheckInstruction(ReadOnlySpan<BpfInstruction> program, int pc)
    {
        BpfInstruction ins = program[pc];
        ushort code = ins.Code;
        if (!IsKnownOpcode(code))
        {
            return $"opcode 0x{code:x4} is not a classic BPF instruction the kernel accepts.";
        }
        int remaining = program.Length - pc - 1;
        switch (code)
        {
            case Alu | Div | K or Alu | Mod | K when ins.K == 0:
                return $"'{BpfDisassembler.Mnemonic(ins)} #0' divides by the constant zero.";
            case Alu | Lsh | K or Alu | Rsh | K when ins.K >= 32:
                return $"'{BpfDisassembler.Mnemonic(ins)} #{ins.K}' shifts a 32-bit register by 32 or more.";
            case Ld | Mem or Ldx | Mem or St or Stx when ins.K >= MemoryWords:
                return $"scratch memory M[{ins.K}] is out of range; only M[0] to M[{MemoryWords - 1}] exist.";
            case Ld | W | Abs or Ld | H | Abs or Ld | B | Abs or Ld | W | Ind or Ld | H | Ind or Ld | B | Ind or Ldx | B | Msh
                when ins.K >= FirstSpecialOffset:
                return $"offset 0x{ins.K:x8} selects a Linux ancillary or negative-offset load (SKF_AD_OFF, SKF_NET_OFF, SKF_LL_OFF), which Skiff does not implement.";
            case Jmp | Ja when (int)ins.K < 0:
                return $"'ja' jumps backward by {-(long)(int)ins.K - 1} instructions; classic BPF only jumps forward (libpcap's 'protochain' makes such loops, which the kernel refuses too).";
            case Jmp | Ja when ins.K >= (uint)remaining:
                return $"'ja' jumps {ins.K} past the next instruction, beyond the end of the {program.Length}-instruction program.";
            case Jmp | Jeq | K or Jmp | Jeq | X or Jmp | Jgt | K or Jmp | Jgt | X or Jmp | Jge | K or Jmp | Jge | X
                or Jmp | Jset | K or Jmp | Jset | X when ins.Jt >= remaining || ins.Jf >= remaining:
                string which = ins.Jt >= remaining ? $"its true branch (jt {ins.Jt})" : $"its false branch (jf {ins.Jf})";
                return $"'{BpfDisassembler.Mnemonic(ins)}' jumps with {which} to instruction {pc + 1 + Math.Max(ins.Jt, ins.Jf)}, beyond the end of the {program.Length}-instruction program.";
            default:
                return null;
        }
    }

    /// <summary>
    /// Every read of M[k] must follow a write of M[k] on every path to it (the kernel's check_load_and_stores):
    /// a forward pass keeping, per instruction, the words written on all paths that reach it.
    /// </summary>
    private static BpfVerificationResult CheckScratchMemory(ReadOnlySpan<BpfInstruction> program)
    {
        Span<ushort> reaching = program.Length <= 512 ? stackalloc ushort[program.Length] : new ushort[program.Length];
        reaching.Fill(ushort.MaxValue);
        ushort written = 0;
        for (int pc = 0; pc < program.Length; pc++)
        {
            BpfInstruction ins = program[pc];
            written &= reaching[pc];
            switch (ins.Code)
            {
                case St or Stx:
                    written |= (ushort)(1 << (int)ins.K);
                    break;
                case Ld | Mem or Ldx | Mem:
                    if ((written & (1 << (int)ins.K)) == 0)
                    {
                        return BpfVerificationResult.Invalid(pc, $"'{BpfDisassembler.Mnemonic(ins)}' reads M[{ins.K}] on a path that has not written it; store to M[{ins.K}] first on every path.");
                    }
                    break;
                case Jmp | Ja:
                    reaching[pc + 1 + (int)ins.K] &= written;
                    written = ushort.MaxValue;
                    break;
                case Jmp | Jeq | K or Jmp | Jeq | X or Jmp | Jgt | K or Jmp | Jgt | X or Jmp | Jge | K or Jmp | Jge | X
                    or Jmp | Jset | K or Jmp | Jset | X:
                    reaching[pc + 1 + ins.Jt] &= written;
                    reaching[pc + 1 + ins.Jf] &= written;
                    written = ushort.MaxValue;
                    break;
                default:
                    break;
            }
        }
        return BpfVerificationResult.Valid;
    }
}
