using System.Globalization;
using System.Text;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Bpf;

/// <summary>Prints instructions as <c>tcpdump -d</c> (libpcap's <c>bpf_image</c>) does.</summary>
internal static class BpfDisassembler
{
    /// <summary>The whole program, one <c>(NNN) op operand</c> line per instruction, each ending in a newline.</summary>
    public static string Format(ReadOnlySpan<BpfInstruction> program)
    {
        StringBuilder text = new(program.Length * 32);
        for (int i = 0; i < program.Length; i++)
        {
            text.Append(Line(program[i], i)).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>One line as bpf_image prints instruction <paramref name="index"/>: jump targets are absolute.</summary>
    public static string Line(BpfInstruction ins, int index)
    {
        (string op, string operand) = Parts(ins, index);
        bool conditional = ClassOf(ins.Code) == Jmp && (ins.Code & 0xf0) != Ja;
        return conditional
            ? string.Create(CultureInfo.InvariantCulture, $"({index:D3}) {op,-8} {operand,-16} jt {index + 1 + ins.Jt}\tjf {index + 1 + ins.Jf}")
            : string.Create(CultureInfo.InvariantCulture, $"({index:D3}) {op,-8} {operand}");
    }

    /// <summary>The operation and operand alone, e.g. <c>ldh [12]</c>, for error messages.</summary>
    public static string Mnemonic(BpfInstruction ins)
    {
        (string op, string operand) = Parts(ins, 0);
        return operand.Length == 0 || ins.Code == (Jmp | Ja) ? op : $"{op} {operand}";
    }

    private static (string Op, string Operand) Parts(BpfInstruction ins, int index)
    {
        int k = unchecked((int)ins.K);
        string hex = string.Create(CultureInfo.InvariantCulture, $"#0x{ins.K:x}");
        string dec = string.Create(CultureInfo.InvariantCulture, $"#{k}");
        string mem = string.Create(CultureInfo.InvariantCulture, $"M[{k}]");
        return ins.Code switch
        {
            Ret | K => ("ret", dec),
            Ret | A => ("ret", ""),
            Ld | W | Abs => ("ld", Invariant($"[{k}]")),
            Ld | H | Abs => ("ldh", Invariant($"[{k}]")),
            Ld | B | Abs => ("ldb", Invariant($"[{k}]")),
            Ld | W | Len => ("ld", "#pktlen"),
            Ld | W | Ind => ("ld", Invariant($"[x + {k}]")),
            Ld | H | Ind => ("ldh", Invariant($"[x + {k}]")),
            Ld | B | Ind => ("ldb", Invariant($"[x + {k}]")),
            Ld | Imm => ("ld", hex),
            Ldx | Imm => ("ldx", hex),
            Ldx | W | Len => ("ldx", "#pktlen"),
            Ldx | B | Msh => ("ldxb", Invariant($"4*([{k}]&0xf)")),
            Ld | Mem => ("ld", mem),
            Ldx | Mem => ("ldx", mem),
            St => ("st", mem),
            Stx => ("stx", mem),
            Jmp | Ja => ("ja", Invariant($"{index + 1 + k}")),
            Jmp | Jgt | K => ("jgt", hex),
            Jmp | Jge | K => ("jge", hex),
            Jmp | Jeq | K => ("jeq", hex),
            Jmp | Jset | K => ("jset", hex),
            Jmp | Jgt | X => ("jgt", "x"),
            Jmp | Jge | X => ("jge", "x"),
            Jmp | Jeq | X => ("jeq", "x"),
            Jmp | Jset | X => ("jset", "x"),
            Alu | Add | X => ("add", "x"),
            Alu | Sub | X => ("sub", "x"),
            Alu | Mul | X => ("mul", "x"),
            Alu | Div | X => ("div", "x"),
            Alu | Mod | X => ("mod", "x"),
            Alu | And | X => ("and", "x"),
            Alu | Or | X => ("or", "x"),
            Alu | Xor | X => ("xor", "x"),
            Alu | Lsh | X => ("lsh", "x"),
            Alu | Rsh | X => ("rsh", "x"),
            Alu | Add | K => ("add", dec),
            Alu | Sub | K => ("sub", dec),
            Alu | Mul | K => ("mul", dec),
            Alu | Div | K => ("div", dec),
            Alu | Mod | K => ("mod", dec),
            Alu | And | K => ("and", hex),
            Alu | Or | K => ("or", hex),
            Alu | Xor | K => ("xor", hex),
            Alu | Lsh | K => ("lsh", dec),
            Alu | Rsh | K => ("rsh", dec),
            Alu | Neg => ("neg", ""),
            Misc | Tax => ("tax", ""),
            Misc | Txa => ("txa", ""),
            _ => ("unimp", Invariant($"0x{ins.Code:x}")),
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
