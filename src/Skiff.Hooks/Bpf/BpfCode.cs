namespace Skiff.Hooks.Bpf;

/// <summary>
/// The parts of a classic BPF opcode (linux/filter.h, pcap/bpf.h): class, size, mode, operation and source. An
/// instruction's <see cref="BpfInstruction.Code"/> is their bitwise or, e.g. <c>Ld | H | Abs</c> = <c>ldh [k]</c>.
/// </summary>
public static class BpfCode
{
    // Classes: the low three bits.
    /// <summary>Class BPF_LD: load into the accumulator A, from the packet, a constant, scratch memory or the length.</summary>
    public const ushort Ld = 0x00;
    /// <summary>Class BPF_LDX: load into the index register X (a constant, scratch memory, the length, or <see cref="Msh"/>).</summary>
    public const ushort Ldx = 0x01;
    /// <summary>Class BPF_ST: store A into scratch word M[k].</summary>
    public const ushort St = 0x02;
    /// <summary>Class BPF_STX: store X into scratch word M[k].</summary>
    public const ushort Stx = 0x03;
    /// <summary>Class BPF_ALU: 32-bit unsigned arithmetic on A with k or X as the operand; the operation comes from <see cref="Add"/> ... <see cref="Xor"/>.</summary>
    public const ushort Alu = 0x04;
    /// <summary>Class BPF_JMP: compare A with k or X and skip <see cref="BpfInstruction.Jt"/> or <see cref="BpfInstruction.Jf"/> instructions; forward only, so every program ends.</summary>
    public const ushort Jmp = 0x05;
    /// <summary>Class BPF_RET: end the program returning k or A: the bytes of the frame to keep, 0 to reject it.</summary>
    public const ushort Ret = 0x06;
    /// <summary>Class BPF_MISC: register transfers (<see cref="Tax"/>, <see cref="Txa"/>).</summary>
    public const ushort Misc = 0x07;

    // Load sizes.
    /// <summary>Size BPF_W: a 32-bit word, read big-endian from the packet.</summary>
    public const ushort W = 0x00;
    /// <summary>Size BPF_H: a 16-bit half-word, read big-endian from the packet.</summary>
    public const ushort H = 0x08;
    /// <summary>Size BPF_B: one byte.</summary>
    public const ushort B = 0x10;

    // Load modes.
    /// <summary>Mode BPF_IMM: the constant k itself.</summary>
    public const ushort Imm = 0x00;
    /// <summary>Mode BPF_ABS: the packet at offset k; reading past the captured bytes ends the program with 0 (reject).</summary>
    public const ushort Abs = 0x20;
    /// <summary>Mode BPF_IND: the packet at offset X + k; reading past the captured bytes ends the program with 0 (reject).</summary>
    public const ushort Ind = 0x40;
    /// <summary>Mode BPF_MEM: scratch word M[k], k below <see cref="MemoryWords"/>.</summary>
    public const ushort Mem = 0x60;
    /// <summary>Mode BPF_LEN: the frame's length on the wire, which may exceed the bytes captured.</summary>
    public const ushort Len = 0x80;
    /// <summary>Mode BPF_MSH, <see cref="Ldx"/> with <see cref="B"/> only: X = 4 × (packet[k] &amp; 0xf), the IPv4 header length at k.</summary>
    public const ushort Msh = 0xa0;

    // ALU operations.
    /// <summary>BPF_ADD: A = A + operand, wrapping at 2^32.</summary>
    public const ushort Add = 0x00;
    /// <summary>BPF_SUB: A = A - operand, wrapping at 2^32.</summary>
    public const ushort Sub = 0x10;
    /// <summary>BPF_MUL: A = A × operand, wrapping at 2^32.</summary>
    public const ushort Mul = 0x20;
    /// <summary>BPF_DIV: A = A / operand, unsigned; the verifier refuses k = 0, and X = 0 ends the program with 0 (reject), as in Linux.</summary>
    public const ushort Div = 0x30;
    /// <summary>BPF_OR: A = A | operand.</summary>
    public const ushort Or = 0x40;
    /// <summary>BPF_AND: A = A &amp; operand.</summary>
    public const ushort And = 0x50;
    /// <summary>BPF_LSH: A = A &lt;&lt; operand; a shift by X of 32 or more gives 0.</summary>
    public const ushort Lsh = 0x60;
    /// <summary>BPF_RSH: A = A &gt;&gt; operand (logical); a shift by X of 32 or more gives 0.</summary>
    public const ushort Rsh = 0x70;
    /// <summary>BPF_NEG: A = -A (two's complement); takes no operand.</summary>
    public const ushort Neg = 0x80;
    /// <summary>BPF_MOD (a Linux extension libpcap emits): A = A % operand, unsigned; the verifier refuses k = 0, and X = 0 ends the program with 0.</summary>
    public const ushort Mod = 0x90;
    /// <summary>BPF_XOR (a Linux extension libpcap emits): A = A ^ operand.</summary>
    public const ushort Xor = 0xa0;

    // Jump operations.
    /// <summary>BPF_JA: jump unconditionally over k instructions.</summary>
    public const ushort Ja = 0x00;
    /// <summary>BPF_JEQ: jump by Jt if A == operand, else by Jf.</summary>
    public const ushort Jeq = 0x10;
    /// <summary>BPF_JGT: jump by Jt if A &gt; operand (unsigned), else by Jf.</summary>
    public const ushort Jgt = 0x20;
    /// <summary>BPF_JGE: jump by Jt if A &gt;= operand (unsigned), else by Jf.</summary>
    public const ushort Jge = 0x30;
    /// <summary>BPF_JSET: jump by Jt if A &amp; operand is non-zero, else by Jf.</summary>
    public const ushort Jset = 0x40;

    // Operand source of ALU and jumps: the constant k or the index register X.
    /// <summary>Source BPF_K: the operand is the instruction's constant k.</summary>
    public const ushort K = 0x00;
    /// <summary>Source BPF_X: the operand is the index register X.</summary>
    public const ushort X = 0x08;

    // Return value source: k (BPF_K) or the accumulator (BPF_A).
    /// <summary>Return source BPF_A: <see cref="Ret"/> returns the accumulator instead of k.</summary>
    public const ushort A = 0x10;

    // Misc operations.
    /// <summary>BPF_TAX: X = A.</summary>
    public const ushort Tax = 0x00;
    /// <summary>BPF_TXA: A = X.</summary>
    public const ushort Txa = 0x80;

    /// <summary>Scratch memory words M[0..15] (BPF_MEMWORDS).</summary>
    public const int MemoryWords = 16;

    /// <summary>The class of <paramref name="code"/> (<see cref="Ld"/> ... <see cref="Misc"/>).</summary>
    public static int ClassOf(ushort code) => code & 0x07;
}
