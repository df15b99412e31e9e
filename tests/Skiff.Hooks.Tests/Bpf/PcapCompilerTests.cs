using System.Runtime.InteropServices;
using Skiff.Hooks.Bpf;
using Skiff.Hooks.Interop;

namespace Skiff.Hooks.Tests.Bpf;

public class PcapCompilerTests
{
    [Theory]
    [InlineData("tcp port")]
    [InlineData("host 10.0.0.300")]
    [InlineData("port 70000")]
    [InlineData("ip broadcast")]
    [InlineData("tcp[tcpflags] & tcp-bogus != 0")]
    [InlineData("udp and (port 53")]
    public unsafe void BadExpression_GivesLibpcapsOwnMessage_AndTheExpression(string expression)
    {
        string libpcapSays;
        lock (PcapCompiler.LibpcapLock)
        {
            nint handle = Pcap.OpenDead(Pcap.DLT_EN10MB, PcapCompiler.DefaultSnapLength);
            Pcap.BpfProgramNative program = default;
            Assert.NotEqual(0, Pcap.Compile(handle, &program, expression, 1, Pcap.PCAP_NETMASK_UNKNOWN));
            libpcapSays = Marshal.PtrToStringUTF8((nint)Pcap.GetError(handle))!;
            Pcap.Close(handle);
        }
        BpfCompileException e = Assert.Throws<BpfCompileException>(() => PcapCompiler.Compile(expression));
        Assert.Equal(libpcapSays, e.PcapMessage);
        Assert.Equal(expression, e.Expression);
        Assert.Contains(libpcapSays, e.Message);
        Assert.Contains($"'{expression}'", e.Message);
        Assert.Contains("tcpdump", e.Message); // says how to write one
        Assert.Throws<BpfCompileException>(() => BpfFilter.Compile(expression));
    }

    [Fact]
    public void EmptyExpression_AcceptsEverything()
    {
        BpfFilter filter = BpfFilter.Compile("");
        Assert.True(filter.Matches([]));
        Assert.True(filter.Matches(new byte[60]));
    }

    [Fact]
    public void SnapLength_IsWhatAMatchReturns()
    {
        BpfProgram program = PcapCompiler.Compile("", snapLength: 96);
        Assert.Equal(96u, BpfInterpreter.Run(program, new byte[60], 60));
    }

    [Fact]
    public void ToString_IsWhatTcpdumpDashDPrints_ForEveryExpression()
    {
        foreach (string expression in FilterExpressions.All())
        {
            BpfProgram program = PcapCompiler.Compile(expression);
            Assert.Equal(LibpcapImage(program.Instructions.AsSpan()), program.ToString());
        }
    }

    [Fact]
    public void ToString_IsWhatLibpcapPrints_ForRandomPrograms()
    {
        RandomProgramGenerator generator = new(21);
        for (int i = 0; i < 2000; i++)
        {
            BpfProgram program = BpfProgram.Create(generator.NextProgram());
            string[] expected = LibpcapImage(program.Instructions.AsSpan()).Split('\n');
            string[] actual = program.ToString().Split('\n');
            for (int line = 0; line < expected.Length; line++)
            {
                if (line < program.Length && program.Instructions[line].Code == (BpfCode.Ldx | BpfCode.W | BpfCode.Len))
                {
                    // libpcap's bpf_image has no name for "ldx len" (it prints "unimp 0x81"), though bpf_filter runs it; Skiff names it.
                    Assert.Equal($"({line:D3}) unimp    0x81", expected[line]);
                    Assert.Equal($"({line:D3}) ldx      #pktlen", actual[line]);
                    continue;
                }
                Assert.True(expected[line] == actual[line], $"program {i}, line {line}: libpcap '{expected[line]}', Skiff '{actual[line]}'");
            }
        }
    }

    [Fact]
    public void Filter_KeepsTheExpression_AndMatchesAsItsProgramDoes()
    {
        BpfFilter filter = BpfFilter.Compile("tcp port 80");
        Assert.Equal("tcp port 80", filter.Expression);
        foreach (TestData.Frame frame in TestData.AllFrames)
        {
            Assert.Equal(BpfInterpreter.Run(filter.Program, frame.Bytes, frame.WireLength) != 0, filter.Matches(frame.Bytes, frame.WireLength));
        }
        Assert.Contains(TestData.AllFrames, f => filter.Matches(f.Bytes, f.WireLength));
    }

    [Fact]
    public void OtherLinkTypes_Compile_ForTheirOwnHeaders()
    {
        // A raw-IP capture starts with the IPv4 header: "ip" looks at its version nibble, not at an EtherType.
        BpfFilter raw = BpfFilter.Compile("ip and udp", linkType: Skiff.Wire.Pcap.LinkType.Raw);
        byte[] ipv4Udp = new byte[28];
        ipv4Udp[0] = 0x45;
        ipv4Udp[9] = 17;
        Assert.True(raw.Matches(ipv4Udp));
        ipv4Udp[9] = 6;
        Assert.False(raw.Matches(ipv4Udp));
        Assert.Throws<BpfCompileException>(() => BpfFilter.Compile("ether host 02:00:00:00:00:01", linkType: Skiff.Wire.Pcap.LinkType.Raw));
    }

    private static unsafe string LibpcapImage(ReadOnlySpan<BpfInstruction> program)
    {
        System.Text.StringBuilder text = new();
        fixed (BpfInstruction* p = program)
        {
            for (int i = 0; i < program.Length; i++)
            {
                text.Append(Marshal.PtrToStringUTF8((nint)Pcap.Image(p + i, i))).Append('\n');
            }
        }
        return text.ToString();
    }
}
