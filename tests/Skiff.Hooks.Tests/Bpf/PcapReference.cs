using System.Runtime.InteropServices;
using Skiff.Hooks.Bpf;
using Skiff.Hooks.Interop;

namespace Skiff.Hooks.Tests.Bpf;

/// <summary>
/// libpcap's own filter runner (<c>pcap_offline_filter</c>) over a program held in native memory: either what
/// <c>pcap_compile</c> made of an expression (untouched by Skiff) or a copy of given instructions.
/// </summary>
internal sealed unsafe class PcapReference : IDisposable
{
    private Pcap.BpfProgramNative _program;
    private readonly bool _fromPcapCompile;
    private static readonly byte* s_empty = (byte*)NativeMemory.AllocZeroed(1);

    private PcapReference(Pcap.BpfProgramNative program, bool fromPcapCompile)
    {
        _program = program;
        _fromPcapCompile = fromPcapCompile;
    }

    /// <summary>Compiles <paramref name="expression"/> with libpcap exactly as PcapCompiler does (Ethernet, optimised, netmask unknown).</summary>
    public static PcapReference Compile(string expression, int snapLength = PcapCompiler.DefaultSnapLength)
    {
        lock (PcapCompiler.LibpcapLock)
        {
            nint handle = Pcap.OpenDead(Pcap.DLT_EN10MB, snapLength);
            try
            {
                Pcap.BpfProgramNative program = default;
                if (Pcap.Compile(handle, &program, expression, 1, Pcap.PCAP_NETMASK_UNKNOWN) != 0)
                {
                    throw new InvalidOperationException($"libpcap refused '{expression}': {Marshal.PtrToStringUTF8((nint)Pcap.GetError(handle))}");
                }
                return new PcapReference(program, fromPcapCompile: true);
            }
            finally
            {
                Pcap.Close(handle);
            }
        }
    }

    /// <summary>Copies <paramref name="instructions"/> into a native <c>struct bpf_program</c>.</summary>
    public static PcapReference Wrap(ReadOnlySpan<BpfInstruction> instructions)
    {
        void* memory = NativeMemory.Alloc((nuint)(instructions.Length * sizeof(BpfInstruction)));
        instructions.CopyTo(new Span<BpfInstruction>(memory, instructions.Length));
        return new PcapReference(new Pcap.BpfProgramNative { Length = (uint)instructions.Length, Instructions = memory }, fromPcapCompile: false);
    }

    /// <summary>The instructions libpcap holds.</summary>
    public ReadOnlySpan<BpfInstruction> Instructions => new(_program.Instructions, (int)_program.Length);

    /// <summary>What libpcap's pcap_offline_filter returns for the frame (as unsigned: 0 = reject).</summary>
    public uint Run(ReadOnlySpan<byte> packet, int wireLength)
    {
        Pcap.PacketHeader header = new() { CaptureLength = (uint)packet.Length, WireLength = (uint)wireLength };
        fixed (byte* p = packet)
        fixed (Pcap.BpfProgramNative* program = &_program)
        {
            return (uint)Pcap.OfflineFilter(program, &header, p == null ? s_empty : p);
        }
    }

    public void Dispose()
    {
        if (_program.Instructions == null)
        {
            return;
        }
        if (_fromPcapCompile)
        {
            fixed (Pcap.BpfProgramNative* program = &_program)
            {
                Pcap.FreeCode(program);
            }
        }
        else
        {
            NativeMemory.Free(_program.Instructions);
        }
        _program = default;
    }
}
