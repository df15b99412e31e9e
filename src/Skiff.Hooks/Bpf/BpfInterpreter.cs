using System.Buffers.Binary;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// Runs a verified classic BPF program over one frame, with the semantics of libpcap's and the kernel's
/// <c>bpf_filter</c>: A and X are 32-bit and start at 0; packet loads are big-endian; a load that reaches past
/// the captured bytes ends the program with 0 (reject); division or modulo by X = 0 returns 0; a shift by X of
/// 32 or more gives 0 (as libpcap); <c>len</c> is the wire length; scratch memory starts at 0.
/// </summary>
/// <remarks>Thread-safe, allocation-free. <see cref="BpfJit"/> gives the same results, faster.</remarks>
public static class BpfInterpreter
{
    /// <summary>
    /// Runs <paramref name="program"/> over the captured bytes <paramref name="packet"/> of a frame that was
    /// <paramref name="wireLength"/> bytes on the wire (normally at least <c>packet.Length</c>); returns what the
    /// program returns: 0 to reject the frame, otherwise how many bytes to keep.
    /// </summary>
    public static uint Run(BpfProgram program, ReadOnlySpan<byte> packet, int wireLength)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentOutOfRangeException.ThrowIfNegative(wireLength);
        ReadOnlySpan<BpfInstruction> code = program.Span;
        Span<uint> memory = program.UsesScratchMemory ? stackalloc uint[MemoryWords] : default;
        uint length = (uint)packet.Length;
        uint a = 0;
        uint x = 0;
        int pc = 0;
        while (true)
        {
            BpfInstruction ins = code[pc++];
            uint k = ins.K;
            switch (ins.Code)
            {
                case Ret | K:
                    return k;
                case Ret | A:
                    return a;
                case Ld | W | Abs:
                    if ((ulong)k + 4 > length)
                    {
                        return 0;
                    }
                    a = BinaryPrimitives.ReadUInt32BigEndian(packet[(int)k..]);
                    break;
                case Ld | H | Abs:
                    if ((ulong)k + 2 > length)
                    {
                        return 0;
                    }
                    a = BinaryPrimitives.ReadUInt16BigEndian(packet[(int)k..]);
                    break;
                case Ld | B | Abs:
                    if (k >= length)
                    {
                        return 0;
                    }
                    a = packet[(int)k];
                    break;
                case Ld | W | Ind:
                    if ((ulong)x + k + 4 > length)
                    {
                        return 0;
                    }
                    a = BinaryPrimitives.ReadUInt32BigEndian(packet[(int)(x + k)..]);
                    break;
                case Ld | H | Ind:
                    if ((ulong)x + k + 2 > length)
                    {
                        return 0;
                    }
                    a = BinaryPrimitives.ReadUInt16BigEndian(packet[(int)(x + k)..]);
                    break;
                case Ld | B | Ind:
                    if ((ulong)x + k + 1 > length)
                    {
                        return 0;
                    }
                    a = packet[(int)(x + k)];
                    break;
                case Ldx | B | Msh:
                    if (k >= length)
                    {
                        return 0;
                    }
                    x = (uint)(packet[(int)k] & 0xf) << 2;
                    break;
                case Ld | W | Len:
                    a = (uint)wireLength;
                    break;
                case Ldx | W | Len:
                    x = (uint)wireLength;
                    break;
                case Ld | Imm:
                    a = k;
                    break;
                case Ldx | Imm:
                    x = k;
                    break;
                case Ld | Mem:
                    a = memory[(int)k];
                    break;
                case Ldx | Mem:
                    x = memory[(int)k];
                    break;
                case St:
                    memory[(int)k] = a;
                    break;
                case Stx:
                    memory[(int)k] = x;
                    break;
                case Jmp | Ja:
                    pc += (int)k;
                    break;
                case Jmp | Jgt | K:
                    pc += a > k ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jge | K:
                    pc += a >= k ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jeq | K:
                    pc += a == k ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jset | K:
                    pc += (a & k) != 0 ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jgt | X:
                    pc += a > x ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jge | X:
                    pc += a >= x ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jeq | X:
                    pc += a == x ? ins.Jt : ins.Jf;
                    break;
                case Jmp | Jset | X:
                    pc += (a & x) != 0 ? ins.Jt : ins.Jf;
                    break;
                case Alu | Add | X:
                    a += x;
                    break;
                case Alu | Sub | X:
                    a -= x;
                    break;
                case Alu | Mul | X:
                    a *= x;
                    break;
                case Alu | Div | X:
                    if (x == 0)
                    {
                        return 0;
                    }
                    a /= x;
                    break;
                case Alu | Mod | X:
                    if (x == 0)
                    {
                        return 0;
                    }
                    a %= x;
                    break;
                case Alu | And | X:
                    a &= x;
                    break;
                case Alu | Or | X:
                    a |= x;
                    break;
                case Alu | Xor | X:
                    a ^= x;
                    break;
                case Alu | Lsh | X:
                    a = x < 32 ? a << (int)x : 0;
                    break;
                case Alu | Rsh | X:
                    a = x < 32 ? a >> (int)x : 0;
                    break;
                case Alu | Add | K:
                    a += k;
                    break;
                case Alu | Sub | K:
                    a -= k;
                    break;
                case Alu | Mul | K:
                    a *= k;
                    break;
                case Alu | Div | K:
                    a /= k;
                    break;
                case Alu | Mod | K:
                    a %= k;
                    break;
                case Alu | And | K:
                    a &= k;
                    break;
                case Alu | Or | K:
                    a |= k;
                    break;
                case Alu | Xor | K:
                    a ^= k;
                    break;
                case Alu | Lsh | K:
                    a <<= (int)k;
                    break;
                case Alu | Rsh | K:
                    a >>= (int)k;
                    break;
                case Alu | Neg:
                    a = unchecked((uint)-(int)a);
                    break;
                case Misc | Tax:
                    x = a;
                    break;
                case Misc | Txa:
                    a = x;
                    break;
                default:
                    // Unreachable for a verified program; reject rather than guess.
                    return 0;
            }
        }
    }
}
