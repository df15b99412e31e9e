using System.Net;

namespace Skiff.Drivers.Linux.Tests;

/// <summary>The eBPF encoder against encodings produced by clang/llvm-objdump and listed in the kernel's instruction-set document.</summary>
public sealed class BpfInstructionTests
{
    public static TheoryData<string, string> KnownEncodings => new()
    {
        // llvm-objdump -d text                     8 bytes, as the kernel reads them
        { "r0 = 2", "b7 00 00 00 02 00 00 00" },
        { "exit", "95 00 00 00 00 00 00 00" },
        { "r2 = *(u32 *)(r1 + 0)", "61 12 00 00 00 00 00 00" },
        { "r3 = *(u32 *)(r1 + 4)", "61 13 04 00 00 00 00 00" },
        { "r5 = *(u16 *)(r2 + 12)", "69 25 0c 00 00 00 00 00" },
        { "r4 = r2", "bf 24 00 00 00 00 00 00" },
        { "r4 += 14", "07 04 00 00 0e 00 00 00" },
        { "if r4 > r3 goto +5", "2d 34 05 00 00 00 00 00" },
        { "if w5 == 8 goto +3", "16 05 03 00 08 00 00 00" },
        { "if r1 == -1 goto +1", "15 01 01 00 ff ff ff ff" },
        { "goto -2", "05 00 fe ff 00 00 00 00" },
        { "call 51", "85 00 00 00 33 00 00 00" },
        { "r1 = map[fd 7] (first half)", "18 11 00 00 07 00 00 00" },
        { "r1 = map[fd 7] (second half)", "00 00 00 00 00 00 00 00" },
    };

    private static BpfInstruction Instruction(string text) => text switch
    {
        "r0 = 2" => BpfInstruction.Mov64(BpfRegister.R0, 2),
        "exit" => BpfInstruction.Exit(),
        "r2 = *(u32 *)(r1 + 0)" => BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R1, 0),
        "r3 = *(u32 *)(r1 + 4)" => BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R3, BpfRegister.R1, 4),
        "r5 = *(u16 *)(r2 + 12)" => BpfInstruction.LoadMemory(BpfInstruction.SizeH, BpfRegister.R5, BpfRegister.R2, 12),
        "r4 = r2" => BpfInstruction.Mov64(BpfRegister.R4, BpfRegister.R2),
        "r4 += 14" => BpfInstruction.Add64(BpfRegister.R4, 14),
        "if r4 > r3 goto +5" => BpfInstruction.Jump(BpfInstruction.JumpGt, BpfRegister.R4, BpfRegister.R3, 5),
        "if w5 == 8 goto +3" => BpfInstruction.Jump32(BpfInstruction.JumpEq, BpfRegister.R5, 8, 3),
        "if r1 == -1 goto +1" => BpfInstruction.Jump(BpfInstruction.JumpEq, BpfRegister.R1, -1, 1),
        "goto -2" => BpfInstruction.Goto(-2),
        "call 51" => BpfInstruction.Call(51),
        "r1 = map[fd 7] (first half)" => BpfInstruction.LoadMapFd(BpfRegister.R1, 7).First,
        "r1 = map[fd 7] (second half)" => BpfInstruction.LoadMapFd(BpfRegister.R1, 7).Second,
        _ => throw new ArgumentException(text),
    };

    [Theory]
    [MemberData(nameof(KnownEncodings))]
    public void EncodesLikeTheKernelReadsIt(string text, string hex)
    {
        byte[] expected = Convert.FromHexString(hex.Replace(" ", ""));
        byte[] actual = new byte[8];

        Instruction(text).WriteTo(actual);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void InMemoryLayoutIsTheWireLayout()
    {
        // The loader passes the array itself to bpf(2), so the struct's memory must be the 8-byte encoding.
        BpfInstruction[] program = [BpfInstruction.Jump(BpfInstruction.JumpGt, BpfRegister.R4, BpfRegister.R3, 5)];

        byte[] memory = System.Runtime.InteropServices.MemoryMarshal.AsBytes(program.AsSpan()).ToArray();

        Assert.Equal(Convert.FromHexString("2d34050000000000"), memory);
        Assert.Equal(BpfRegister.R4, program[0].Destination);
        Assert.Equal(BpfRegister.R3, program[0].Source);
    }

    [Fact]
    public void AssemblerResolvesForwardAndBackwardLabels()
    {
        BpfAssembler a = new();
        int end = a.DefineLabel();
        int top = a.DefineLabel();
        a.Mark(top);
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpEq, BpfRegister.R1, 0, 0), end); // 0 -> 3: +2
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R2, 5));                               // 1, 2
        a.Mark(end);
        a.EmitJump(BpfInstruction.Goto(0), top);                                            // 3 -> 0: -4

        BpfInstruction[] program = a.Build();

        Assert.Equal(4, program.Length);
        Assert.Equal(2, program[0].Offset);
        Assert.Equal(-4, program[3].Offset);
    }

    [Fact]
    public void AssemblerRefusesAnUnplacedLabel()
    {
        BpfAssembler a = new();
        a.EmitJump(BpfInstruction.Goto(0), a.DefineLabel());

        Assert.Throws<InvalidOperationException>(() => a.Build());
    }

    [Fact]
    public void SteeringProgramComparesAddressesAsLoadedFromTheWire()
    {
        // 10.99.7.200 on the wire is 0a 63 07 c8; a little-endian u32 load yields 0xc807630a, whose top bit is set:
        // the program must compare it with a 32-bit jump so the sign-extended immediate still matches.
        IPAddress address = IPAddress.Parse("10.99.7.200");
        int expected = BitConverter.IsLittleEndian ? unchecked((int)0xc807630a) : 0x0a6307c8;

        BpfInstruction[] program = XdpSteeringProgram.Build(7, [address]);

        BpfInstruction compare = Assert.Single(program, i => i.Immediate == expected);
        Assert.Equal(BpfInstruction.ClassJmp32 | BpfInstruction.JumpEq, compare.Code);
        Assert.Equal(BpfInstruction.Exit(), program[^1]);
        Assert.Equal(BpfInstruction.Mov64(BpfRegister.R0, 2), program[^2]); // XDP_PASS on the fall-through path
        Assert.Contains(BpfInstruction.Call(51), program);                  // bpf_redirect_map
    }

    [Fact]
    public void SteeringProgramComparesAllFourWordsOfEachIpv6Destination()
    {
        // fd00:99::1 (its four wire words) and the IPv4 address beside it: each IPv6 word is a 32-bit not-equal jump
        // to the next address, so only a full 128-bit match reaches the redirect.
        IPAddress v6 = IPAddress.Parse("fd00:99::1");
        byte[] bytes = v6.GetAddressBytes();
        BpfInstruction[] program = XdpSteeringProgram.Build(7, [IPAddress.Parse("10.0.0.1"), v6]);

        for (int w = 0; w < 4; w++)
        {
            int word = System.Runtime.InteropServices.MemoryMarshal.Read<int>(bytes.AsSpan(4 * w));
            Assert.Contains(program, i => i.Immediate == word && i.Code == (BpfInstruction.ClassJmp32 | BpfInstruction.JumpNe));
        }
        int etherType = BitConverter.IsLittleEndian ? 0xDD86 : 0x86DD;
        Assert.Contains(program, i => i.Immediate == etherType && i.Code == (BpfInstruction.ClassJmp32 | BpfInstruction.JumpEq));
        Assert.DoesNotContain(program, i => i.Immediate == (BitConverter.IsLittleEndian ? 0xDD86 : 0x86DD)
            && XdpSteeringProgram.Build(7, [IPAddress.Parse("10.0.0.1")]).Contains(i));
    }
}
