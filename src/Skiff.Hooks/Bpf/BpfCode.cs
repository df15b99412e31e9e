namespace Skiff.Hooks.Bpf;

/// <summary>
/// The parts of a classic BPF opcode (linux/filter.h, pcap/bpf.h): class, size, mode, operation and source. An
/// instruction's <see cref="BpfInstruction.Code"/> is their bitwise or, e.g. <c>Ld | H | Abs</c> = <c>ldh [k]</c>.
/// </summary>
public static class BpfCode
{
    // Classes: the low three bits.
    public const ushort Ld = 0x00;
    public const ushort Ldx = 0x01;
    public const ushort St = 0x02;
    public const ushort Stx = 0x03;
    public const ushort Alu = 0x04;
    public const ushort Jmp = 0x05;
    public const ushort Ret = 0x06;
    public const ushort Misc = 0x07;

    // Load sizes.
    public const ushort W = 0x00;
    public const ushort H = 0x08;
    public const ushort B = 0x10;

    // Load modes.
    public const ushort Imm = 0x00;
    public const ushort Abs = 0x20;
    public const ushort Ind = 0x40;
    public const ushort Mem = 0x60;
    public const ushort Len = 0x80;
    public const ushort Msh = 0xa0;

    // ALU operations.
    public const ushort Add = 0x00;
    public const ushort Sub = 0x10;
    public const ushort Mul = 0x20;
    public const ushort Div = 0x30;
    public const ushort Or = 0x40;
    public const ushort And = 0x50;
    public const ushort Lsh = 0x60;
    public const ushort Rsh = 0x70;
    public const ushort Neg = 0x80;
    public const ushort Mod = 0x90;
    public const ushort Xor = 0xa0;

    // Jump operations.
    public const ushort Ja = 0x00;
    public const ushort Jeq = 0x10;
    public const ushort Jgt = 0x20;
    public const ushort Jge = 0x30;
    public const ushort Jset = 0x40;

    // Operand source of ALU and jumps: the constant k or the index register X.
    public const ushort K = 0x00;
    public const ushort X = 0x08;

    // Return value source: k (BPF_K) or the accumulator (BPF_A).
    public const ushort A = 0x10;

    // Misc operations.
    public const ushort Tax = 0x00;
    public const ushort Txa = 0x80;

    /// <summary>Scratch memory words M[0..15] (BPF_MEMWORDS).</summary>
    public const int MemoryWords = 16;

    /// <summary>The class of <paramref name="code"/> (<see cref="Ld"/> ... <see cref="Misc"/>).</summary>
    public static int ClassOf(ushort code) => code & 0x07;
}
