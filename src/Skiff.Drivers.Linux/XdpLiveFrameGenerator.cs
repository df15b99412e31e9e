using System.Runtime.InteropServices;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A line-rate frame generator in the kernel (what xdp-trafficgen does): a two-instruction XDP program that returns
/// XDP_TX, run with bpf(BPF_PROG_RUN) and BPF_F_TEST_XDP_LIVE_FRAMES on a frame the caller gives, <c>repeat</c>
/// times per call, with the interface as <c>xdp_md.ingress_ifindex</c>. The kernel copies the frame into a page
/// pool of <see cref="BatchSize"/> pages, runs the program on each copy and, because the program says XDP_TX,
/// redirects the batch out of that interface (ndo_xdp_xmit). No socket, no skb: one syscall sends
/// <see cref="RepeatPerCall"/> frames.
/// </summary>
/// <remarks>
/// <para>Needs CAP_BPF and CAP_NET_ADMIN (root), and a driver with ndo_xdp_xmit (veth has it). On veth the frames
/// arrive at the peer only if the peer has an XDP program attached or GRO on (veth then runs NAPI); otherwise the
/// kernel drops them and <see cref="FramesSent"/> still counts them: it counts frames offered to the driver.</para>
/// <para>Every BPF_PROG_RUN of an XDP program adds it to the kernel's XDP dispatcher and removes it afterwards, and
/// each change waits for an RCU grace period (synchronize_rcu, milliseconds): measured here, that left the generator's
/// CPU idle about 40 % of the time at 16,384 frames per call. A program the dispatcher already holds is only
/// reference-counted, so with a <c>holdInterface</c> the generator also attaches its program natively to that
/// interface (a spare veth of its own, which should carry no traffic: what arrives there is sent back out of it)
/// for its lifetime, and the calls cost no grace period.</para>
/// <para>Some kernels refuse live-frames runs with EPERM even to a process that has every capability they ask for
/// (Linux 6.18.44 here, while a plain BPF_PROG_RUN of the same program works): <see cref="Probe"/> tells beforehand,
/// <see cref="SendBatch"/> says so in its error, and <see cref="XdpLoopFrameGenerator"/> is the generator to use there.</para>
/// <para>Setup errors throw <see cref="DriverException"/> saying what to do. One thread at a time.</para>
/// </remarks>
public sealed unsafe class XdpLiveFrameGenerator : IDisposable
{
    private readonly BpfFileDescriptor _program;
    private readonly BpfFileDescriptor? _hold;
    private readonly byte* _frame;
    private readonly int _frameBytes;
    private bool _disposed;

    /// <summary>Loads the XDP_TX program and copies <paramref name="frame"/> (14 to 3500 bytes, a whole Ethernet frame without FCS).</summary>
    /// <param name="interfaceName">The interface to transmit out of, in the calling thread's network namespace.</param>
    /// <param name="frame">The frame sent, as is (destination MAC first).</param>
    /// <param name="batchSize">Frames per kernel batch (1 to 256; the kernel's default is 64).</param>
    /// <param name="repeatPerCall">Frames per bpf() call: large enough to amortize the syscall, small enough to stop on time.</param>
    /// <param name="holdInterface">An interface (native XDP, no traffic) to attach the program to while the generator lives, so
    /// that each call skips the dispatcher's two RCU grace periods; null: none.</param>
    public XdpLiveFrameGenerator(string interfaceName, ReadOnlySpan<byte> frame, int batchSize = 64, int repeatPerCall = 1 << 14, string? holdInterface = null)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        if (frame.Length is < 14 or > 3500)
        {
            throw new ArgumentOutOfRangeException(nameof(frame), $"The frame is {frame.Length} bytes; give a whole Ethernet frame of 14 to 3500 bytes (it must fit one page with the kernel's headroom).");
        }
        if (batchSize is < 1 or > Bpf.TestXdpMaxBatch)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"Batch size {batchSize} must be from 1 to {Bpf.TestXdpMaxBatch} (the kernel's TEST_XDP_MAX_BATCH).");
        }
        if (repeatPerCall < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(repeatPerCall), "Give at least one frame per call.");
        }
        int ifIndex = (int)Libc.IfNameToIndex(interfaceName);
        if (ifIndex == 0)
        {
            throw new DriverException($"There is no interface named {interfaceName} in this network namespace: check the name with 'ip link'.", Marshal.GetLastPInvokeError());
        }
        InterfaceName = interfaceName;
        IfIndex = ifIndex;
        BatchSize = batchSize;
        RepeatPerCall = repeatPerCall;
        // r0 = XDP_TX; exit. In live-frames mode XDP_TX becomes a redirect out of ingress_ifindex.
        BpfInstruction[] program = [BpfInstruction.Mov64(BpfRegister.R0, Bpf.XDP_TX), BpfInstruction.Exit()];
        _program = BpfLoader.LoadXdpProgram(program, "skiff_xdp_gen");
        _frameBytes = frame.Length;
        _frame = (byte*)NativeMemory.Alloc((nuint)frame.Length);
        frame.CopyTo(new Span<byte>(_frame, frame.Length));
        if (holdInterface is not null)
        {
            _hold = Hold(holdInterface);
            HoldInterface = holdInterface;
        }
    }

    /// <summary>The interface frames go out of.</summary>
    public string InterfaceName { get; }

    /// <summary>Its index in the namespace the generator was created in.</summary>
    public int IfIndex { get; }

    /// <summary>The interface the program is attached to natively to keep it in the XDP dispatcher, or null.</summary>
    public string? HoldInterface { get; }

    /// <summary>Frames per kernel batch (BPF_PROG_RUN's batch_size).</summary>
    public int BatchSize { get; }

    /// <summary>Frames per bpf() call (BPF_PROG_RUN's repeat).</summary>
    public int RepeatPerCall { get; }

    /// <summary>Frames handed to the kernel so far (every repetition of a call that succeeded).</summary>
    public long FramesSent { get; private set; }

    /// <summary>
    /// One bpf(BPF_PROG_RUN) call: the kernel transmits <paramref name="repeat"/> copies of the frame. Returns false
    /// when a signal interrupted the call (EINTR: an unknown part was sent, none counted); throws for other errors.
    /// </summary>
    public bool SendBatch(int repeat)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int errno = Run(_program, _frame, _frameBytes, IfIndex, repeat, BatchSize, Bpf.BPF_F_TEST_XDP_LIVE_FRAMES);
        if (errno != 0)
        {
            if (errno == Libc.EINTR)
            {
                return false;
            }
            throw Failure(errno);
        }
        FramesSent += repeat;
        return true;
    }

    /// <summary>
    /// Sends for <paramref name="duration"/> (or until <paramref name="cancellation"/>) from the calling thread, first
    /// pinned to <paramref name="cpu"/> (negative: not pinned), and calls <paramref name="perSecond"/> with the
    /// second's number (1, 2, ...) and the frames sent in it, once a second. Returns the frames sent by this call.
    /// </summary>
    public long Run(TimeSpan duration, int cpu = 0, Action<int, long>? perSecond = null, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return GeneratorThread.SendFor(duration, cpu, perSecond, cancellation, () => FramesSent, () => SendBatch(RepeatPerCall));
    }

    /// <summary>
    /// Asks the kernel whether it runs XDP live frames here: loads a program that returns XDP_DROP (so nothing is
    /// transmitted) and runs it on one 60-byte frame, once with BPF_F_TEST_XDP_LIVE_FRAMES and <paramref name="interfaceName"/>
    /// as the ingress interface, once as a plain test run. Needs CAP_BPF to load the program; throws
    /// <see cref="DriverException"/> if the load fails (the message says why).
    /// </summary>
    /// <param name="interfaceName">An interface of the calling thread's network namespace ("lo" serves).</param>
    public static XdpLiveFrameProbe Probe(string interfaceName = "lo")
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        int ifIndex = (int)Libc.IfNameToIndex(interfaceName);
        if (ifIndex == 0)
        {
            throw new DriverException($"There is no interface named {interfaceName} in this network namespace: check the name with 'ip link'.", Marshal.GetLastPInvokeError());
        }
        BpfInstruction[] drop = [BpfInstruction.Mov64(BpfRegister.R0, Bpf.XDP_DROP), BpfInstruction.Exit()];
        using BpfFileDescriptor program = BpfLoader.LoadXdpProgram(drop, "skiff_xdp_probe");
        byte* frame = stackalloc byte[60];
        new Span<byte>(frame, 60).Clear();
        int live = Run(program, frame, 60, ifIndex, 1, 1, Bpf.BPF_F_TEST_XDP_LIVE_FRAMES);
        int plain = Run(program, frame, 60, ifIndex, 1, 0, 0);
        return new XdpLiveFrameProbe(live, plain, ProcessCapabilities.HasBpfNetworking());
    }

    /// <summary>One bpf(BPF_PROG_RUN) of <paramref name="program"/> on the frame; returns 0 or the errno.</summary>
    private static int Run(BpfFileDescriptor program, byte* frame, int frameBytes, int ifIndex, int repeat, int batchSize, uint flags)
    {
        Bpf.XdpMd context = new()
        {
            Data = 0,
            DataMeta = 0,
            DataEnd = (uint)frameBytes, // must equal data_size_in
            IngressIfIndex = (uint)ifIndex,
            RxQueueIndex = 0,
            EgressIfIndex = 0,
        };
        Bpf.TestRunAttr attr = default;
        attr.ProgFd = (uint)program.Fd;
        attr.DataIn = (ulong)frame;
        attr.DataSizeIn = (uint)frameBytes;
        attr.Repeat = (uint)repeat;
        attr.CtxIn = (ulong)&context;
        attr.CtxSizeIn = (uint)sizeof(Bpf.XdpMd);
        attr.Flags = flags;
        attr.BatchSize = (uint)batchSize;
        return Bpf.TestRun(ref attr) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>The exception for a failed live-frames run, saying what really happened.</summary>
    private DriverException Failure(int errno)
    {
        string advice;
        if (errno is Libc.EPERM or Libc.EACCES)
        {
            if (ProcessCapabilities.HasBpfNetworking())
            {
                // Not a missing privilege: tell the user what the kernel did, and whether a plain run of this very program works.
                bool plainWorks = Run(_program, _frame, _frameBytes, IfIndex, 1, 0, 0) == 0;
                advice = "The kernel refuses live-frames runs (BPF_F_TEST_XDP_LIVE_FRAMES) although the process has CAP_BPF and CAP_NET_ADMIN" +
                    (plainWorks ? "; a plain BPF_PROG_RUN of the same program works" : "") +
                    $". This kernel cannot run this generator: use {nameof(XdpLoopFrameGenerator)} instead (bench/drivers.sh does), or {nameof(TcCloneFrameGenerator)}.";
            }
            else
            {
                string missing = ProcessCapabilities.Effective() is ulong mask ? ProcessCapabilities.Missing(mask) : "CAP_BPF and CAP_NET_ADMIN";
                advice = $"The process lacks {missing}: run as root.";
            }
        }
        else
        {
            advice = errno switch
            {
                Libc.EINVAL => "The kernel refused the live-frames run: it needs Linux 5.18 or later, and the interface must exist in this namespace.",
                Libc.EOPNOTSUPP => $"The driver of {InterfaceName} cannot transmit XDP frames (no ndo_xdp_xmit): use a veth or a NIC with native XDP.",
                _ => "Check that the kernel has BPF_F_TEST_XDP_LIVE_FRAMES (5.18+).",
            };
        }
        return new DriverException($"Running the XDP generator on {InterfaceName} (bpf BPF_PROG_RUN, live frames) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
    }

    private BpfFileDescriptor Hold(string holdInterface)
    {
        int holdIndex = (int)Libc.IfNameToIndex(holdInterface);
        if (holdIndex == 0 || holdIndex == IfIndex)
        {
            _program.Dispose();
            NativeMemory.Free(_frame);
            string why = holdIndex == 0 ? "there is no such interface in this network namespace" : "it is the interface the generator transmits on";
            throw new DriverException($"Cannot hold the generator's program on {holdInterface}: {why}. Create a spare veth pair for it (ip link add NAME type veth peer name NAME2) or give no hold interface.", 0);
        }
        BpfFileDescriptor? link = BpfLoader.TryCreateXdpLink(_program, holdIndex, Bpf.XDP_FLAGS_DRV_MODE, out int errno);
        if (link is null)
        {
            _program.Dispose();
            NativeMemory.Free(_frame);
            throw new DriverException($"Attaching the generator's program natively to {holdInterface} failed: {Libc.Describe(errno)} (errno {errno}). The hold interface needs a driver with native XDP and no program attached (a spare veth works), or give no hold interface.", errno);
        }
        return link;
    }

    /// <summary>Unloads the program (closes its fd) and frees the frame. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _hold?.Dispose();
        _program.Dispose();
        NativeMemory.Free(_frame);
    }
}
