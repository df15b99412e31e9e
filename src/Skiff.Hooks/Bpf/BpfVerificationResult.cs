namespace Skiff.Hooks.Bpf;

/// <summary>What <see cref="BpfVerifier.Verify"/> found: valid, or the first problem and where it is.</summary>
public readonly struct BpfVerificationResult
{
    private BpfVerificationResult(bool isValid, int instructionIndex, string reason)
    {
        IsValid = isValid;
        InstructionIndex = instructionIndex;
        Reason = reason;
    }

    /// <summary>A result for a program that passed every check.</summary>
    public static BpfVerificationResult Valid { get; } = new(true, -1, "valid");

    /// <summary>True when the program may be run by <see cref="BpfInterpreter"/> and compiled by <see cref="BpfJit"/>.</summary>
    public bool IsValid { get; }

    /// <summary>The index of the offending instruction, or -1 when the problem is the program as a whole (its length) or there is none.</summary>
    public int InstructionIndex { get; }

    /// <summary>"valid", or a sentence naming the instruction and what is wrong with it.</summary>
    public string Reason { get; }

    /// <summary>A refusal at <paramref name="index"/> (-1: the whole program).</summary>
    public static BpfVerificationResult Invalid(int index, string reason) =>
        new(false, index, index >= 0 ? $"instruction {index}: {reason}" : reason);

    /// <summary>The same as <see cref="Reason"/>: "valid", or what is wrong and where.</summary>
    public override string ToString() => Reason;
}
