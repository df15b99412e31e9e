namespace Skiff.Drivers.Linux;

/// <summary>
/// Builds an eBPF program as a list of <see cref="BpfInstruction"/>s with forward and backward labels:
/// a jump names a label, and <see cref="Build"/> replaces it with the distance in instructions
/// (from the instruction after the jump, as the kernel counts). Not thread-safe; used once at setup.
/// </summary>
internal sealed class BpfAssembler
{
    private readonly List<BpfInstruction> _instructions = [];
    private readonly List<int> _labelTargets = [];
    private readonly List<(int Instruction, int Label)> _fixups = [];

    /// <summary>Instructions emitted so far (a 64-bit immediate load counts as two).</summary>
    public int Count => _instructions.Count;

    /// <summary>A new label, not yet placed.</summary>
    public int DefineLabel()
    {
        _labelTargets.Add(-1);
        return _labelTargets.Count - 1;
    }

    /// <summary>Places <paramref name="label"/> at the next instruction. A label is placed once.</summary>
    public void Mark(int label)
    {
        if (_labelTargets[label] >= 0)
        {
            throw new InvalidOperationException($"Label {label} is already placed.");
        }
        _labelTargets[label] = _instructions.Count;
    }

    public void Emit(BpfInstruction instruction) => _instructions.Add(instruction);

    public void Emit((BpfInstruction First, BpfInstruction Second) wide)
    {
        _instructions.Add(wide.First);
        _instructions.Add(wide.Second);
    }

    /// <summary>Emits a jump (any BPF_JMP or BPF_JMP32 instruction; its offset is ignored) whose target is <paramref name="label"/>.</summary>
    public void EmitJump(BpfInstruction jump, int label)
    {
        _fixups.Add((_instructions.Count, label));
        _instructions.Add(jump);
    }

    /// <summary>Resolves every jump and returns the program. Throws if a label was never placed or a jump is out of range.</summary>
    public BpfInstruction[] Build()
    {
        BpfInstruction[] program = [.. _instructions];
        foreach ((int at, int label) in _fixups)
        {
            int target = _labelTargets[label];
            if (target < 0)
            {
                throw new InvalidOperationException($"Label {label} is used by instruction {at} but never placed.");
            }
            int distance = target - (at + 1);
            if (distance is < short.MinValue or > short.MaxValue)
            {
                throw new InvalidOperationException($"Jump at {at} to {target} is out of range.");
            }
            program[at] = program[at].WithOffset((short)distance);
        }
        return program;
    }
}
