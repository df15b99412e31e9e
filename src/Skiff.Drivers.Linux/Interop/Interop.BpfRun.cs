using System.Runtime.InteropServices;

namespace Skiff.Drivers.Linux.Interop;

/// <summary>
/// BPF_PROG_RUN (formerly BPF_PROG_TEST_RUN) in live-frames mode, for <see cref="XdpLiveFrameGenerator"/>
/// (Documentation/bpf/bpf_prog_run.rst, net/bpf/test_run.c: bpf_prog_test_run_xdp).
/// </summary>
internal static unsafe partial class Bpf
{
    public const int BPF_PROG_TEST_RUN = 10;

    /// <summary>Run the XDP program on live frames: its verdict is carried out (XDP_TX transmits out of ingress_ifindex).</summary>
    public const uint BPF_F_TEST_XDP_LIVE_FRAMES = 1u << 1;

    /// <summary>The kernel's largest batch_size in live-frames mode (TEST_XDP_MAX_BATCH); 0 means 64 (NAPI_POLL_WEIGHT).</summary>
    public const int TestXdpMaxBatch = 256;

    /// <summary>
    /// The BPF_PROG_TEST_RUN member of <c>union bpf_attr</c> (linux/bpf.h), padded to the 144 bytes of the union.
    /// In live-frames mode data_out and ctx_out must be 0, or the kernel answers EINVAL.
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 144)]
    public struct TestRunAttr
    {
        [FieldOffset(0)] public uint ProgFd;
        [FieldOffset(4)] public uint Retval;
        [FieldOffset(8)] public uint DataSizeIn;
        [FieldOffset(12)] public uint DataSizeOut;
        [FieldOffset(16)] public ulong DataIn;
        [FieldOffset(24)] public ulong DataOut;
        [FieldOffset(32)] public uint Repeat;
        [FieldOffset(36)] public uint Duration;
        [FieldOffset(40)] public uint CtxSizeIn;
        [FieldOffset(44)] public uint CtxSizeOut;
        [FieldOffset(48)] public ulong CtxIn;
        [FieldOffset(56)] public ulong CtxOut;
        [FieldOffset(64)] public uint Flags;
        [FieldOffset(68)] public uint Cpu;
        [FieldOffset(72)] public uint BatchSize;
    }

    /// <summary>
    /// <c>struct xdp_md</c> as BPF_PROG_RUN's ctx_in (xdp_convert_md_to_buff): data and data_meta 0, data_end the
    /// frame length, egress_ifindex 0, ingress_ifindex an interface of the caller's namespace, rx_queue_index one of
    /// its receive queues.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct XdpMd
    {
        public uint Data;
        public uint DataEnd;
        public uint DataMeta;
        public uint IngressIfIndex;
        public uint RxQueueIndex;
        public uint EgressIfIndex;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long SyscallTestRun(long number, long command, TestRunAttr* attr, long size);

    /// <summary>bpf(BPF_PROG_TEST_RUN, attr): 0 on success, -1 with errno on failure.</summary>
    public static int TestRun(ref TestRunAttr attr)
    {
        fixed (TestRunAttr* p = &attr)
        {
            return (int)SyscallTestRun(SyscallNumber, BPF_PROG_TEST_RUN, p, sizeof(TestRunAttr));
        }
    }
}

/// <summary>sched_setaffinity(2) for pinning the calling thread (the generator's loop) to one CPU.</summary>
internal static unsafe partial class Sched
{
    /// <summary>sched_setaffinity(0 = the calling thread, sizeof mask, mask): 0 or -1 with errno.</summary>
    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    public static partial int SetAffinity(int pid, nuint maskBytes, ulong* mask);

    /// <summary>Pins the calling thread to <paramref name="cpu"/> (0..1023). Returns 0 or the errno.</summary>
    public static int PinCurrentThread(int cpu)
    {
        ulong* mask = stackalloc ulong[16]; // cpu_set_t: 1024 bits
        for (int i = 0; i < 16; i++)
        {
            mask[i] = 0;
        }
        mask[cpu / 64] = 1UL << (cpu % 64);
        return SetAffinity(0, 128, mask) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }
}
