using System.Buffers.Binary;
using System.Reflection;
using System.Reflection.Emit;
using static Skiff.Hooks.Bpf.BpfCode;

namespace Skiff.Hooks.Bpf;

/// <summary>
/// Compiles a verified classic BPF program to IL with <see cref="DynamicMethod"/>, which the .NET JIT turns into
/// native code: A, X and the used scratch words are locals, jumps are IL branches, each packet load is a bounds
/// check against the captured length followed by an unaligned big-endian read. The result gives the same value
/// as <see cref="BpfInterpreter"/> for every frame.
/// </summary>
/// <remarks>Thread-safe. Each compilation costs a DynamicMethod (collectible) and its JIT time, about a
/// millisecond at most: compile once per filter, not per frame.</remarks>
public static class BpfJit
{
    private static readonly MethodInfo s_reverse32 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(uint)])!;
    private static readonly object s_target = new();
    private static readonly MethodInfo s_reverse16 = typeof(BinaryPrimitives).GetMethod(nameof(BinaryPrimitives.ReverseEndianness), [typeof(ushort)])!;

    /// <summary>Compiles <paramref name="program"/> (verified when it was created) to native code.</summary>
    public static unsafe CompiledBpfFilter Compile(BpfProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        // The first parameter is a dummy target: a delegate closed over it is invoked directly, where one over a
        // static method goes through a shuffle thunk (measured: about 1 ns per call of a 4 ns filter).
        DynamicMethod method = new(
            "bpf_filter", typeof(uint), [typeof(object), typeof(byte*), typeof(uint), typeof(uint)], typeof(BpfJit).Module, skipVisibility: true);
        Emitter emitter = new(method.GetILGenerator(), program.Span);
        emitter.EmitProgram();
        var entry = (CompiledBpfFilter.NativeEntry)method.CreateDelegate(typeof(CompiledBpfFilter.NativeEntry), s_target);
        return new CompiledBpfFilter(program, entry);
    }

    /// <summary>Emits one program. Arguments: 0 = the dummy target, 1 = packet pointer, 2 = captured length, 3 = wire length.</summary>
    private sealed class Emitter
    {
        private readonly ILGenerator _il;
        private readonly BpfInstruction[] _code;
        private readonly Label[] _labels;
        private readonly Label _reject;
        private readonly LocalBuilder _a;
        private readonly LocalBuilder _x;
        private readonly LocalBuilder?[] _memory = new LocalBuilder?[MemoryWords];
        private readonly uint[] _provenLength;
        private uint _proven;

        public Emitter(ILGenerator il, ReadOnlySpan<BpfInstruction> code)
        {
            _il = il;
            _code = code.ToArray();
            _labels = new Label[_code.Length];
            for (int i = 0; i < _labels.Length; i++)
            {
                _labels[i] = il.DefineLabel();
            }
            _reject = il.DefineLabel();
            // DynamicMethod locals are zero-initialised (InitLocals): A = X = M[k] = 0 on entry, as in bpf_filter.
            _a = il.DeclareLocal(typeof(uint));
            _x = il.DeclareLocal(typeof(uint));
            _provenLength = ProvenLengths(_code);
        }

        /// <summary>
        /// For each instruction, a captured length that every path reaching it has already checked (an absolute load
        /// of bytes k..k+n-1 that did not reject proves length &gt;= k+n). Jumps only go forward, so one pass in order
        /// sees every predecessor first. A load within the proven length needs no check of its own: tcpdump programs
        /// load the EtherType, then the protocol, then ports, and most checks fall away.
        /// </summary>
        private static uint[] ProvenLengths(BpfInstruction[] code)
        {
            uint[] proven = new uint[code.Length];
            bool[] reached = new bool[code.Length];
            reached[0] = true;
            for (int pc = 0; pc < code.Length; pc++)
            {
                if (!reached[pc])
                {
                    proven[pc] = 0; // unreachable: prove nothing
                }
                uint after = Math.Max(proven[pc], CheckedEnd(code[pc]));
                void Flow(int target)
                {
                    proven[target] = reached[target] ? Math.Min(proven[target], after) : after;
                    reached[target] = true;
                }
                BpfInstruction ins = code[pc];
                if (ClassOf(ins.Code) == Ret)
                {
                    continue;
                }
                if (ins.Code == (Jmp | Ja))
                {
                    Flow(pc + 1 + (int)ins.K);
                }
                else if (ClassOf(ins.Code) == Jmp)
                {
                    Flow(pc + 1 + ins.Jt);
                    Flow(pc + 1 + ins.Jf);
                }
                else
                {
                    Flow(pc + 1);
                }
            }
            return proven;
        }

        /// <summary>The captured length an instruction proves when it does not reject (0 when it proves nothing).</summary>
        private static uint CheckedEnd(BpfInstruction ins)
        {
            ulong end = ins.Code switch
            {
                Ld | W | Abs => (ulong)ins.K + 4,
                Ld | H | Abs => (ulong)ins.K + 2,
                Ld | B | Abs or Ldx | B | Msh => (ulong)ins.K + 1,
                _ => 0,
            };
            return end > int.MaxValue ? 0 : (uint)end;
        }

        public void EmitProgram()
        {
            for (int pc = 0; pc < _code.Length; pc++)
            {
                _il.MarkLabel(_labels[pc]);
                _proven = _provenLength[pc];
                EmitInstruction(pc, _code[pc]);
            }
            _il.MarkLabel(_reject);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Ret);
        }

        private void EmitInstruction(int pc, BpfInstruction ins)
        {
            uint k = ins.K;
            switch (ins.Code)
            {
                case Ret | K:
                    EmitConstant(k);
                    _il.Emit(OpCodes.Ret);
                    break;
                case Ret | A:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Ret);
                    break;
                case Ld | W | Abs:
                    EmitAbsoluteLoad(k, 4);
                    break;
                case Ld | H | Abs:
                    EmitAbsoluteLoad(k, 2);
                    break;
                case Ld | B | Abs:
                    EmitAbsoluteLoad(k, 1);
                    break;
                case Ld | W | Ind:
                    EmitIndirectLoad(k, 4);
                    break;
                case Ld | H | Ind:
                    EmitIndirectLoad(k, 2);
                    break;
                case Ld | B | Ind:
                    EmitIndirectLoad(k, 1);
                    break;
                case Ldx | B | Msh:
                    EmitHeaderLengthLoad(k);
                    break;
                case Ld | W | Len:
                    _il.Emit(OpCodes.Ldarg_3);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Ldx | W | Len:
                    _il.Emit(OpCodes.Ldarg_3);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Ld | Imm:
                    EmitConstant(k);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Ldx | Imm:
                    EmitConstant(k);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Ld | Mem:
                    _il.Emit(OpCodes.Ldloc, Memory(k));
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Ldx | Mem:
                    _il.Emit(OpCodes.Ldloc, Memory(k));
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case St:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Stloc, Memory(k));
                    break;
                case Stx:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Stloc, Memory(k));
                    break;
                case Misc | Tax:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Stloc, _x);
                    break;
                case Misc | Txa:
                    _il.Emit(OpCodes.Ldloc, _x);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Alu | Neg:
                    _il.Emit(OpCodes.Ldloc, _a);
                    _il.Emit(OpCodes.Neg);
                    _il.Emit(OpCodes.Stloc, _a);
                    break;
                case Jmp | Ja:
                    _il.Emit(OpCodes.Br, _labels[pc + 1 + (int)k]);
                    break;
                default:
                    if (ClassOf(ins.Code) == Alu)
                    {
                        EmitArithmetic(ins);
                    }
                    else if (ClassOf(ins.Code) == Jmp)
                    {
                        EmitConditionalJump(pc, ins);
                    }
                    else
                    {
                        throw new InvalidOperationException($"BpfJit met opcode 0x{ins.Code:x4}, which the verifier should have refused; report this as a Skiff bug.");
                    }
                    break;
            }
        }

        /// <summary>A = big-endian read of <paramref name="size"/> bytes at k, or reject when k + size exceeds the captured length.</summary>
        private void EmitAbsoluteLoad(uint k, int size)
        {
            ulong end = (ulong)k + (uint)size;
            if (end > int.MaxValue)
            {
                // No span is this long: the load always fails, as bpf_filter's bounds check would.
                _il.Emit(OpCodes.Br, _reject);
                return;
            }
            if (end > _proven)
            {
                _il.Emit(OpCodes.Ldarg_2);
                EmitConstant((uint)end);
                _il.Emit(OpCodes.Blt_Un, _reject);
            }
            _il.Emit(OpCodes.Ldarg_1);
            EmitConstant(k);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
            EmitReadBigEndian(size);
            _il.Emit(OpCodes.Stloc, _a);
        }

        /// <summary>A = big-endian read at X + k, bounds-checked in 64 bits so that X + k cannot wrap.</summary>
        private void EmitIndirectLoad(uint k, int size)
        {
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, (long)((ulong)k + (uint)size));
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldarg_2);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Bgt_Un, _reject);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
            EmitConstant(k);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
            EmitReadBigEndian(size);
            _il.Emit(OpCodes.Stloc, _a);
        }

        /// <summary>X = 4 * (packet[k] &amp; 0xf), the IPv4 header length; reject when k is past the captured bytes.</summary>
        private void EmitHeaderLengthLoad(uint k)
        {
            if ((ulong)k + 1 > _proven)
            {
                _il.Emit(OpCodes.Ldarg_2);
                EmitConstant(k);
                _il.Emit(OpCodes.Ble_Un, _reject);
            }
            _il.Emit(OpCodes.Ldarg_1);
            EmitConstant(k);
            _il.Emit(OpCodes.Conv_U);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldind_U1);
            _il.Emit(OpCodes.Ldc_I4_S, (sbyte)0x0f);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4_2);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Stloc, _x);
        }

        /// <summary>Replaces the address on the stack with the big-endian value of <paramref name="size"/> bytes there.</summary>
        private void EmitReadBigEndian(int size)
        {
            switch (size)
            {
                case 4:
                    _il.Emit(OpCodes.Unaligned, (byte)1);
                    _il.Emit(OpCodes.Ldind_U4);
                    _il.Emit(OpCodes.Call, s_reverse32);
                    break;
                case 2:
                    _il.Emit(OpCodes.Unaligned, (byte)1);
                    _il.Emit(OpCodes.Ldind_U2);
                    _il.Emit(OpCodes.Call, s_reverse16);
                    break;
                default:
                    _il.Emit(OpCodes.Ldind_U1);
                    break;
            }
        }

        private void EmitArithmetic(BpfInstruction ins)
        {
            bool fromX = (ins.Code & X) != 0;
            int operation = ins.Code & 0xf0;
            if (fromX && operation is Div or Mod)
            {
                // bpf_filter: division or modulo by X = 0 ends the program with 0.
                _il.Emit(OpCodes.Ldloc, _x);
                _il.Emit(OpCodes.Brfalse, _reject);
            }
            if (fromX && operation is Lsh or Rsh)
            {
                EmitShiftByX(operation == Lsh ? OpCodes.Shl : OpCodes.Shr_Un);
                return;
            }
            _il.Emit(OpCodes.Ldloc, _a);
            if (fromX)
            {
                _il.Emit(OpCodes.Ldloc, _x);
            }
            else
            {
                EmitConstant(ins.K);
            }
            _il.Emit(operation switch
            {
                Add => OpCodes.Add,
                Sub => OpCodes.Sub,
                Mul => OpCodes.Mul,
                Div => OpCodes.Div_Un,
                Mod => OpCodes.Rem_Un,
                And => OpCodes.And,
                Or => OpCodes.Or,
                Xor => OpCodes.Xor,
                Lsh => OpCodes.Shl,
                Rsh => OpCodes.Shr_Un,
                _ => throw new InvalidOperationException($"BpfJit met ALU opcode 0x{ins.Code:x4}, which the verifier should have refused; report this as a Skiff bug."),
            });
            _il.Emit(OpCodes.Stloc, _a);
        }

        /// <summary>A shift by X: IL leaves counts of 32 and more unspecified, libpcap gives 0 for them.</summary>
        private void EmitShiftByX(OpCode shift)
        {
            Label large = _il.DefineLabel();
            Label done = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(OpCodes.Ldc_I4_S, (sbyte)32);
            _il.Emit(OpCodes.Bge_Un, large);
            _il.Emit(OpCodes.Ldloc, _a);
            _il.Emit(OpCodes.Ldloc, _x);
            _il.Emit(shift);
            _il.Emit(OpCodes.Stloc, _a);
            _il.Emit(OpCodes.Br, done);
            _il.MarkLabel(large);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Stloc, _a);
            _il.MarkLabel(done);
        }

        private void EmitConditionalJump(int pc, BpfInstruction ins)
        {
            Label whenTrue = _labels[pc + 1 + ins.Jt];
            Label whenFalse = _labels[pc + 1 + ins.Jf];
            if (ins.Jt == ins.Jf)
            {
                _il.Emit(OpCodes.Br, whenTrue);
                return;
            }
            int operation = ins.Code & 0xf0;
            _il.Emit(OpCodes.Ldloc, _a);
            if ((ins.Code & X) != 0)
            {
                _il.Emit(OpCodes.Ldloc, _x);
            }
            else
            {
                EmitConstant(ins.K);
            }
            if (operation == Jset)
            {
                _il.Emit(OpCodes.And);
            }
            // Branch on the condition (or its inverse when the true branch falls through), then jump to the other side.
            bool invert = ins.Jt == 0;
            (OpCode branch, OpCode inverse) = operation switch
            {
                Jeq => (OpCodes.Beq, OpCodes.Bne_Un),
                Jgt => (OpCodes.Bgt_Un, OpCodes.Ble_Un),
                Jge => (OpCodes.Bge_Un, OpCodes.Blt_Un),
                _ => (OpCodes.Brtrue, OpCodes.Brfalse),
            };
            if (invert)
            {
                _il.Emit(inverse, whenFalse);
                return;
            }
            _il.Emit(branch, whenTrue);
            if (ins.Jf != 0)
            {
                _il.Emit(OpCodes.Br, whenFalse);
            }
        }

        private LocalBuilder Memory(uint k) => _memory[k] ??= _il.DeclareLocal(typeof(uint));

        private void EmitConstant(uint value) => _il.Emit(OpCodes.Ldc_I4, unchecked((int)value));
    }
}
