using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using Skiff.Hooks.Bpf;
using Skiff.Hooks.Interop;

namespace Skiff.Benchmarks.Bpf;

/// <summary>
/// Nanoseconds per frame for a tcpdump filter over a fixed mix of 16 frames (TCP to and from port 80 and 22,
/// UDP DNS, ICMP, ARP, IPv6, VLAN), run three ways in the same process: Skiff's JIT (<see cref="BpfFilter"/>'s
/// compiled program, through its span entry point), Skiff's interpreter, and libpcap's own interpreter
/// <c>bpf_filter</c> called through LibraryImport on pinned frames. Expressions: short (<c>arp</c>, 4 instructions),
/// medium (<c>tcp port 80</c>), long (SYN to 10/8 or from 192.168.1.1, not port 22: about 30 instructions).
/// </summary>
[MemoryDiagnoser]
public unsafe class BpfFilterBenchmarks
{
    private const int FrameCount = 16;
    private readonly byte[][] _frames = new byte[FrameCount][];
    private BpfFilter _filter = null!;
    private BpfProgram _program = null!;
    private BpfInstruction* _native;

    [Params("arp", "tcp port 80", "tcp[tcpflags] & tcp-syn != 0 and (dst net 10.0.0.0/8 or src host 192.168.1.1) and not port 22")]
    public string Expression { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        BuildFrames();
        _filter = BpfFilter.Compile(Expression);
        _program = _filter.Program;
        _native = (BpfInstruction*)NativeMemory.Alloc((nuint)(_program.Length * sizeof(BpfInstruction)));
        _program.Instructions.AsSpan().CopyTo(new Span<BpfInstruction>(_native, _program.Length));
        // The three must agree, or the figures compare different work.
        for (int i = 0; i < FrameCount; i++)
        {
            uint jit = _filter.Compiled.Run(_frames[i], _frames[i].Length);
            uint interpreted = BpfInterpreter.Run(_program, _frames[i], _frames[i].Length);
            uint libpcap = LibpcapRun(_frames[i]);
            if (jit != interpreted || jit != libpcap)
            {
                throw new InvalidOperationException($"'{Expression}' frame {i}: JIT {jit}, interpreter {interpreted}, libpcap {libpcap}");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup() => NativeMemory.Free(_native);

    [Benchmark(OperationsPerInvoke = FrameCount)]
    public int Jit()
    {
        CompiledBpfFilter compiled = _filter.Compiled;
        int matched = 0;
        foreach (byte[] frame in _frames)
        {
            matched += compiled.Run(frame, frame.Length) != 0 ? 1 : 0;
        }
        return matched;
    }

    [Benchmark(OperationsPerInvoke = FrameCount)]
    public int Interpreter()
    {
        int matched = 0;
        foreach (byte[] frame in _frames)
        {
            matched += BpfInterpreter.Run(_program, frame, frame.Length) != 0 ? 1 : 0;
        }
        return matched;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = FrameCount)]
    public int Libpcap()
    {
        int matched = 0;
        foreach (byte[] frame in _frames)
        {
            matched += LibpcapRun(frame) != 0 ? 1 : 0;
        }
        return matched;
    }

    private uint LibpcapRun(byte[] frame)
    {
        // The frames are pinned (allocated on the pinned heap), so taking their address costs nothing.
        byte* p = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(frame));
        return Pcap.Filter(_native, p, (uint)frame.Length, (uint)frame.Length);
    }

    private void BuildFrames()
    {
        (string Source, string Destination, byte Protocol, ushort SourcePort, ushort DestinationPort, byte Flags)[] ipv4 =
        [
            ("10.0.0.1", "10.0.0.2", 6, 40000, 80, 0x02),
            ("10.0.0.2", "10.0.0.1", 6, 80, 40000, 0x12),
            ("10.0.0.1", "10.0.0.2", 6, 40000, 80, 0x18),
            ("192.168.1.1", "10.0.0.1", 6, 50000, 22, 0x02),
            ("192.168.1.1", "172.16.0.9", 6, 50001, 443, 0x02),
            ("172.16.0.9", "192.168.1.1", 6, 443, 50001, 0x12),
            ("10.0.0.1", "8.8.8.8", 17, 53000, 53, 0),
            ("8.8.8.8", "10.0.0.1", 17, 53, 53000, 0),
            ("10.0.0.1", "10.0.0.2", 1, 0, 0, 0),
            ("10.9.8.7", "10.0.0.2", 6, 41000, 8080, 0x02),
            ("192.168.1.1", "10.0.0.5", 6, 50002, 80, 0x10),
        ];
        int n = 0;
        foreach (var f in ipv4)
        {
            _frames[n++] = Pinned(Ipv4Frame(f.Source, f.Destination, f.Protocol, f.SourcePort, f.DestinationPort, f.Flags, vlan: false));
        }
        _frames[n++] = Pinned(Ipv4Frame("10.0.0.1", "10.0.0.2", 17, 40001, 53, 0, vlan: true));
        byte[] arp = new byte[60];
        arp.AsSpan(0, 6).Fill(0xff);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(12), 0x0806);
        _frames[n++] = Pinned(arp);
        byte[] arpReply = (byte[])arp.Clone();
        arpReply[21] = 2;
        _frames[n++] = Pinned(arpReply);
        byte[] ipv6 = new byte[74];
        BinaryPrimitives.WriteUInt16BigEndian(ipv6.AsSpan(12), 0x86DD);
        ipv6[14] = 0x60;
        ipv6[20] = 6;
        BinaryPrimitives.WriteUInt16BigEndian(ipv6.AsSpan(56), 80);
        ipv6[67] = 0x02;
        _frames[n++] = Pinned(ipv6);
        byte[] ipv6Udp = (byte[])ipv6.Clone();
        ipv6Udp[20] = 17;
        _frames[n++] = Pinned(ipv6Udp);
        if (n != FrameCount)
        {
            throw new InvalidOperationException($"built {n} frames, expected {FrameCount}");
        }
    }

    private static byte[] Pinned(byte[] bytes)
    {
        byte[] pinned = GC.AllocateArray<byte>(bytes.Length, pinned: true);
        bytes.CopyTo(pinned, 0);
        return pinned;
    }

    private static byte[] Ipv4Frame(string source, string destination, byte protocol, ushort sourcePort, ushort destinationPort, byte flags, bool vlan)
    {
        int l2 = vlan ? 18 : 14;
        byte[] frame = new byte[l2 + 20 + 20 + 6];
        frame[0] = 0x02;
        frame[6] = 0x02;
        if (vlan)
        {
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(14), 10);
        }
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(l2 - 2), 0x0800);
        Span<byte> ip = frame.AsSpan(l2);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(frame.Length - l2));
        ip[8] = 64;
        ip[9] = protocol;
        System.Net.IPAddress.Parse(source).GetAddressBytes().CopyTo(ip[12..]);
        System.Net.IPAddress.Parse(destination).GetAddressBytes().CopyTo(ip[16..]);
        Span<byte> l4 = ip[20..];
        BinaryPrimitives.WriteUInt16BigEndian(l4, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(l4[2..], destinationPort);
        l4[12] = 0x50;
        l4[13] = flags;
        return frame;
    }
}
