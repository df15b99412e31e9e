using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// A verified classic BPF program: an immutable array of <see cref="BpfInstruction"/> that
/// <see cref="BpfVerifier"/> accepted, so <see cref="BpfInterpreter"/> and <see cref="BpfJit"/> can run it without
/// further checks. Make one with <see cref="Create"/> (your own instructions) or <see cref="PcapCompiler.Compile(string, int)"/>
/// (a tcpdump expression). Immutable and thread-safe.
/// </summary>
public sealed class BpfProgram
{
    private readonly BpfInstruction[] _instructions;

    private BpfProgram(BpfInstruction[] instructions)
    {
        _instructions = instructions;
        foreach (BpfInstruction ins in instructions)
        {
            if (ins.Code is (BpfCode.Ld | BpfCode.Mem) or (BpfCode.Ldx | BpfCode.Mem) or BpfCode.St or BpfCode.Stx)
            {
                UsesScratchMemory = true;
            }
        }
    }

    /// <summary>The instructions, in order.</summary>
    public ImmutableArray<BpfInstruction> Instructions => ImmutableCollectionsMarshal.AsImmutableArray(_instructions);

    /// <summary>The number of instructions (1 to 4096).</summary>
    public int Length => _instructions.Length;

    /// <summary>True when the program reads or writes scratch memory M[].</summary>
    internal bool UsesScratchMemory { get; }

    /// <summary>The instructions as a span, for the runners.</summary>
    internal ReadOnlySpan<BpfInstruction> Span => _instructions;

    /// <summary>
    /// Copies and verifies <paramref name="instructions"/>. Throws <see cref="ArgumentException"/> with the
    /// verifier's reason (the instruction index and what is wrong) when they do not form a valid program.
    /// </summary>
    public static BpfProgram Create(ReadOnlySpan<BpfInstruction> instructions)
    {
        if (!TryCreate(instructions, out BpfProgram? program, out BpfVerificationResult result))
        {
            throw new ArgumentException($"The classic BPF program is not valid: {result.Reason} Fix the program (BpfVerifier.Verify says what it accepts).", nameof(instructions));
        }
        return program;
    }

    /// <summary>Copies and verifies <paramref name="instructions"/>; false, with the reason in <paramref name="result"/>, when they are not valid. Never throws.</summary>
    public static bool TryCreate(ReadOnlySpan<BpfInstruction> instructions, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BpfProgram? program, out BpfVerificationResult result)
    {
        result = BpfVerifier.Verify(instructions);
        program = result.IsValid ? new BpfProgram(instructions.ToArray()) : null;
        return result.IsValid;
    }

    /// <summary>The program as <c>tcpdump -d</c> prints it: one <c>(NNN) op operand</c> line per instruction.</summary>
    public override string ToString() => BpfDisassembler.Format(_instructions);
}
