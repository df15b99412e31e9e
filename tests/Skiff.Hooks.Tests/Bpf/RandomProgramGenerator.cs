using Skiff.Hooks.Bpf;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// Builds random classic BPF programs the verifier accepts: loads of every width and mode (offsets near the
/// frame sizes and past them, X + k wrapping), every ALU operation with k or X (division and modulo by an X that
/// may be zero, shifts by X of 32 and more), conditional and unconditional forward jumps, scratch stores and
/// loads (a load only of a word written on every path, tracked as the kernel's verifier does), returns of A or k.
/// Seeded: the same seed gives the same programs.
/// </summary>
internal sealed class RandomProgramGenerator(int seed)
{
    private static readonly uint[] s_interesting = [0, 1, 2, 3, 4, 5, 7, 8, 12, 14, 15, 16, 20, 23, 31, 32, 33, 63, 64, 255, 256, 0x800, 0x86dd, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
    private static readonly ushort[] s_aluOperations = [Add, Sub, Mul, Div, Mod, And, Or, Xor, Lsh, Rsh];
    private static readonly ushort[] s_jumpOperations = [Jeq, Jgt, Jge, Jset];
    private readonly Random _random = new(seed);

    /// <summary>A program of 1 to <paramref name="maxLength"/> instructions that <see cref="BpfVerifier"/> accepts.</summary>
    public BpfInstruction[] NextProgram(int maxLength = 48)
    {
        int length = _random.Next(1, maxLength + 1);
        BpfInstruction[] program = new BpfInstruction[length];
        // Scratch words written on every path reaching each instruction (all ones until a jump narrows it).
        ushort[] reaching = new ushort[length];
        Array.Fill(reaching, ushort.MaxValue);
        ushort written = 0;
        for (int pc = 0; pc < length - 1; pc++)
        {
            written &= reaching[pc];
            BpfInstruction ins = NextInstruction(pc, length, written);
            program[pc] = ins;
            switch (ClassOf(ins.Code))
            {
                case St or Stx:
                    written |= (ushort)(1 << (int)ins.K);
                    break;
                case Jmp when ins.Code == (Jmp | Ja):
                    reaching[pc + 1 + (int)ins.K] &= written;
                    written = ushort.MaxValue;
                    break;
                case Jmp:
                    reaching[pc + 1 + ins.Jt] &= written;
                    reaching[pc + 1 + ins.Jf] &= written;
                    written = ushort.MaxValue;
                    break;
                default:
                    break;
            }
        }
        program[^1] = _random.Next(3) == 0 ? BpfInstruction.Statement(Ret | K, Constant()) : BpfInstruction.Statement(Ret | A);
        return program;
    }

    /// <summary>A frame of 0 to about 130 bytes (sometimes one of <paramref name="realFrames"/>, cut short) and a wire length at least as long.</summary>
    public (byte[] Bytes, int WireLength) NextFrame(IReadOnlyList<TestData.Frame> realFrames)
    {
        byte[] bytes;
        if (realFrames.Count > 0 && _random.Next(4) == 0)
        {
            TestData.Frame real = realFrames[_random.Next(realFrames.Count)];
            bytes = real.Bytes[.._random.Next(real.Bytes.Length + 1)];
        }
        else
        {
            bytes = new byte[_random.Next(4) == 0 ? _random.Next(130) : _random.Next(64)];
            if (_random.Next(3) == 0)
            {
                for (int i = 0; i < bytes.Length; i += 1 + _random.Next(8))
                {
                    bytes[i] = (byte)_random.Next(256);
                }
            }
            else
            {
                _random.NextBytes(bytes);
            }
        }
        int wire = _random.Next(2) == 0 ? bytes.Length : bytes.Length + _random.Next(3000);
        return (bytes, wire);
    }

    private BpfInstruction NextInstruction(int pc, int length, ushort written)
    {
        int remaining = length - pc - 2; // the largest forward offset that still lands inside the program
        int roll = _random.Next(100);
        if (roll < 28)
        {
            return NextLoad(written);
        }
        if (roll < 52)
        {
            return NextArithmetic();
        }
        if (roll < 60)
        {
            return BpfInstruction.Statement(_random.Next(2) == 0 ? St : Stx, (uint)_random.Next(MemoryWords));
        }
        if (roll < 65)
        {
            return BpfInstruction.Statement(_random.Next(2) == 0 ? (ushort)(Misc | Tax) : (ushort)(Misc | Txa));
        }
        if (roll < 90 && remaining >= 0)
        {
            ushort operation = s_jumpOperations[_random.Next(s_jumpOperations.Length)];
            ushort source = _random.Next(3) == 0 ? X : K;
            int limit = Math.Min(remaining, 255);
            return BpfInstruction.Jump((ushort)(Jmp | operation | source), Constant(), (byte)_random.Next(limit + 1), (byte)_random.Next(limit + 1));
        }
        if (roll < 94 && remaining >= 0)
        {
            return BpfInstruction.Statement(Jmp | Ja, (uint)_random.Next(Math.Min(remaining, 40) + 1));
        }
        return _random.Next(2) == 0 ? BpfInstruction.Statement(Ret | A) : BpfInstruction.Statement(Ret | K, Constant());
    }

    private BpfInstruction NextLoad(ushort written)
    {
        ushort size = _random.Next(3) switch { 0 => W, 1 => H, _ => B };
        switch (_random.Next(10))
        {
            case 0 or 1 or 2:
                return BpfInstruction.Statement((ushort)(Ld | size | Abs), Offset());
            case 3 or 4:
                return BpfInstruction.Statement((ushort)(Ld | size | Ind), _random.Next(8) == 0 ? Math.Min(Constant(), BpfVerifier.FirstSpecialOffset - 1) : (uint)_random.Next(80));
            case 5:
                return BpfInstruction.Statement(Ldx | B | Msh, Offset());
            case 6:
                return BpfInstruction.Statement(_random.Next(2) == 0 ? (ushort)(Ld | W | Len) : (ushort)(Ldx | W | Len));
            case 7:
                return BpfInstruction.Statement(_random.Next(2) == 0 ? (ushort)(Ld | Imm) : (ushort)(Ldx | Imm), Constant());
            default:
                if (written == 0)
                {
                    return BpfInstruction.Statement(Ldx | Imm, (uint)_random.Next(40)); // nothing written yet: a small X for indirect loads
                }
                int word;
                do
                {
                    word = _random.Next(MemoryWords);
                }
                while ((written & (1 << word)) == 0);
                return BpfInstruction.Statement(_random.Next(2) == 0 ? (ushort)(Ld | Mem) : (ushort)(Ldx | Mem), (uint)word);
        }
    }

    private BpfInstruction NextArithmetic()
    {
        if (_random.Next(20) == 0)
        {
            return BpfInstruction.Statement(Alu | Neg);
        }
        ushort operation = s_aluOperations[_random.Next(s_aluOperations.Length)];
        if (_random.Next(3) == 0)
        {
            return BpfInstruction.Statement((ushort)(Alu | operation | X));
        }
        uint k = operation switch
        {
            Lsh or Rsh => (uint)_random.Next(32),
            Div or Mod => Math.Max(1, Constant()),
            _ => Constant(),
        };
        return BpfInstruction.Statement((ushort)(Alu | operation | K), k);
    }

    /// <summary>A packet offset: mostly inside or just past small frames, sometimes anywhere below the special offsets.</summary>
    private uint Offset() => _random.Next(10) switch
    {
        0 => (uint)_random.NextInt64(0, BpfVerifier.FirstSpecialOffset),
        1 => BpfVerifier.FirstSpecialOffset - (uint)_random.Next(1, 8),
        _ => (uint)_random.Next(140),
    };

    private uint Constant() => _random.Next(3) switch
    {
        0 => s_interesting[_random.Next(s_interesting.Length)],
        1 => (uint)_random.Next(256),
        _ => (uint)_random.NextInt64(0, 1L << 32),
    };
}
