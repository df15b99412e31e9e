using System.Runtime.InteropServices;
using System.Text;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A frame generator in the kernel's tc layer, for benchmarks: each frame the generator writes to an AF_PACKET socket
/// on a spare <em>trigger</em> interface becomes <see cref="ClonesPerFrame"/> frames out of the target interface. A
/// tc program at the trigger's egress (a tcx link) calls <c>bpf_clone_redirect</c> that many times, unrolled, to the
/// target's egress, and then drops the original (TC_ACT_SHOT: a tcx link has no "stolen"), so nothing leaves the
/// trigger itself and the socket's send answers ENOBUFS, which the generator expects. One system
/// call sends <see cref="ClonesPerFrame"/> frames; a clone shares the frame's data, so each costs an skb head and one
/// transmit on the target, no copy.
/// </summary>
/// <remarks>
/// <para>Needs Linux 6.6 or later (tcx links), CAP_BPF and CAP_NET_ADMIN (root), and two interfaces in the calling
/// thread's network namespace: the target and a trigger that is up and has no other tcx egress program (one end of a
/// spare veth pair serves). Only the generator's own frames are cloned: its socket marks them (SO_MARK
/// <see cref="TriggerMark"/>) and the program passes any other frame on the trigger unchanged.</para>
/// <para>It replaces <see cref="XdpLiveFrameGenerator"/> where the kernel refuses live-frames runs (Linux 6.18 here
/// answers EPERM even to root). On veth the clones queue in the peer's 256-frame ring and the peer's NAPI drains
/// it when the send call returns, on the sending CPU: keep <see cref="ClonesPerFrame"/> at or below 256, or the ring
/// overflows and the clones it refuses are counted in <see cref="FramesRefused"/>. On veth the frames arrive at the
/// peer's XDP program, its GRO or the stack as ordinary skbs; unlike XDP_TX frames they need neither.</para>
/// <para><see cref="FramesSent"/> counts clones the target accepted (bpf_clone_redirect returned 0), read from the
/// program's own counters, so a frame dropped by the target's driver is not counted as sent. Setup errors throw
/// <see cref="DriverException"/> saying what to do. One thread at a time.</para>
/// </remarks>
public sealed unsafe class TcCloneFrameGenerator : IDisposable
{
    /// <summary>The largest <see cref="ClonesPerFrame"/>: the program stays far below the verifier's limits, and veth's ring holds 256.</summary>
    public const int MaxClonesPerFrame = 256;

    private const string ProgramName = "skiff_clone_gen";

    /// <summary>The SO_MARK the generator's socket puts on its frames; the program clones only frames with it.</summary>
    public const uint TriggerMark = 0x534b4631; // "SKF1"

    // __sk_buff field offsets (linux/bpf.h): len 0, pkt_type 4, mark 8.
    private const short SkBuffMark = 8;

    private readonly BpfFileDescriptor _counters;
    private readonly BpfFileDescriptor _program;
    private readonly BpfFileDescriptor _link;
    private readonly int _socket;
    private readonly byte* _frame;
    private readonly int _frameBytes;
    private readonly ushort _etherTypeNetworkOrder;
    private long _triggersSent;
    private bool _disposed;

    /// <summary>Loads and attaches the program and opens the trigger socket; <paramref name="frame"/> is copied.</summary>
    /// <param name="interfaceName">The interface the frames go out of, in the calling thread's network namespace.</param>
    /// <param name="frame">The frame sent, as is (destination MAC first), 14 to 9000 bytes.</param>
    /// <param name="triggerInterface">A spare interface that is up (one end of a veth pair): the program sits at its egress.</param>
    /// <param name="clonesPerFrame">Frames out of <paramref name="interfaceName"/> per frame written (1 to <see cref="MaxClonesPerFrame"/>).</param>
    public TcCloneFrameGenerator(string interfaceName, ReadOnlySpan<byte> frame, string triggerInterface, int clonesPerFrame = 64)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(triggerInterface);
        if (frame.Length is < 14 or > 9000)
        {
            throw new ArgumentOutOfRangeException(nameof(frame), $"The frame is {frame.Length} bytes; give a whole Ethernet frame of 14 to 9000 bytes.");
        }
        if (clonesPerFrame is < 1 or > MaxClonesPerFrame)
        {
            throw new ArgumentOutOfRangeException(nameof(clonesPerFrame), $"Clones per frame is {clonesPerFrame}; give 1 to {MaxClonesPerFrame} (a veth peer's ring holds 256 frames).");
        }
        int ifIndex = IndexOf(interfaceName);
        int triggerIndex = IndexOf(triggerInterface);
        if (triggerIndex == ifIndex)
        {
            throw new DriverException($"The trigger interface {triggerInterface} is the interface the generator transmits on: give a spare one " +
                "(ip link add NAME type veth peer name NAME2; ip link set NAME up; ip link set NAME2 up).");
        }
        InterfaceName = interfaceName;
        IfIndex = ifIndex;
        TriggerInterface = triggerInterface;
        ClonesPerFrame = clonesPerFrame;
        _etherTypeNetworkOrder = (ushort)(frame[12] | (frame[13] << 8)); // the frame's bytes 12-13 are already big-endian

        _counters = CreateCounters();
        try
        {
            _program = LoadProgram(BuildProgram(_counters.Fd, ifIndex, clonesPerFrame));
            _link = AttachEgress(_program, triggerIndex, triggerInterface);
            _socket = OpenSocket(triggerInterface);
        }
        catch
        {
            _link?.Dispose();
            _program?.Dispose();
            _counters.Dispose();
            throw;
        }
        _frameBytes = frame.Length;
        _frame = (byte*)NativeMemory.Alloc((nuint)frame.Length);
        frame.CopyTo(new Span<byte>(_frame, frame.Length));
        TriggerIfIndex = triggerIndex;
    }

    /// <summary>The interface frames go out of.</summary>
    public string InterfaceName { get; }

    /// <summary>Its index in the namespace the generator was created in.</summary>
    public int IfIndex { get; }

    /// <summary>The interface whose egress holds the program and takes the generator's own frames.</summary>
    public string TriggerInterface { get; }

    /// <summary>Its index.</summary>
    public int TriggerIfIndex { get; }

    /// <summary>Frames out of <see cref="InterfaceName"/> per frame written to the trigger.</summary>
    public int ClonesPerFrame { get; }

    /// <summary>Frames written to the trigger socket so far.</summary>
    public long TriggersSent => _triggersSent;

    /// <summary>Clones the target interface accepted (bpf_clone_redirect returned 0), from the program's counters (one bpf() call).</summary>
    public long FramesSent => ReadCounter(0);

    /// <summary>Clones the target refused (its driver dropped them, e.g. a full veth ring), from the program's counters.</summary>
    public long FramesRefused => ReadCounter(1);

    /// <summary>
    /// Writes the frame <paramref name="frames"/> times to the trigger: the kernel sends <paramref name="frames"/> ×
    /// <see cref="ClonesPerFrame"/> frames out of <see cref="InterfaceName"/> before each write returns. Each write
    /// answers ENOBUFS because the program drops the original after cloning it: that is success here. Returns false if
    /// a signal interrupted a write (EINTR; the writes before it were sent); throws for other errors.
    /// </summary>
    public bool SendBatch(int frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Packet.SockAddrLl address = new()
        {
            Family = Libc.AF_PACKET,
            Protocol = _etherTypeNetworkOrder,
            IfIndex = TriggerIfIndex,
            HaLen = 6,
        };
        for (int i = 0; i < frames; i++)
        {
            if (Libc.SendTo(_socket, _frame, (nuint)_frameBytes, 0, &address, sizeof(Packet.SockAddrLl)) < 0
                && Marshal.GetLastPInvokeError() is int errno && errno != Libc.ENOBUFS)
            {
                if (errno == Libc.EINTR)
                {
                    return false;
                }
                string advice = errno switch
                {
                    100 => $"Bring the trigger interface up (ip link set {TriggerInterface} up), and its veth peer too.", // ENETDOWN
                    _ => "Check that both interfaces still exist in this namespace.",
                };
                throw new DriverException($"Writing the trigger frame to {TriggerInterface} (sendto on AF_PACKET) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
            }
            _triggersSent++;
        }
        return true;
    }

    /// <summary>
    /// Sends for <paramref name="duration"/> (or until <paramref name="cancellation"/>) from the calling thread, first
    /// pinned to <paramref name="cpu"/> (negative: not pinned), and calls <paramref name="perSecond"/> once a second with
    /// the second's number (1, 2, ...) and the frames the target accepted in it. Returns the frames accepted during the call.
    /// </summary>
    public long Run(TimeSpan duration, int cpu = 0, Action<int, long>? perSecond = null, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // 16 writes between clock reads: at 64 clones each, about 1,000 frames, a fraction of a millisecond.
        return GeneratorThread.SendFor(duration, cpu, perSecond, cancellation, () => FramesSent, () => SendBatch(16));
    }

    /// <summary>Detaches and unloads the program, closes the socket and frees the frame. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Libc.Close(_socket);
        _link.Dispose();
        _program.Dispose();
        _counters.Dispose();
        NativeMemory.Free(_frame);
    }

    /// <summary>
    /// The program: if the frame carries <see cref="TriggerMark"/>, clone it <paramref name="clones"/> times to the
    /// egress of <paramref name="targetIndex"/> (unrolled: no loop for the verifier to bound), count the clones the
    /// target took and refused into counters[0] and [1] with atomic adds, and drop the original; else leave it to the
    /// next program or the stack (TC_ACT_UNSPEC).
    /// </summary>
    internal static BpfInstruction[] BuildProgram(int countersFd, int targetIndex, int clones)
    {
        BpfAssembler a = new();
        int pass = a.DefineLabel();
        int done = a.DefineLabel();
        a.Emit(BpfInstruction.Mov64(BpfRegister.R6, BpfRegister.R1));
        a.Emit(BpfInstruction.LoadMemory(BpfInstruction.SizeW, BpfRegister.R2, BpfRegister.R6, SkBuffMark));
        a.EmitJump(BpfInstruction.Jump32(BpfInstruction.JumpNe, BpfRegister.R2, unchecked((int)TriggerMark), 0), pass);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R7, 0)); // accepted
        a.Emit(BpfInstruction.Mov64(BpfRegister.R8, 0)); // refused
        for (int i = 0; i < clones; i++)
        {
            a.Emit(BpfInstruction.Mov64(BpfRegister.R1, BpfRegister.R6));
            a.Emit(BpfInstruction.Mov64(BpfRegister.R2, targetIndex));
            a.Emit(BpfInstruction.Mov64(BpfRegister.R3, 0)); // flags 0: to the egress of the target
            a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_clone_redirect));
            // r0 == 0: accepted; else refused (a negative errno, or NET_XMIT_DROP from the driver).
            a.Emit(BpfInstruction.Jump(BpfInstruction.JumpNe, BpfRegister.R0, 0, 2));
            a.Emit(BpfInstruction.Add64(BpfRegister.R7, 1));
            a.Emit(BpfInstruction.Goto(1));
            a.Emit(BpfInstruction.Add64(BpfRegister.R8, 1));
        }
        a.Emit(BpfInstruction.StoreImmediate(BpfInstruction.SizeW, BpfRegister.R10, -4, 0));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R2, BpfRegister.R10));
        a.Emit(BpfInstruction.Add64(BpfRegister.R2, -4));
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, countersFd));
        a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_map_lookup_elem));
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpEq, BpfRegister.R0, 0, 0), done);
        a.Emit(BpfInstruction.AtomicAdd64(BpfRegister.R0, BpfRegister.R7, 0));
        a.Emit(BpfInstruction.AtomicAdd64(BpfRegister.R0, BpfRegister.R8, 8));
        a.Mark(done);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R0, Bpf.TC_ACT_SHOT));
        a.Emit(BpfInstruction.Exit());
        a.Mark(pass);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R0, Bpf.TC_ACT_UNSPEC));
        a.Emit(BpfInstruction.Exit());
        return a.Build();
    }

    private static int IndexOf(string name)
    {
        int index = (int)Libc.IfNameToIndex(name);
        if (index == 0)
        {
            throw new DriverException($"There is no interface named {name} in this network namespace: check the name with 'ip link'.", Marshal.GetLastPInvokeError());
        }
        return index;
    }

    private static string PrivilegeAdvice(int errno)
    {
        if (errno is not (Libc.EPERM or Libc.EACCES))
        {
            return "";
        }
        return ProcessCapabilities.Effective() is ulong mask && ProcessCapabilities.Missing(mask) is { Length: > 0 } missing
            ? $" The process lacks {missing}: run as root."
            : " The process has CAP_BPF and CAP_NET_ADMIN, so a security module or sysctl (kernel.unprivileged_bpf_disabled does not apply to root) refuses it: check the kernel log.";
    }

    private static BpfFileDescriptor CreateCounters()
    {
        Bpf.Attr attr = default;
        attr.MapType = Bpf.BPF_MAP_TYPE_ARRAY;
        attr.KeySize = 4;
        attr.ValueSize = 16;
        attr.MaxEntries = 1;
        byte* name = attr.MapName;
        Encoding.ASCII.GetBytes("skiff_clone_cnt", new Span<byte>(name, 15));
        int fd = Bpf.Call(Bpf.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new DriverException($"Creating the clone generator's counters (bpf BPF_MAP_CREATE) failed: {Libc.Describe(errno)} (errno {errno}).{PrivilegeAdvice(errno)}", errno);
        }
        return new BpfFileDescriptor(fd);
    }

    private long ReadCounter(int index)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        uint key = 0;
        ulong* value = stackalloc ulong[2];
        Bpf.Attr attr = default;
        attr.MapFd = (uint)_counters.Fd;
        attr.Key = (ulong)&key;
        attr.Value = (ulong)value;
        if (Bpf.Call(Bpf.BPF_MAP_LOOKUP_ELEM, ref attr) != 0)
        {
            throw DriverException.FromLastError("Reading the clone generator's counters (bpf BPF_MAP_LOOKUP_ELEM)", "This is a bug in Skiff; please report it.");
        }
        return (long)value[index];
    }

    private static BpfFileDescriptor LoadProgram(BpfInstruction[] program)
    {
        // bpf_clone_redirect is a GPL-only helper.
        int fd = BpfLoader.Load(program, ProgramName, Bpf.BPF_PROG_TYPE_SCHED_CLS, Bpf.BPF_TCX_EGRESS, "GPL\0"u8, null, 0, out int errno);
        if (fd >= 0)
        {
            return new BpfFileDescriptor(fd);
        }
        if (errno is Libc.EPERM or Libc.EACCES)
        {
            throw new DriverException($"Loading the clone generator's tc program failed: {Libc.Describe(errno)} (errno {errno}).{PrivilegeAdvice(errno)}", errno);
        }
        fd = BpfLoader.LoadWithVerifierLog(program, ProgramName, Bpf.BPF_PROG_TYPE_SCHED_CLS, Bpf.BPF_TCX_EGRESS, "GPL\0"u8, out errno, out string log);
        if (fd >= 0)
        {
            return new BpfFileDescriptor(fd);
        }
        throw new DriverException(
            $"The kernel's verifier refused the clone generator's tc program ({program.Length} instructions): {Libc.Describe(errno)} (errno {errno}). " +
            $"This is a bug in Skiff; please report it with this log.{Environment.NewLine}{log}", errno);
    }

    private static BpfFileDescriptor AttachEgress(BpfFileDescriptor program, int ifIndex, string name)
    {
        Bpf.Attr attr = default;
        attr.LinkProgFd = (uint)program.Fd;
        attr.LinkTargetIfIndex = (uint)ifIndex;
        attr.LinkAttachType = Bpf.BPF_TCX_EGRESS;
        int fd = Bpf.Call(Bpf.BPF_LINK_CREATE, ref attr);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string advice = errno switch
            {
                Libc.EINVAL => "tcx links need Linux 6.6 or later.",
                Libc.EPERM or Libc.EACCES => PrivilegeAdvice(errno).Trim(),
                _ => $"Check that {name} still exists.",
            };
            throw new DriverException($"Attaching the clone generator's program to the egress of {name} (bpf BPF_LINK_CREATE, tcx) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
        }
        return new BpfFileDescriptor(fd);
    }

    private static int OpenSocket(string trigger)
    {
        // Protocol 0: the socket only sends (it receives nothing); sendto names the interface and EtherType.
        int fd = Libc.Socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw DriverException.FromLastError($"Opening the AF_PACKET socket for the trigger {trigger}", "It needs CAP_NET_RAW: run as root.");
        }
        uint mark = TriggerMark;
        if (Libc.SetSockOpt(fd, Packet.SOL_SOCKET, Libc.SO_MARK, &mark, sizeof(uint)) != 0)
        {
            DriverException e = DriverException.FromLastError("Marking the trigger socket's frames (SO_MARK)", "It needs CAP_NET_ADMIN: run as root.");
            Libc.Close(fd);
            throw e;
        }
        return fd;
    }
}
