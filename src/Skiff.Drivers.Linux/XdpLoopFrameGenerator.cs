using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Skiff.Drivers.Linux.Interop;

namespace Skiff.Drivers.Linux;

/// <summary>
/// A frame generator that runs in the kernel's XDP path without BPF_PROG_RUN, for benchmarks: a few frames circulate
/// in a spare veth pair (the <em>loop</em>), and each time one arrives at the loop's far end an XDP program there
/// broadcasts it through a device map to the target interface <see cref="CopiesPerPass"/> times and once back into the
/// loop. The frames stay XDP frames all the way (no skb), so the target's peer receives them as XDP_TX or a redirect
/// would deliver them.
/// </summary>
/// <remarks>
/// <para>Needs CAP_BPF and CAP_NET_ADMIN (root), drivers with native XDP and ndo_xdp_xmit for the loop and the target
/// (veth), and a target whose peer can take XDP frames (on veth: an XDP program attached there, or GRO on). The loop
/// is two interfaces of one veth pair in the calling thread's namespace, both up, carrying nothing else: the generator
/// injects its frames at <see cref="LoopInterface"/> with an AF_PACKET socket, and its program sits on
/// <see cref="LoopPeerInterface"/>. It turns IPv6 off on both (so the kernel sends nothing of its own into the loop).</para>
/// <para>It replaces <see cref="XdpLiveFrameGenerator"/> where the kernel refuses live-frames runs (Linux 6.18 here
/// answers EPERM even to root). The loop runs in softirq (or ksoftirqd) on the CPU whose thread called
/// <see cref="Start"/>, and keeps that CPU busy until <see cref="Stop"/>; the target's peer processes the frames on the
/// same CPU (veth runs the receiver's NAPI where the sender flushed). The broadcast copies each frame into a new page
/// (xdpf_clone). Measured here into an XDP_DROP receiver on one CPU: 2.1 Mpps with one copy per pass (the program's
/// run and the loop's own transmit per frame), 2.7 with four, 3.2-3.4 with 8 to 32 copies and 2 to 4 frames in flight;
/// 24 frames in flight with 4 or more copies overflow the veth rings (256 frames) and the rate collapses to 0.4-0.8.</para>
/// <para><see cref="FramesSent"/> counts frames the program handed to the device map for the target (passes ×
/// <see cref="CopiesPerPass"/>), read from its own counter; a frame the target's driver then refuses (a full ring)
/// shows in the peer's rx_dropped, not here. A budget of passes makes the count exact for tests. Setup errors throw
/// <see cref="DriverException"/> saying what to do. One thread at a time.</para>
/// </remarks>
public sealed unsafe class XdpLoopFrameGenerator : IDisposable
{
    /// <summary>The most copies per pass (device-map entries for the target).</summary>
    public const int MaxCopiesPerPass = 64;

    /// <summary>The most frames in flight: a veth ring holds 256, and the loop's own frames must fit beside the copies.</summary>
    public const int MaxFramesInFlight = 128;

    private const uint SentKey = 0;
    private const uint BudgetKey = 1;

    private readonly BpfFileDescriptor _counters;
    private readonly BpfFileDescriptor _devices;
    private readonly BpfFileDescriptor _program;
    private readonly BpfFileDescriptor _link;
    private readonly int _socket;
    private readonly byte[] _frame;
    private bool _disposed;

    /// <summary>Sets the loop up (device map, program attached natively to the loop's far end, injection socket); sends nothing yet.</summary>
    /// <param name="interfaceName">The interface the frames go out of, in the calling thread's network namespace.</param>
    /// <param name="frame">The frame sent, as is (destination MAC first), 14 to 3000 bytes.</param>
    /// <param name="loopInterface">One end of a spare veth pair, up: frames are injected here.</param>
    /// <param name="loopPeerInterface">Its peer, up, with no XDP program: the generator's program goes here.</param>
    /// <param name="copiesPerPass">Frames out of <paramref name="interfaceName"/> each time a frame goes round (1 to <see cref="MaxCopiesPerPass"/>).</param>
    /// <param name="framesInFlight">Frames circulating in the loop (1 to <see cref="MaxFramesInFlight"/>).</param>
    public XdpLoopFrameGenerator(string interfaceName, ReadOnlySpan<byte> frame, string loopInterface, string loopPeerInterface, int copiesPerPass = 16, int framesInFlight = 4)
    {
        ArgumentNullException.ThrowIfNull(interfaceName);
        ArgumentNullException.ThrowIfNull(loopInterface);
        ArgumentNullException.ThrowIfNull(loopPeerInterface);
        if (frame.Length is < 14 or > 3000)
        {
            throw new ArgumentOutOfRangeException(nameof(frame), $"The frame is {frame.Length} bytes; give a whole Ethernet frame of 14 to 3000 bytes (it must fit one page with XDP's headroom).");
        }
        if (copiesPerPass is < 1 or > MaxCopiesPerPass)
        {
            throw new ArgumentOutOfRangeException(nameof(copiesPerPass), $"Copies per pass is {copiesPerPass}; give 1 to {MaxCopiesPerPass}.");
        }
        if (framesInFlight is < 1 or > MaxFramesInFlight)
        {
            throw new ArgumentOutOfRangeException(nameof(framesInFlight), $"Frames in flight is {framesInFlight}; give 1 to {MaxFramesInFlight} (a veth ring holds 256).");
        }
        int ifIndex = IndexOf(interfaceName);
        int loopIndex = IndexOf(loopInterface);
        int loopPeerIndex = IndexOf(loopPeerInterface);
        if (loopIndex == ifIndex || loopPeerIndex == ifIndex || loopIndex == loopPeerIndex)
        {
            throw new DriverException($"The loop must be a spare veth pair of its own, not {interfaceName} itself: " +
                "create one (ip link add NAME type veth peer name NAME2; ip link set NAME up; ip link set NAME2 up) and give both names.");
        }
        InterfaceName = interfaceName;
        IfIndex = ifIndex;
        LoopInterface = loopInterface;
        LoopPeerInterface = loopPeerInterface;
        CopiesPerPass = copiesPerPass;
        FramesInFlight = framesInFlight;
        _frame = frame.ToArray();
        DisableIpv6(loopInterface);
        DisableIpv6(loopPeerInterface);

        _counters = CreateMap(Bpf.BPF_MAP_TYPE_ARRAY, 8, 2, "skiff_loop_cnt");
        try
        {
            _devices = CreateMap(Bpf.BPF_MAP_TYPE_DEVMAP, 4, (uint)copiesPerPass + 1, "skiff_loop_dev");
            // Entry 0 sends the frame round again; entries 1..copies send it to the target.
            SetDevice(_devices, 0, loopIndex, loopInterface);
            for (uint k = 1; k <= copiesPerPass; k++)
            {
                SetDevice(_devices, k, ifIndex, interfaceName);
            }
            SetCounter(BudgetKey, 0);
            _program = BpfLoader.LoadXdpProgram(BuildProgram(_counters.Fd, _devices.Fd, copiesPerPass), "skiff_xdp_loop");
            _link = BpfLoader.TryCreateXdpLink(_program, loopPeerIndex, Bpf.XDP_FLAGS_DRV_MODE, out int errno)
                ?? throw new DriverException($"Attaching the loop's XDP program natively to {loopPeerInterface} failed: {Libc.Describe(errno)} (errno {errno}). " +
                    $"It needs a driver with native XDP (veth) and no program attached there (ip link set dev {loopPeerInterface} xdp off).", errno);
            _socket = Libc.Socket(Libc.AF_PACKET, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, 0);
            if (_socket < 0)
            {
                throw DriverException.FromLastError($"Opening the AF_PACKET socket that injects frames into {loopInterface}", "It needs CAP_NET_RAW: run as root.");
            }
        }
        catch
        {
            _link?.Dispose();
            _program?.Dispose();
            _devices?.Dispose();
            _counters.Dispose();
            throw;
        }
        LoopIfIndex = loopIndex;
    }

    /// <summary>The interface frames go out of.</summary>
    public string InterfaceName { get; }

    /// <summary>Its index in the namespace the generator was created in.</summary>
    public int IfIndex { get; }

    /// <summary>The loop's near end, where frames are injected.</summary>
    public string LoopInterface { get; }

    /// <summary>Its index.</summary>
    public int LoopIfIndex { get; }

    /// <summary>The loop's far end, where the program runs.</summary>
    public string LoopPeerInterface { get; }

    /// <summary>Frames out of <see cref="InterfaceName"/> per pass of a frame round the loop.</summary>
    public int CopiesPerPass { get; }

    /// <summary>Frames <see cref="Start"/> injects into the loop.</summary>
    public int FramesInFlight { get; }

    /// <summary>True between <see cref="Start"/> and <see cref="Stop"/>.</summary>
    public bool Running { get; private set; }

    /// <summary>Frames the program handed to the device map for the target so far, from its own counter (one bpf() call).</summary>
    public long FramesSent => ReadCounter(SentKey);

    /// <summary>
    /// Injects <see cref="FramesInFlight"/> frames: from now on the kernel sends on its own, on the calling thread's CPU,
    /// until <see cref="Stop"/>, or until <paramref name="passes"/> passes have been made (then exactly
    /// <paramref name="passes"/> × <see cref="CopiesPerPass"/> frames are sent); null: no limit.
    /// </summary>
    public void Start(long? passes = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Running)
        {
            throw new InvalidOperationException("The loop is already running: Stop it first.");
        }
        ArgumentOutOfRangeException.ThrowIfNegative(passes ?? 0, nameof(passes));
        SetCounter(BudgetKey, passes ?? long.MaxValue);
        Packet.SockAddrLl address = new()
        {
            Family = Libc.AF_PACKET,
            Protocol = (ushort)(_frame[12] | (_frame[13] << 8)), // bytes 12-13 are already big-endian
            IfIndex = LoopIfIndex,
            HaLen = 6,
        };
        Running = true;
        fixed (byte* frame = _frame)
        {
            for (int i = 0; i < FramesInFlight; i++)
            {
                if (Libc.SendTo(_socket, frame, (nuint)_frame.Length, 0, &address, sizeof(Packet.SockAddrLl)) < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    Stop();
                    string advice = errno == 100 // ENETDOWN
                        ? $"Bring both ends of the loop up (ip link set {LoopInterface} up; ip link set {LoopPeerInterface} up)."
                        : "Check that the loop's interfaces still exist in this namespace.";
                    throw new DriverException($"Injecting a frame into the loop at {LoopInterface} (sendto on AF_PACKET) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
                }
            }
        }
    }

    /// <summary>Ends the loop: the budget goes to zero, so each frame is dropped at its next pass (within microseconds). Idempotent.</summary>
    public void Stop()
    {
        if (_disposed || !Running)
        {
            return;
        }
        SetCounter(BudgetKey, 0);
        Running = false;
    }

    /// <summary>
    /// Starts the loop from the calling thread, first pinned to <paramref name="cpu"/> (negative: not pinned; the loop
    /// runs on the CPU it is started from), lets it run for <paramref name="duration"/> (or until
    /// <paramref name="cancellation"/>), calling <paramref name="perSecond"/> once a second with the second's number and
    /// the frames handed to the target in it, and stops it. Returns the frames sent during the call.
    /// </summary>
    public long Run(TimeSpan duration, int cpu = 0, Action<int, long>? perSecond = null, CancellationToken cancellation = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        GeneratorThread.Pin(cpu);
        long start = FramesSent;
        long frequency = Stopwatch.Frequency;
        long begin = Stopwatch.GetTimestamp();
        long end = duration <= TimeSpan.Zero ? long.MaxValue : begin + (long)(duration.TotalSeconds * frequency);
        long atTick = start;
        int second = 0;
        Start();
        try
        {
            // The kernel does the work; this thread only samples the counter once a second.
            while (!cancellation.IsCancellationRequested)
            {
                long now = Stopwatch.GetTimestamp();
                long nextTick = begin + (second + 1) * frequency;
                if (now >= nextTick)
                {
                    second++;
                    long sent = FramesSent;
                    perSecond?.Invoke(second, sent - atTick);
                    atTick = sent;
                    continue;
                }
                if (now >= end)
                {
                    break;
                }
                long waitTicks = Math.Min(nextTick, end) - now;
                cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds((double)waitTicks / frequency));
            }
        }
        finally
        {
            Stop();
        }
        return FramesSent - start;
    }

    /// <summary>Stops the loop, detaches and unloads the program, and closes the maps and the socket. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        Stop();
        _disposed = true;
        Libc.Close(_socket);
        _link.Dispose();
        _program.Dispose();
        _devices.Dispose();
        _counters.Dispose();
    }

    /// <summary>
    /// The loop's program: take one pass from the budget (counters[1], atomic fetch-add of -1); none left: XDP_DROP.
    /// Else add <paramref name="copies"/> to counters[0] and broadcast the frame to every entry of the device map
    /// (the loop's near end and the target, <paramref name="copies"/> times).
    /// </summary>
    internal static BpfInstruction[] BuildProgram(int countersFd, int devicesFd, int copies)
    {
        BpfAssembler a = new();
        int drop = a.DefineLabel();
        a.Emit(BpfInstruction.StoreImmediate(BpfInstruction.SizeW, BpfRegister.R10, -4, (int)BudgetKey));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R2, BpfRegister.R10));
        a.Emit(BpfInstruction.Add64(BpfRegister.R2, -4));
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, countersFd));
        a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_map_lookup_elem));
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpEq, BpfRegister.R0, 0, 0), drop);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R1, -1));
        a.Emit(BpfInstruction.AtomicFetchAdd64(BpfRegister.R0, BpfRegister.R1, 0));
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpSle, BpfRegister.R1, 0, 0), drop); // the budget before this pass was <= 0
        a.Emit(BpfInstruction.StoreImmediate(BpfInstruction.SizeW, BpfRegister.R10, -4, (int)SentKey));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R2, BpfRegister.R10));
        a.Emit(BpfInstruction.Add64(BpfRegister.R2, -4));
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, countersFd));
        a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_map_lookup_elem));
        a.EmitJump(BpfInstruction.Jump(BpfInstruction.JumpEq, BpfRegister.R0, 0, 0), drop);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R1, copies));
        a.Emit(BpfInstruction.AtomicAdd64(BpfRegister.R0, BpfRegister.R1, 0));
        a.Emit(BpfInstruction.LoadMapFd(BpfRegister.R1, devicesFd));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R2, 0));
        a.Emit(BpfInstruction.Mov64(BpfRegister.R3, Bpf.BPF_F_BROADCAST));
        a.Emit(BpfInstruction.Call(Bpf.BPF_FUNC_redirect_map));
        a.Emit(BpfInstruction.Exit());
        a.Mark(drop);
        a.Emit(BpfInstruction.Mov64(BpfRegister.R0, Bpf.XDP_DROP));
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

    /// <summary>Best effort: net.ipv6.conf.NAME.disable_ipv6 = 1 in the calling thread's namespace, so its kernel sends no RS/DAD/MLD into the loop.</summary>
    private static void DisableIpv6(string name)
    {
        try
        {
            File.WriteAllText($"/proc/sys/net/ipv6/conf/{name}/disable_ipv6", "1");
        }
        catch (IOException)
        {
            // No IPv6 in this kernel or namespace: nothing to turn off.
        }
        catch (UnauthorizedAccessException)
        {
            // Not root: the map or program creation right after says what to do.
        }
    }

    private static BpfFileDescriptor CreateMap(uint type, uint valueSize, uint entries, string name)
    {
        Bpf.Attr attr = default;
        attr.MapType = type;
        attr.KeySize = 4;
        attr.ValueSize = valueSize;
        attr.MaxEntries = entries;
        Encoding.ASCII.GetBytes(name, new Span<byte>(attr.MapName, 15));
        int fd = Bpf.Call(Bpf.BPF_MAP_CREATE, ref attr);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string advice = errno is Libc.EPERM or Libc.EACCES && !ProcessCapabilities.HasBpfNetworking()
                ? "It needs CAP_BPF and CAP_NET_ADMIN: run as root."
                : "Check that the kernel has BPF device maps (Linux 5.x or later).";
            throw new DriverException($"Creating the loop's map {name} (bpf BPF_MAP_CREATE) failed: {Libc.Describe(errno)} (errno {errno}). {advice}", errno);
        }
        return new BpfFileDescriptor(fd);
    }

    private static void SetDevice(BpfFileDescriptor devices, uint key, int ifIndex, string name) =>
        BpfLoader.UpdateElement(devices, key, (uint)ifIndex, $"Putting {name} into the loop's device map",
            $"The device map takes only interfaces with ndo_xdp_xmit (veth, NICs with native XDP): check {name}.");

    private void SetCounter(uint key, long value)
    {
        Bpf.Attr attr = default;
        attr.MapFd = (uint)_counters.Fd;
        attr.Key = (ulong)&key;
        attr.Value = (ulong)&value;
        attr.ElemFlags = Bpf.BPF_ANY;
        if (Bpf.Call(Bpf.BPF_MAP_UPDATE_ELEM, ref attr) != 0)
        {
            throw DriverException.FromLastError("Setting the loop's budget (bpf BPF_MAP_UPDATE_ELEM)", "This is a bug in Skiff; please report it.");
        }
    }

    private long ReadCounter(uint key)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long value;
        Bpf.Attr attr = default;
        attr.MapFd = (uint)_counters.Fd;
        attr.Key = (ulong)&key;
        attr.Value = (ulong)&value;
        if (Bpf.Call(Bpf.BPF_MAP_LOOKUP_ELEM, ref attr) != 0)
        {
            throw DriverException.FromLastError("Reading the loop's counter (bpf BPF_MAP_LOOKUP_ELEM)", "This is a bug in Skiff; please report it.");
        }
        return value;
    }
}
