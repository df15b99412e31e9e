using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// The bpf(2) system call and the parts of <c>union bpf_attr</c> (linux/bpf.h) Skiff uses: BPF_MAP_CREATE,
/// BPF_MAP_UPDATE_ELEM, BPF_PROG_LOAD and BPF_LINK_CREATE. glibc has no bpf() wrapper, so the call goes
/// through syscall(2) with the architecture's number.
/// </summary>
internal static unsafe partial class Bpf
{
    // enum bpf_cmd
    public const int BPF_MAP_CREATE = 0;
    public const int BPF_MAP_UPDATE_ELEM = 2;
    public const int BPF_PROG_LOAD = 5;
    public const int BPF_LINK_CREATE = 28;

    // enum bpf_map_type
    public const uint BPF_MAP_TYPE_XSKMAP = 17;

    // enum bpf_prog_type
    public const uint BPF_PROG_TYPE_XDP = 6;

    // enum bpf_attach_type
    public const uint BPF_XDP = 37;

    // BPF_MAP_UPDATE_ELEM flags
    public const ulong BPF_ANY = 0;

    // src_reg of a BPF_LD_IMM64 whose immediate is a map file descriptor
    public const byte BPF_PSEUDO_MAP_FD = 1;

    // enum bpf_func_id
    public const int BPF_FUNC_redirect_map = 51;

    // linux/if_link.h: flags of an XDP attachment
    public const uint XDP_FLAGS_UPDATE_IF_NOEXIST = 1u << 0;
    public const uint XDP_FLAGS_SKB_MODE = 1u << 1;
    public const uint XDP_FLAGS_DRV_MODE = 1u << 2;

    // errno the XDP attach path reports when a program is already attached (Interop.Libc.cs lacks it)
    public const int EEXIST = 17;

    // enum xdp_action
    public const int XDP_ABORTED = 0;
    public const int XDP_DROP = 1;
    public const int XDP_PASS = 2;
    public const int XDP_TX = 3;
    public const int XDP_REDIRECT = 4;

    // struct xdp_md field offsets (the XDP program's context)
    public const short XdpMdData = 0;
    public const short XdpMdDataEnd = 4;
    public const short XdpMdRxQueueIndex = 16;

    /// <summary>
    /// <c>union bpf_attr</c>, 144 bytes on 6.x kernels. The kernel accepts a shorter or longer attr as long as
    /// the bytes it does not know are zero, so one zeroed struct with the members below serves every command.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct Attr
    {
        // BPF_MAP_CREATE
        [FieldOffset(0)] public uint MapType;
        [FieldOffset(4)] public uint KeySize;
        [FieldOffset(8)] public uint ValueSize;
        [FieldOffset(12)] public uint MaxEntries;
        [FieldOffset(16)] public uint MapFlags;
        [FieldOffset(28)] public fixed byte MapName[16];

        // BPF_MAP_*_ELEM
        [FieldOffset(0)] public uint MapFd;
        [FieldOffset(8)] public ulong Key;
        [FieldOffset(16)] public ulong Value;
        [FieldOffset(24)] public ulong ElemFlags;

        // BPF_PROG_LOAD
        [FieldOffset(0)] public uint ProgType;
        [FieldOffset(4)] public uint InsnCount;
        [FieldOffset(8)] public ulong Insns;
        [FieldOffset(16)] public ulong License;
        [FieldOffset(24)] public uint LogLevel;
        [FieldOffset(28)] public uint LogSize;
        [FieldOffset(32)] public ulong LogBuf;
        [FieldOffset(40)] public uint KernVersion;
        [FieldOffset(44)] public uint ProgFlags;
        [FieldOffset(48)] public fixed byte ProgName[16];
        [FieldOffset(64)] public uint ProgIfIndex;
        [FieldOffset(68)] public uint ExpectedAttachType;

        // BPF_LINK_CREATE
        [FieldOffset(0)] public uint LinkProgFd;
        [FieldOffset(4)] public uint LinkTargetIfIndex;
        [FieldOffset(8)] public uint LinkAttachType;
        [FieldOffset(12)] public uint LinkFlags;
    }

    /// <summary>The bpf(2) system call number of the running architecture.</summary>
    public static long SyscallNumber => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 321,
        Architecture.Arm64 => 280,
        Architecture.RiscV64 => 280,
        Architecture.LoongArch64 => 280,
        _ => throw new PlatformNotSupportedException($"Skiff does not know the bpf(2) system call number on {RuntimeInformation.ProcessArchitecture}; use --driver afpacket."),
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long command, Attr* attr, long size);

    /// <summary>bpf(<paramref name="command"/>, <paramref name="attr"/>, sizeof(attr)): a file descriptor or 0 on success, -1 with errno on failure.</summary>
    public static int Call(int command, ref Attr attr)
    {
        fixed (Attr* p = &attr)
        {
            return (int)Syscall(SyscallNumber, command, p, sizeof(Attr));
        }
    }
}
