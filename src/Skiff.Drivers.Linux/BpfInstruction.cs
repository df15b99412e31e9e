using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux;

/// <summary>
/// One eBPF instruction in the kernel's 8-byte encoding (<c>struct bpf_insn</c>, linux/bpf.h):
/// <c>u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm</c>, little-endian on the machines Skiff runs on.
/// The opcode is class | size | mode for loads and stores, class | op | source for ALU and jumps
/// (Documentation/bpf/standardization/instruction-set.rst).
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
internal readonly struct BpfInstruction : IEquatable<BpfInstruction>
{
    // Instruction classes (low 3 bits).
    public const byte ClassLd = 0x00;
    public const byte ClassLdx = 0x01;
    public const byte ClassSt = 0x02;
    public const byte ClassStx = 0x03;
    public const byte ClassAlu = 0x04;
    public const byte ClassJmp = 0x05;
    public const byte ClassJmp32 = 0x06;
    public const byte ClassAlu64 = 0x07;

    // Load/store sizes and modes.
    public const byte SizeW = 0x00;
    public const byte SizeH = 0x08;
    public const byte SizeB = 0x10;
    public const byte SizeDW = 0x18;
    public const byte ModeImm = 0x00;
    public const byte ModeMem = 0x60;
    public const byte ModeAtomic = 0xc0;

    // Operand source: the immediate (K) or the source register (X).
    public const byte SourceK = 0x00;
    public const byte SourceX = 0x08;

    // ALU operations.
    public const byte AluAdd = 0x00;
    public const byte AluSub = 0x10;
    public const byte AluAnd = 0x50;
    public const byte AluMov = 0xb0;

    // Jump operations.
    public const byte JumpAlways = 0x00;
    public const byte JumpEq = 0x10;
    public const byte JumpGt = 0x20;
    public const byte JumpGe = 0x30;
    public const byte JumpNe = 0x50;
    public const byte JumpCall = 0x80;
    public const byte JumpExit = 0x90;
    public const byte JumpLt = 0xa0;
    public const byte JumpSle = 0xd0;

    // Atomic operations (the immediate of a BPF_ATOMIC store): BPF_ADD, optionally with BPF_FETCH.
    public const int AtomicFetch = 0x01;

    public BpfInstruction(byte code, BpfRegister destination, BpfRegister source, short offset, int immediate)
    {
        Code = code;
        Registers = (byte)(((byte)destination & 0x0f) | (((byte)source & 0x0f) << 4));
        Offset = offset;
        Immediate = immediate;
    }

    /// <summary>The opcode byte.</summary>
    public byte Code { get; }

    /// <summary>dst_reg in the low nibble, src_reg in the high nibble.</summary>
    public byte Registers { get; }

    /// <summary>Signed offset: memory displacement, or jump distance in instructions from the next one.</summary>
    public short Offset { get; }

    /// <summary>Signed 32-bit immediate.</summary>
    public int Immediate { get; }

    public BpfRegister Destination => (BpfRegister)(Registers & 0x0f);

    public BpfRegister Source => (BpfRegister)(Registers >> 4);

    /// <summary>This instruction with another offset (the assembler patches jump distances with it).</summary>
    public BpfInstruction WithOffset(short offset) => new(Code, Destination, Source, offset, Immediate);

    /// <summary>Writes the 8 bytes the kernel reads.</summary>
    public void WriteTo(Span<byte> destination)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(destination.Length, 8, nameof(destination));
        destination[0] = Code;
        destination[1] = Registers;
        BinaryPrimitives.WriteInt16LittleEndian(destination[2..], Offset);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Immediate);
    }

    /// <summary>dst = imm (64-bit, sign-extended).</summary>
    public static BpfInstruction Mov64(BpfRegister destination, int immediate) =>
        new((byte)(ClassAlu64 | AluMov | SourceK), destination, BpfRegister.R0, 0, immediate);

    /// <summary>dst = src (64-bit).</summary>
    public static BpfInstruction Mov64(BpfRegister destination, BpfRegister source) =>
        new((byte)(ClassAlu64 | AluMov | SourceX), destination, source, 0, 0);

    /// <summary>dst += imm (64-bit).</summary>
    public static BpfInstruction Add64(BpfRegister destination, int immediate) =>
        new((byte)(ClassAlu64 | AluAdd | SourceK), destination, BpfRegister.R0, 0, immediate);

    /// <summary>dst += src (64-bit).</summary>
    public static BpfInstruction Add64(BpfRegister destination, BpfRegister source) =>
        new((byte)(ClassAlu64 | AluAdd | SourceX), destination, source, 0, 0);

    /// <summary>*(size *)(dst + offset) = imm; size is <see cref="SizeB"/>, <see cref="SizeH"/>, <see cref="SizeW"/> or <see cref="SizeDW"/> (sign-extended to it).</summary>
    public static BpfInstruction StoreImmediate(byte size, BpfRegister destination, short offset, int immediate) =>
        new((byte)(ClassSt | ModeMem | size), destination, BpfRegister.R0, offset, immediate);

    /// <summary>lock *(u64 *)(dst + offset) += src: BPF_STX | BPF_ATOMIC | BPF_DW with imm BPF_ADD, safe against other CPUs.</summary>
    public static BpfInstruction AtomicAdd64(BpfRegister destination, BpfRegister source, short offset) =>
        new((byte)(ClassStx | ModeAtomic | SizeDW), destination, source, offset, AluAdd);

    /// <summary>src = atomic_fetch_add((u64 *)(dst + offset), src): adds and returns the old value in the source register.</summary>
    public static BpfInstruction AtomicFetchAdd64(BpfRegister destination, BpfRegister source, short offset) =>
        new((byte)(ClassStx | ModeAtomic | SizeDW), destination, source, offset, AluAdd | AtomicFetch);

    /// <summary>dst = *(size *)(src + offset); size is <see cref="SizeB"/>, <see cref="SizeH"/>, <see cref="SizeW"/> or <see cref="SizeDW"/>; zero-extended.</summary>
    public static BpfInstruction LoadMemory(byte size, BpfRegister destination, BpfRegister source, short offset) =>
        new((byte)(ClassLdx | ModeMem | size), destination, source, offset, 0);

    /// <summary>The two instructions of <c>dst = map</c> (BPF_LD | BPF_DW | BPF_IMM with src_reg BPF_PSEUDO_MAP_FD): the verifier swaps the fd for the map.</summary>
    public static (BpfInstruction First, BpfInstruction Second) LoadMapFd(BpfRegister destination, int mapFd) =>
        (new((byte)(ClassLd | ModeImm | SizeDW), destination, (BpfRegister)Interop.Bpf.BPF_PSEUDO_MAP_FD, 0, mapFd),
         new(0, BpfRegister.R0, BpfRegister.R0, 0, 0));

    /// <summary>if (dst op imm) goto +offset, comparing all 64 bits (the immediate is sign-extended).</summary>
    public static BpfInstruction Jump(byte operation, BpfRegister destination, int immediate, short offset) =>
        new((byte)(ClassJmp | operation | SourceK), destination, BpfRegister.R0, offset, immediate);

    /// <summary>if (dst op src) goto +offset (64-bit).</summary>
    public static BpfInstruction Jump(byte operation, BpfRegister destination, BpfRegister source, short offset) =>
        new((byte)(ClassJmp | operation | SourceX), destination, source, offset, 0);

    /// <summary>if ((u32)dst op (u32)imm) goto +offset: the 32-bit compare, so an immediate with its top bit set matches a zero-extended load.</summary>
    public static BpfInstruction Jump32(byte operation, BpfRegister destination, int immediate, short offset) =>
        new((byte)(ClassJmp32 | operation | SourceK), destination, BpfRegister.R0, offset, immediate);

    /// <summary>goto +offset.</summary>
    public static BpfInstruction Goto(short offset) => new((byte)(ClassJmp | JumpAlways), BpfRegister.R0, BpfRegister.R0, offset, 0);

    /// <summary>Calls kernel helper number <paramref name="helper"/> (enum bpf_func_id); arguments in R1-R5, result in R0.</summary>
    public static BpfInstruction Call(int helper) => new((byte)(ClassJmp | JumpCall), BpfRegister.R0, BpfRegister.R0, 0, helper);

    /// <summary>Returns R0.</summary>
    public static BpfInstruction Exit() => new((byte)(ClassJmp | JumpExit), BpfRegister.R0, BpfRegister.R0, 0, 0);

    public bool Equals(BpfInstruction other) =>
        Code == other.Code && Registers == other.Registers && Offset == other.Offset && Immediate == other.Immediate;

    public override bool Equals(object? obj) => obj is BpfInstruction other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Code, Registers, Offset, Immediate);

    public static bool operator ==(BpfInstruction left, BpfInstruction right) => left.Equals(right);

    public static bool operator !=(BpfInstruction left, BpfInstruction right) => !left.Equals(right);

    public override string ToString() => $"code=0x{Code:x2} dst=r{(int)Destination} src=r{(int)Source} off={Offset} imm={Immediate}";
}
