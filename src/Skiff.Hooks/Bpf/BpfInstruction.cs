using System.Runtime.InteropServices;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// One classic BPF instruction, laid out as <c>struct bpf_insn</c> / <c>struct sock_filter</c> (8 bytes): the
/// opcode, the jump offsets if true and if false (relative to the next instruction), and the constant k.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 8)]
public readonly struct BpfInstruction : IEquatable<BpfInstruction>
{
    /// <summary>Creates an instruction; nothing is checked here (see <see cref="BpfVerifier"/>).</summary>
    public BpfInstruction(ushort code, byte jt, byte jf, uint k)
    {
        Code = code;
        Jt = jt;
        Jf = jf;
        K = k;
    }

    /// <summary>The opcode: class, size/mode or operation, and source, or-ed together (<see cref="BpfCode"/>).</summary>
    [field: FieldOffset(0)]
    public ushort Code { get; }

    /// <summary>For a conditional jump, how many instructions to skip after this one when the condition holds.</summary>
    [field: FieldOffset(2)]
    public byte Jt { get; }

    /// <summary>For a conditional jump, how many instructions to skip after this one when it does not.</summary>
    [field: FieldOffset(3)]
    public byte Jf { get; }

    /// <summary>The constant operand: an offset, an immediate, a scratch index, a jump length or a return value.</summary>
    [field: FieldOffset(4)]
    public uint K { get; }

    /// <summary>A statement (no jump offsets), as <c>BPF_STMT(code, k)</c>.</summary>
    public static BpfInstruction Statement(ushort code, uint k = 0) => new(code, 0, 0, k);

    /// <summary>A conditional jump, as <c>BPF_JUMP(code, k, jt, jf)</c>.</summary>
    public static BpfInstruction Jump(ushort code, uint k, byte jt, byte jf) => new(code, jt, jf, k);

    /// <summary>True when the opcode, both jump offsets and k are equal.</summary>
    public bool Equals(BpfInstruction other) => Code == other.Code && Jt == other.Jt && Jf == other.Jf && K == other.K;

    /// <summary>True when <paramref name="obj"/> is a <see cref="BpfInstruction"/> with the same opcode, jump offsets and k.</summary>
    public override bool Equals(object? obj) => obj is BpfInstruction other && Equals(other);

    /// <summary>A hash of the four fields, consistent with <see cref="Equals(BpfInstruction)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(Code, Jt, Jf, K);

    /// <summary>True when the opcode, both jump offsets and k are equal.</summary>
    public static bool operator ==(BpfInstruction left, BpfInstruction right) => left.Equals(right);

    /// <summary>True when any of the opcode, the jump offsets or k differ.</summary>
    public static bool operator !=(BpfInstruction left, BpfInstruction right) => !left.Equals(right);

    /// <summary>The instruction as <c>tcpdump -dd</c> prints it: <c>{ 0x28, 0, 0, 0x0000000c }</c>.</summary>
    public override string ToString() => $"{{ 0x{Code:x2}, {Jt}, {Jf}, 0x{K:x8} }}";
}
